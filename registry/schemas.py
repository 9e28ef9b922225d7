"""Request and response bodies of the registry: devices, buildings, zones, users, imports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator
from pydantic_core import PydanticCustomError

from contract.kinds import Kind
from contract.text import JsonObject, Text
from registry.device_config import ConfigFieldError, check_config

DEVICE_ID = r"^[A-Za-z0-9_-]{1,64}$"
PLACE_ID = r"^[A-Za-z0-9_.-]{1,64}$"
USER_NAME = r"^[A-Za-z0-9_.@-]{1,64}$"
MAINTENANCE_MAX = timedelta(days=365)

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """One page of a list, with the total over all pages."""

    items: list[T]
    total: int = Field(description="Items matching the filters, over all pages.")
    limit: int
    offset: int


class DeviceStatus(StrEnum):
    REGISTERED = "registered"
    COMMISSIONING = "commissioning"
    ACTIVE = "active"
    MAINTENANCE = "maintenance"
    DECOMMISSIONED = "decommissioned"


class InitialStatus(StrEnum):
    """What a newly registered device starts as."""

    REGISTERED = "registered"
    COMMISSIONING = "commissioning"
    ACTIVE = "active"


def config_error(exc: ConfigFieldError) -> PydanticCustomError:
    """A config problem as a validation error whose context names the key."""
    return PydanticCustomError(
        "config", "{field}: {reason}", {"field": exc.path, "reason": exc.reason}
    )


def _config_fits_kind(config: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
    kind = info.data.get("kind")
    if kind is not None:
        try:
            check_config(kind, config)
        except ConfigFieldError as exc:
            raise config_error(exc) from None
    return config


_LOCATION_EXAMPLE: dict[str, Any] = {
    "name": "Lane 3 No. 12, 2F corridor",
    "building": "B-012",
    "floor": 2,
    "room": "corridor",
    "lat": 23.1012,
    "lon": 113.2703,
    "zone": "G-03",
}


class DeviceCreate(BaseModel):
    """Also one row of an import (JSON or CSV)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {"id": "SD-0001", "kind": "smoke", "site": "zilai", **_LOCATION_EXAMPLE},
                {
                    "id": "TC-01",
                    "kind": "thermal_camera",
                    "site": "zilai",
                    "building": "B-030",
                    "floor": 9,
                    "room": "roof",
                    "config": {
                        "model": "thermal_dome",
                        "covers": ["B-029", "B-030"],
                        "thermal": {"alarm_c": 60},
                    },
                },
            ]
        },
    )

    id: str = Field(pattern=DEVICE_ID)
    kind: Kind
    site: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    name: Text | None = Field(default=None, max_length=200)
    building: Text | None = Field(default=None, max_length=64)
    floor: int | None = Field(default=None, ge=-5, le=200)
    room: Text | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Text | None = Field(default=None, max_length=64)
    heartbeat_s: int | None = Field(
        default=None, gt=0, le=86400, description="Defaults to the kind's heartbeat interval."
    )
    config: JsonObject = Field(
        default_factory=dict,
        description="model, rules (threshold overrides), thermal and covers (cameras); "
        "GET /api/v1/device-kinds lists the keys, defaults and bounds",
    )

    config_fits_kind = field_validator("config")(_config_fits_kind)


class DeviceUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears one. ``config`` replaces the whole object.
    Status goes through ``POST /api/v1/devices/{id}/status``; kind and id never change."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [{"floor": 3, "room": "stairwell"}, {"config": {"rules": {"fixed_c": 68}}}]
        },
    )

    name: Text | None = Field(default=None, max_length=200)
    building: Text | None = Field(default=None, max_length=64)
    floor: int | None = Field(default=None, ge=-5, le=200)
    room: Text | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Text | None = Field(default=None, max_length=64)
    heartbeat_s: int | None = Field(default=None, gt=0, le=86400)
    config: JsonObject | None = None


