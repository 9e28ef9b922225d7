"""Incident bodies: what an operator works (one card per place and episode), its signals, and
its timeline. The actions take the alert actions' bodies (``api.alert_schemas``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.lifecycle import Cause, State
from contract.alarms import AlertClass

IncidentState = Literal["active_unack", "returned_unack", "active_ack", "shelved", "resolved"]


class IncidentSignal(BaseModel):
    """One alert of the incident: one device's condition family, moving up in place."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    alert_id: int
    device_id: str
    rule: str = Field(description="The family's highest rule so far, e.g. heat_fixed.")
    family: str = Field(description="heat, smoke, camera_heat, ...: one alert per device each.")
    alert_class: AlertClass = Field(alias="class")
    state: State
    peak: float | None = Field(description="Highest value seen while open (°C, mA, %/m, px).")
    first_at: datetime = Field(description="Device clock of its first activation.")
    last_at: datetime = Field(description="Device clock of its newest.")
    count: int


class IncidentCounts(BaseModel):
    signals: int
    open_signals: int
    devices: int = Field(description="Distinct devices among the signals.")
    by_class: dict[str, int] = Field(description="Signals per class, e.g. {'fire': 2}.")


class IncidentRead(BaseModel):
    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    id: int
    site: str | None
    building: str | None = Field(
        description="None: a camera's target outside every registered building (see origin)."
    )
    origin: str | None = Field(description="The camera of an incident with no building.")
    covers: list[str] = Field(description="That camera's buildings.")
    position: dict[str, Any] | None = Field(description="That target's place in the image.")
    alert_class: AlertClass = Field(
        alias="class", description="The highest class any signal reached; never lower."
    )
    state: IncidentState = Field(description="Its most urgent open signal's; resolved if none.")
    confirmed: bool = Field(
        description="Two devices' fire signals (two detectors, or a camera and a detector) "
        "were raised within the correlation window of each other."
    )
    confirmed_at: datetime | None = Field(description="Device clock of the confirming signal.")
    opened_at: datetime = Field(description="Device clock of its first signal.")
    last_at: datetime = Field(description="Device clock of its newest signal.")
    created_at: datetime = Field(description="Server clock when it was opened.")
    updated_at: datetime
    acked_at: datetime | None
    acked_by: str | None
    claimed_by: str | None = Field(description="The operator handling it, if any.")
    shelved_until: datetime | None
    shelve_reason: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    cause: Cause | None
    resolution_note: str | None
    call_119_pending: bool = Field(
        default=False,
        description="A real fire reported from the field awaits the operator's record of the "
        "119 call (POST .../call-119).",
    )
    signals: list[IncidentSignal] = Field(description="Every signal, oldest first.")
    counts: IncidentCounts
    allowed: list[str] = Field(description="The operator actions it takes now.")


class IncidentPage(BaseModel):
    items: list[IncidentRead] = Field(description="Newest first.")
    next_before: int | None = Field(
        description="Pass as `before` for the next page; None on the last page."
    )


class TimelineEntry(BaseModel):
    """A step of the incident or of one of its signals: one sequence of ids orders both."""

    id: int
    at: datetime = Field(description="Server clock.")
    actor: str = Field(description="A user's name, or 'engine'.")
    action: str
    from_state: str | None
    to_state: str | None
    detail: dict[str, Any]
    source: Literal["incident", "alert"]
    alert_id: int | None = Field(description="For an alert's step: which alert ...")
    device_id: str | None = Field(description="... of which device ...")
    rule: str | None = Field(description="... and rule (the alert's highest so far).")


class IncidentDetail(BaseModel):
    incident: IncidentRead
    timeline: list[TimelineEntry] = Field(description="Every step, oldest first.")
