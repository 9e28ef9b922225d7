"""Bodies of the grid's people, channels, rosters and supervisor chains, for the API and the
import alike: a row of an import file is the API's body plus the id or zone it belongs to."""

from __future__ import annotations

import re
from datetime import datetime, time
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from contract.text import JsonObject, Text
from dispatch.model import ChannelKind
from registry.schemas import PLACE_ID, Page

ID = PLACE_ID
Id = Annotated[str, Field(pattern=ID, examples=["wang.fang"])]
PHONE = r"^\+?[0-9][0-9 ()-]{3,30}$"
_PHONE_PUNCTUATION = re.compile(r"[ ()-]")
_PHONE_DIGITS = re.compile(r"\+?[0-9]{4,31}")
_LIST_SEPARATORS = re.compile(r"[;,\s]+")
MAX_SHIFTS = 500  # per zone


class PersonRole(StrEnum):
    GRID_WORKER = "grid_worker"  # 网格员
    SUPERVISOR = "supervisor"


def _words(value: Any) -> Any:
    """A CSV cell ``wecom-g03; sms`` as the list JSON would give."""
    if isinstance(value, str):
        return [w for w in _LIST_SEPARATORS.split(value) if w]
    return value


def _unique(values: list[str], what: str) -> list[str]:
    seen = [v for i, v in enumerate(values) if v in values[:i]]
    if seen:
        raise ValueError(f"{seen[0]!r} is listed twice; list each {what} once")
    return values


class PersonWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "王芳",
                    "phone": "+86 138 0013 8000",
                    "role": "grid_worker",
                    "channels": ["wecom-g03", "sms"],
                }
            ]
        },
    )

    name: Text = Field(min_length=1, max_length=200)
    phone: str | None = Field(
        default=None,
        pattern=PHONE,
        description="Stored without spaces, dashes or brackets: '+8613800138000'. Group robots "
        "mention the person by it and SMS is sent to it.",
    )
    role: PersonRole = PersonRole.GRID_WORKER
    active: bool = Field(default=True, description="False: on leave; never called.")
    channels: list[Annotated[str, Field(pattern=ID)]] = Field(
        default_factory=list,
        max_length=10,
        description="Channel ids, in the order to use them; only those site-wide or of the "
        "zone being called serve a zone's call.",
    )

    @field_validator("phone")
    @classmethod
    def _compact(cls, phone: str | None) -> str | None:
        """Stored as the digits alone, which must still be a phone number: '1-5-7' passes the
        pattern but leaves '157', which the pattern refuses when the value is read again (the
        import does, and answered 500)."""
        if phone is None:
            return None
        digits = _PHONE_PUNCTUATION.sub("", phone)
        if not _PHONE_DIGITS.fullmatch(digits):
            raise ValueError("a phone number has 4 digits or more, besides spaces, dashes, ()")
        return digits

    @field_validator("channels", mode="before")
    @classmethod
    def _cell(cls, value: Any) -> Any:
        return _words(value)

    @field_validator("channels")
    @classmethod
    def _once(cls, channels: list[str]) -> list[str]:
        return _unique(channels, "channel")


class PersonRead(BaseModel):
    id: str
    name: str
    phone: str | None
    role: PersonRole
    active: bool
    channels: list[str]
    rosters: list[str] = Field(description="Zones with a shift of theirs.")
    supervises: list[str] = Field(description="Zones whose supervisor chain holds them.")
    created_at: datetime
    updated_at: datetime


PersonPage = Page[PersonRead]


class ChannelWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={
            "examples": [
                {
                    "kind": "dingtalk",
                    "name": "G-03 网格群",
                    "zone": "G-03",
                    "config": {
                        "url": "https://oapi.dingtalk.com/robot/send?access_token=…",
                        "secret": "SEC…",
                    },
                }
            ]
        },
    )

    kind: ChannelKind
    name: Text | None = Field(default=None, max_length=200)
    zone: str | None = Field(
        default=None, pattern=ID, description="A zone's group robot; null: site-wide."
    )
    config: JsonObject = Field(
        default_factory=dict,
        description="What the kind needs (docs/dispatch.md). Secrets are shown masked "
        "('******'); a mask sent back unchanged keeps the stored secret.",
    )


class ChannelRead(BaseModel):
    id: str
    kind: ChannelKind
    name: str | None
    zone: str | None
    config: dict[str, Any] = Field(description="Secrets masked.")
    people: list[str] = Field(description="Who is reached on it.")
    created_at: datetime
    updated_at: datetime


