"""Dispatch bodies: an operator's dispatch and what it became (who was reached, what they
answered, what was delivered), the 119 call, a site's dispatch settings, and the grid worker's
steps through a field link."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contract.text import Text
from dispatch.steps import Step, Verdict, cause_problem

_ID = r"^[A-Za-z0-9_.-]{1,64}$"


class DispatchCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{}, {"zone": "Z-03"}, {"person_id": "p-li"}]},
    )

    zone: str | None = Field(
        default=None, pattern=_ID, description="Default: the zone of the incident's building."
    )
    person_id: str | None = Field(
        default=None,
        pattern=_ID,
        description="Call this person first (one on call in the zone now); the rest follow.",
    )


class NoticeRead(BaseModel):
    """One person the dispatch reached, with their link's use."""

    person_id: str
    name: str
    role: str
    phone: str | None
    level: int = Field(description="Their place in the zone's call order (0: first on call).")
    step: Literal["dispatch", "escalate"]
    channels: int = Field(description="Deliveries queued for them: one per channel.")
    notified_at: datetime
    expires_at: datetime = Field(description="When their field link stops working.")
    revoked_at: datetime | None
    views: int
    answers: int
    refusals: int = Field(description="Uses after it expired, was revoked or its dispatch ended.")
    last_used_at: datetime | None


class PhotoRead(BaseModel):
    id: int
    person_id: str
    content_type: str
    size: int
    at: datetime
    url: str = Field(description="The photo itself (GET with a token, as every route).")


class DispatchRead(BaseModel):
    id: int
    incident_id: int
    zone: str | None
    automatic: bool = Field(description="Made by the site's setting for a confirmed fire.")
    created_by: str
    created_at: datetime
    state: Literal["notifying", "accepted", "on_my_way", "arrived", "done", "revoked"]
    level: int | None = Field(description="The furthest call-order level reached so far.")
    person_id: str | None = Field(description="Who accepted; until then, who was called last.")
    person_name: str | None
    notified_at: datetime | None = Field(description="The newest call: the accept clock's start.")
    accept_due_at: datetime | None = Field(
        description="While nobody accepted: when the next person is called."
    )
    exhausted_at: datetime | None = Field(description="Everyone called, nobody accepted.")
    accepted_at: datetime | None
    on_my_way_at: datetime | None
    arrived_at: datetime | None
    verdict_at: datetime | None
    verdict: Verdict | None
    cause: str | None
    note: str | None
    revoked_at: datetime | None
    revoked_by: str | None
    closed_at: datetime | None
    notices: list[NoticeRead] = Field(description="In call order.")
    photos: list[PhotoRead]
    deliveries: list[dict[str, Any]] = Field(
        description="The queued notifications: state, attempts, last error, sent_at."
    )


class Call119Read(BaseModel):
    pending: bool = Field(description="A real fire reported from the field awaits the answer.")
    requested_at: datetime | None
    at: datetime | None
    by: str | None
    confirmed: bool | None = Field(description="Whether the fire brigade (119) was called.")
    note: str | None


class Milestones(BaseModel):
    """The first time each step happened (``detected``: the first signal's device clock)."""

    detected: datetime
    acknowledged: datetime | None
    video_checked: datetime | None
    dispatched: datetime | None
    accepted: datetime | None
    arrived: datetime | None
    verdict: datetime | None
    closed: datetime | None
    seconds: dict[str, float] = Field(description="Each step's seconds after detection.")


class IncidentDispatches(BaseModel):
    incident_id: int
    call_119: Call119Read
    milestones: Milestones
    items: list[DispatchRead] = Field(description="Oldest first.")


class Call119Body(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"confirmed": True, "note": "119 called at 14:02"}]},
    )

    confirmed: bool = Field(description="True: the fire brigade was called.")
    note: Text | None = Field(default=None, max_length=500)


class DispatchSettingsRead(BaseModel):
    site: str
    auto_dispatch_fire: bool = Field(description="A confirmed fire is dispatched by itself.")
    updated_by: str | None
    updated_at: datetime | None


class DispatchSettingsUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    auto_dispatch_fire: bool


class FieldStep(BaseModel):
    """One tap on the field page. A verdict names what was found, and a false alarm its
    cause; a note may go with any step."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"step": "accept"},
                {"step": "verdict", "verdict": "false_alarm", "cause": "cooking_fumes"},
            ]
        },
    )

    step: Step
    verdict: Verdict | None = None
    cause: str | None = Field(default=None, max_length=32)
    note: Text | None = Field(default=None, max_length=2000)

    @model_validator(mode="after")
    def _verdict_goes_with_its_step(self) -> FieldStep:
        if (self.step is Step.VERDICT) != (self.verdict is not None):
            raise ValueError("a verdict step names its verdict, and only a verdict step does")
        problem = cause_problem(self.verdict, self.cause)
        if problem is not None:
            raise ValueError(problem)
        return self


class FieldRefusal(BaseModel):
    detail: str
    reason: Literal["forged", "expired", "revoked", "closed"]
