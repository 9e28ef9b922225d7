"""Alert bodies: what an operator sees and what each action carries."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alerts.lifecycle import Cause, State
from contract.alarms import AlertClass
from contract.text import Text


class AlertRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: int
    device_id: str | None = Field(description="None for roll-ups of a building or a site.")
    subject: str = Field(description="A device id, or building:<id> / site:<id> for roll-ups.")
    rule: str
    alert_class: AlertClass = Field(alias="class")
    state: State
    site: str | None
    building: str | None
    peak: float | None = Field(description="Highest value seen while open (°C, mA, %/m, px).")
    condition_active: bool
    latching: bool = Field(description="Fire alarms latch until an operator resolves them.")
    chattering: bool
    suppressed_reason: str | None
    escalation_level: int
    escalated_at: datetime | None
    family: str = Field(
        description="Its condition family (heat, smoke, camera_heat, ...): one open alert per "
        "device and family, whose rule and class move up in place."
    )
    incident_id: int | None = Field(description="The incident it is a signal of, if any.")
    parent_id: int | None = Field(
        description="Alerts stored before incidents (issue 16) only: the confirmed-fire alert "
        "this one was part of. A confirmation is now its incident's."
    )
    raised_at: datetime = Field(description="Device clock of the message that raised it.")
    received_at: datetime = Field(description="Server clock when that message arrived.")
    created_at: datetime = Field(description="Server clock when the alert was stored.")
    last_at: datetime
    returned_at: datetime | None = Field(description="When its condition last returned to normal.")
    count: int
    detail: dict[str, Any]
    acked_at: datetime | None
    acked_by: str | None
    shelved_until: datetime | None
    shelve_reason: str | None
    claimed_by: str | None = Field(description="The operator handling it, if any.")
    updated_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    cause: Cause | None
    resolution_note: str | None


class AlertLogEntry(BaseModel):
    id: int
    at: datetime
    actor: str = Field(description="A user's name, or 'engine'.")
    action: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]


class Point(BaseModel):
    t: datetime
    v: float


class Series(BaseModel):
    metric: str
    points: list[Point]


class AlertDetail(BaseModel):
    alert: AlertRead
    log: list[AlertLogEntry] = Field(description="Every step, oldest first.")
    readings: list[Series] = Field(
        description="The device's readings from 10 minutes before the alert to 20 after."
    )


class ShelveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"minutes": 60, "reason": "welding work in B-012"}]},
    )

    minutes: int = Field(ge=1, le=24 * 60, description="At most a day: shelving is temporary.")
    reason: Text = Field(min_length=3, max_length=500)


class ResolveBody(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"cause": "false_alarm", "note": "cooking smoke, checked on site"}]
        },
    )

    cause: Cause
    note: Text | None = Field(default=None, max_length=2000)


class CommentBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(min_length=1, max_length=2000)


class ClaimBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    take_over: bool = Field(
        default=False, description="Take the alert or incident from the operator who claimed it."
    )


class AckBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: Text | None = Field(default=None, max_length=2000)
