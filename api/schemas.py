"""Request and response bodies; the OpenAPI document is generated from these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.kinds import Kind
from alerts.signals import AlertClass


class DeviceCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "id": "SD-0001",
                    "kind": "smoke",
                    "site": "zilai",
                    "name": "Lane 3 No. 12, 2F corridor",
                    "building": "B-012",
                    "floor": 2,
                    "room": "corridor",
                    "lat": 23.1012,
                    "lon": 113.2703,
                    "zone": "G-03",
                }
            ]
        },
    )

    id: str = Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")
    kind: Kind
    site: str = Field(pattern=r"^[a-z0-9-]{1,32}$")
    name: str | None = Field(default=None, max_length=200)
    building: str | None = Field(default=None, max_length=64)
    floor: int | None = Field(default=None, ge=-5, le=200)
    room: str | None = Field(default=None, max_length=64)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    zone: str | None = Field(default=None, max_length=64)
    heartbeat_s: int | None = Field(
        default=None, gt=0, le=86400, description="Defaults to the kind's heartbeat interval."
    )
    config: dict[str, Any] = Field(default_factory=dict)


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
    status: str
    heartbeat_s: int
    config: dict[str, Any]
    created_at: datetime
    updated_at: datetime


class AlertRead(BaseModel):
    id: int
    device_id: str | None = Field(description="None for roll-ups of a building or a site.")
    subject: str = Field(description="A device id, or building:<id> / site:<id> for roll-ups.")
    rule: str
    alert_class: AlertClass = Field(alias="class")
    state: str
    site: str | None
    building: str | None
    peak: float | None = Field(description="Highest value seen while open (°C, mA, %/m, px).")
    condition_active: bool
    latching: bool = Field(description="Fire alarms latch until an operator resolves them.")
    chattering: bool
    suppressed_reason: str | None
    escalation_level: int
    parent_id: int | None = Field(description="The confirmed-fire alert this one is part of.")
    raised_at: datetime = Field(description="Device clock of the message that raised it.")
    received_at: datetime = Field(description="Server clock when that message arrived.")
    last_at: datetime
    count: int
    detail: dict[str, Any]
    updated_at: datetime
    resolved_at: datetime | None
    cause: str | None

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)


class Problem(BaseModel):
    detail: str
