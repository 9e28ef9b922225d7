"""The overview's body, so the OpenAPI document says what the control-centre screen gets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class KindCounts(BaseModel):
    online: int
    offline: int
    fault: int = Field(description="Reporting a fault, a stuck sensor or tampering.")
    maintenance: int
    commissioning: int


class DeviceCounts(BaseModel):
    total: int
    by_kind: dict[str, KindCounts]


class OpenAlerts(BaseModel):
    total: int
    by_class: dict[str, int]
    by_state: dict[str, int]


class OpenIncidents(BaseModel):
    total: int
    by_class: dict[str, int] = Field(description="fire, prealarm and supervisory.")
    by_state: dict[str, int]
    confirmed: int = Field(description="Two devices' fire signals agreed within the window.")


class Hour(BaseModel):
    hour: datetime
    fire: int
    prealarm: int
    supervisory: int
    trouble: int


class AlarmRate(BaseModel):
    last_10min: int = Field(description="New signals (alerts) in the last 10 minutes.")
    incidents_last_10min: int = Field(
        description="New incidents in the last 10 minutes: what a flood counts (more than 10)."
    )
    per_10min_avg: float = Field(description="The window's average per 10 minutes.")
    flood: bool = Field(description="An alarm flood (alert_flood) is open on the site.")
    chattering_devices: list[str]


class HotSpot(BaseModel):
    device_id: str
    kind: str
    metric: str
    value: float = Field(description="°C, the device's newest value.")
    building: str | None
    lat: float | None
    lon: float | None


class BuildingStatus(BaseModel):
    id: str
    lat: float | None
    lon: float | None
    state: str = Field(description="fire, prealarm, supervisory, trouble, offline or normal.")
    open_alerts: int
    devices: int


class LatestEvent(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    at: datetime
    alert_id: int
    subject: str
    rule: str
    alert_class: str = Field(alias="class")
    action: str
    actor: str
    to_state: str | None


class Overview(BaseModel):
    generated_at: datetime
    hours: int
    site: str
    devices: DeviceCounts
    open_alerts: OpenAlerts = Field(description="Open signals, suppressed ones left out.")
    open_incidents: OpenIncidents = Field(description="Open incidents: what operators work.")
    timeline: list[Hour] = Field(description="Alerts stored per hour, by class, oldest first.")
    alarm_rate: AlarmRate
    hot_spots: list[HotSpot]
    buildings: list[BuildingStatus]
    latest_events: list[LatestEvent]