def _weekdays(value: Any) -> Any:
    """A CSV cell ``1-5`` or ``6,7`` as the list JSON would give; ``*`` every day. A range
    is of days 1..7 only: ``1-100000000000`` would be a list no memory holds (a 500)."""
    if not isinstance(value, str):
        return value
    if value.strip() == "*":
        return list(range(1, 8))
    days: list[Any] = []
    for part in _words(value):
        first, dash, last = part.partition("-")
        if dash and first.isascii() and first.isdigit() and last.isascii() and last.isdigit():
            if not (len(first) == len(last) == 1 and 1 <= int(first) <= int(last) <= 7):
                raise ValueError(f"{part[:20]!r} is not a range of ISO days within 1-7")
            days.extend(range(int(first), int(last) + 1))
        else:
            days.append(part)
    return days


def _local(value: time) -> time:
    if value.tzinfo is not None:
        raise ValueError("a time of day on the site's clock, without a zone: '08:00'")
    return value


class ShiftWrite(BaseModel):
    """Starts on each of ``weekdays`` at ``start`` (site time, Beijing by default) and ends at
    ``end``: the next day if ``end`` is at or before ``start`` (equal: 24 hours)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "person": "wang.fang",
                    "position": 0,
                    "weekdays": [1, 2, 3, 4, 5],
                    "start": "20:00",
                    "end": "08:00",
                }
            ]
        },
    )

    person: str = Field(pattern=ID)
    position: int = Field(ge=0, le=999, description="Lower is called first.")
    weekdays: list[Annotated[int, Field(ge=1, le=7)]] = Field(
        default_factory=lambda: list(range(1, 8)),
        min_length=1,
        max_length=7,
        description="ISO days the shift starts on: 1 Monday .. 7 Sunday (CSV: '1-5').",
    )
    start: time
    end: time

    @field_validator("weekdays", mode="before")
    @classmethod
    def _cell(cls, value: Any) -> Any:
        return _weekdays(value)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, days: list[int]) -> list[int]:
        if len(set(days)) != len(days):
            raise ValueError("a day is listed twice")
        return sorted(days)

    _start_local = field_validator("start")(_local)
    _end_local = field_validator("end")(_local)


class ShiftRead(BaseModel):
    person: str
    name: str
    active: bool
    position: int
    weekdays: list[int]
    start: time
    end: time


class RosterWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shifts: list[ShiftWrite] = Field(max_length=MAX_SHIFTS)


class RosterRead(BaseModel):
    zone: str
    shifts: list[ShiftRead] = Field(description="By position.")


class SupervisorsWrite(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"people": ["li.ming", "zhao.lei"]}]}
    )

    people: list[Annotated[str, Field(pattern=ID)]] = Field(
        max_length=20, description="Person ids, level 1 first; each has the supervisor role."
    )

    @field_validator("people")
    @classmethod
    def _once(cls, people: list[str]) -> list[str]:
        return _unique(people, "person")


class SupervisorRead(BaseModel):
    level: int
    person: str
    name: str
    phone: str | None
    active: bool


class SupervisorsRead(BaseModel):
    zone: str
    supervisors: list[SupervisorRead]


class ContactChannel(BaseModel):
    id: str
    kind: ChannelKind


class ContactRead(BaseModel):
    level: int = Field(description="0 is called first.")
    person: str
    name: str
    phone: str | None
    role: PersonRole
    channels: list[ContactChannel] = Field(description="Those serving this zone, in order.")


class OnCallRead(BaseModel):
    zone: str
    at: datetime
    local_time: datetime = Field(description="``at`` on the site's clock.")
    timezone: str
    contacts: list[ContactRead]


# Rows of an import file: the bodies above with what they belong to.


class PersonRow(PersonWrite):
    id: str = Field(pattern=ID)


class ChannelRow(ChannelWrite):
    id: str = Field(pattern=ID)


class ShiftRow(ShiftWrite):
    zone: str = Field(pattern=ID)


class SupervisorRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zone: str = Field(pattern=ID)
    level: int = Field(ge=1, le=20)
    person: str = Field(pattern=ID)


RosterSection = Literal["people", "channels", "shifts", "supervisors", "file"]


class RosterRowError(BaseModel):
    section: RosterSection
    row: int = Field(
        description="1-based: the line in a CSV (its header is line 1), the index in a JSON "
        "section; 0 for the file as a whole."
    )
    id: str | None = Field(description="The row's id, or its zone for shifts and supervisors.")
    field: str | None
    reason: str


class RosterImportReport(BaseModel):
    dry_run: bool
    ok: bool = Field(description="False: nothing was written; see errors.")
    people_created: list[str] = Field(default_factory=list)
    people_updated: list[str] = Field(default_factory=list)
    channels_created: list[str] = Field(default_factory=list)
    channels_updated: list[str] = Field(default_factory=list)
    rosters: list[str] = Field(
        default_factory=list, description="Zones whose shifts the file replaced."
    )
    supervisors: list[str] = Field(
        default_factory=list, description="Zones whose supervisor chain it replaced."
    )
    errors: list[RosterRowError] = Field(default_factory=list)