class DeviceRead(BaseModel):
    id: str
    kind: Kind
    site: str
    name: str | None
    building: str | None
    floor: int | None
    room: str | None
    lat: float | None
    lon: float | None
    zone: str | None
    status: DeviceStatus
    status_reason: str | None = None
    maintenance_until: datetime | None = Field(
        default=None, description="Maintenance ends by itself at this time."
    )
    status_changed_at: datetime | None = None
    heartbeat_s: int
    config: dict[str, Any]
    replaces: str | None = Field(default=None, description="The device this one replaced.")
    replaced_by: str | None = Field(default=None, description="The device that replaced it.")
    online: bool = Field(
        default=False,
        description="Heard within two heartbeats plus its offline margin "
        "(config rules.offline_margin_s, 60 s by default), as the control centre counts it.",
    )
    last_seen_at: datetime | None = Field(default=None, description="Server clock.")
    created_at: datetime
    updated_at: datetime


class DeviceCreated(DeviceRead):
    mqtt_password: str = Field(
        description="The device's broker password (username: its id), shown only this once."
    )


DevicePage = Page[DeviceRead]


class StatusChange(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "status": "maintenance",
                    "until": "2026-06-01T18:00:00+08:00",
                    "reason": "replacing the chamber",
                },
                {"status": "active", "reason": "walk test passed"},
            ]
        },
    )

    status: DeviceStatus
    reason: Text | None = Field(default=None, max_length=500)
    until: datetime | None = Field(default=None, description="Required for maintenance.")

    @model_validator(mode="after")
    def _maintenance_has_a_window(self) -> StatusChange:
        if self.status is DeviceStatus.MAINTENANCE:
            if self.until is None or self.until.tzinfo is None or not self.reason:
                raise PydanticCustomError(
                    "maintenance",
                    "maintenance needs 'until' (a time with its offset) and a 'reason'",
                )
            now = datetime.now(UTC)
            if not now < self.until <= now + MAINTENANCE_MAX:
                raise PydanticCustomError(
                    "maintenance", "'until' must be in the future and within 365 days"
                )
        elif self.until is not None:
            raise PydanticCustomError("maintenance", "'until' is for maintenance only")
        return self


class Replacement(BaseModel):
    """The new device takes the old one's place; anything not given is the old one's."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"new_id": "SD-1001", "reason": "chamber fault"}]},
    )

    new_id: str = Field(pattern=DEVICE_ID)
    kind: Kind | None = None
    name: Text | None = Field(default=None, max_length=200)
    heartbeat_s: int | None = Field(default=None, gt=0, le=86400)
    config: JsonObject | None = Field(default=None, description="Default: the old one's.")
    status: InitialStatus = InitialStatus.ACTIVE
    reason: Text | None = Field(default=None, max_length=500)


class Replaced(BaseModel):
    old: DeviceRead
    new: DeviceCreated


class PendingDevice(BaseModel):
    device_id: str
    site: str | None = Field(description="From the topic of its last message.")
    first_seen: datetime
    last_seen: datetime
    count: int = Field(description="Messages rejected as unknown_device.")
    last_topic: str
    last_payload: str = Field(description="Its first bytes, as UTF-8 (binary shown with �).")
    last_size: int


PendingPage = Page[PendingDevice]


class PendingRegister(BaseModel):
    """Everything of DeviceCreate but the id (from the path) and the site (from the topic)."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"kind": "smoke", **_LOCATION_EXAMPLE}]},
    )

    kind: Kind
    site: str | None = Field(default=None, pattern=r"^[a-z0-9-]{1,32}$")
    name: Text | None = Field(default=None, max_length=200)
    building: Text | None = Field(default=None, max_length=64)
    floor: int | None = Field(default=None, ge=-5, le=200)
    room: Text | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Text | None = Field(default=None, max_length=64)
    heartbeat_s: int | None = Field(default=None, gt=0, le=86400)
    config: JsonObject = Field(default_factory=dict)
    status: InitialStatus = InitialStatus.COMMISSIONING

    config_fits_kind = field_validator("config")(_config_fits_kind)


class AuditEntry(BaseModel):
    at: datetime
    actor: str
    action: str
    detail: dict[str, Any]


# A ring of [lon, lat] points, GeoJSON order; closed or not.
Point = Annotated[list[float], Field(min_length=2, max_length=2)]


def _on_earth(ring: list[Point] | None) -> list[Point] | None:
    for lon, lat in ring or ():
        if not (-180 <= lon <= 180 and -90 <= lat <= 90):
            raise PydanticCustomError(
                "footprint",
                "point [{lon}, {lat}] is not [lon, lat] on Earth",
                {"lon": lon, "lat": lat},
            )
    return ring


class BuildingCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "id": "B-012",
                    "name": "Zilai Fang No. 12",
                    "address": "No. 12, Zilai Fang, Zilai Street, Yuexiu District, Guangzhou",
                    "lat": 23.0971,
                    "lon": 113.2657,
                    "zone": "G-01",
                    "rented": True,
                    "footprint": [
                        [113.26565, 23.09705],
                        [113.26575, 23.09705],
                        [113.26575, 23.09715],
                        [113.26565, 23.09715],
                    ],
                }
            ]
        },
    )

    id: str = Field(pattern=PLACE_ID)
    name: Text | None = Field(default=None, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Text | None = Field(default=None, max_length=64)
    rented: bool = False
    footprint: list[Point] | None = Field(
        default=None,
        min_length=3,
        max_length=1000,
        description="The outline as a ring of [lon, lat] points (GeoJSON order).",
    )

    @field_validator("footprint")
    @classmethod
    def _points_on_earth(cls, ring: list[Point] | None) -> list[Point] | None:
        return _on_earth(ring)


class BuildingUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [{"rented": False}]}
    )

    name: Text | None = Field(default=None, max_length=200)
    address: Text | None = Field(default=None, max_length=500)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: Text | None = Field(default=None, max_length=64)
    rented: bool | None = None
    footprint: list[Point] | None = Field(default=None, min_length=3, max_length=1000)

    @field_validator("footprint")
    @classmethod
    def _points_on_earth(cls, ring: list[Point] | None) -> list[Point] | None:
        return _on_earth(ring)


class BuildingRead(BaseModel):
    id: str
    name: str | None
    address: str | None
    lat: float | None
    lon: float | None
    zone: str | None
    rented: bool
    footprint: list[Point] | None
    device_count: int = Field(description="Devices in it, decommissioned ones excepted.")
    created_at: datetime
    updated_at: datetime


BuildingPage = Page[BuildingRead]


class ZoneWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "name": "Zilai grid 3",
                    "contact_name": "Chen Wei",
                    "contact_phone": "+86 20 8123 4567",
                }
            ]
        },
    )

    name: Text | None = Field(default=None, max_length=200)
    contact_name: Text | None = Field(default=None, max_length=200)
    contact_phone: Text | None = Field(default=None, max_length=64)


class ZoneRead(ZoneWrite):
    id: str
    building_count: int
    created_at: datetime
    updated_at: datetime


class ConfigKey(BaseModel):
    key: str = Field(description="Dotted path inside a device's config, e.g. rules.fixed_c.")
    type: str
    default: Any
    min: float | None
    max: float | None
    description: str


class KindRead(BaseModel):
    kind: Kind
    telemetry: bool = Field(
        description="False for a kind that sends nothing (video_camera): never offline."
    )
    heartbeat_s: int
    metrics: list[str]
    events: list[str]
    frames: bool
    config: list[ConfigKey]


Section = Literal["zones", "buildings", "devices", "file"]


class RowError(BaseModel):
    section: Section
    row: int = Field(
        description="1-based: the line in a CSV (header is line 1), the index "
        "in a JSON array, 0 for the file as a whole."
    )
    id: str | None
    field: str | None
    reason: str


class CredentialRead(BaseModel):
    device_id: str
    mqtt_password: str


class ImportReport(BaseModel):
    dry_run: bool
    ok: bool = Field(description="False: nothing was written; see errors.")
    created: list[str] = Field(description="Device ids registered by this import.")
    updated: list[str] = Field(description="Device ids whose row changed.")
    unchanged: int
    buildings_created: int
    buildings_updated: int
    zones_written: int
    errors: list[RowError]
    credentials: list[CredentialRead] = Field(
        description="Broker passwords of the new devices, shown only this once."
    )


class UserCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"name": "li.technician", "role": "technician"}]},
    )

    name: str = Field(pattern=USER_NAME)
    role: Literal["admin", "technician", "operator", "viewer"]


class UserRead(BaseModel):
    id: int
    name: str
    role: str
    disabled: bool
    active_tokens: int
    created_at: datetime


class UserToken(BaseModel):
    user: UserRead
    token: str = Field(description="The bearer token, shown only this once.")
