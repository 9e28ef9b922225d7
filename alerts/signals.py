"""The engine's decisions: the condition a rule reports, for the lifecycle to apply."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from contract.alarms import AlertClass, Rule


class Change(StrEnum):
    """What a decision does to the alert for its subject and rule."""

    RAISE = "raise"  # a new activation (a rising edge)
    HOLD = "hold"  # still active: newer time, maybe a new peak
    REPEAT = "repeat"  # the same event again while active: counted, not a new activation
    CLEAR = "clear"  # the condition returned to normal


# Fire alarms latch until an operator resolves them (GB 50116); so does tamper, which only a
# person can judge.
LATCHING = frozenset({Rule.TAMPER})


def latches(rule: Rule, alert_class: AlertClass) -> bool:
    return alert_class is AlertClass.FIRE or rule in LATCHING


@dataclass(kw_only=True, slots=True)
class Condition:
    """A rule's verdict on one subject at one event time: active (raise or repeat) or not.

    ``subject`` is a device id, or ``building:<id>`` for the roll-ups (mass
    offline). ``value`` is what the alert's peak tracks (°C, mA, %/m, pixels)."""

    subject: str
    rule: Rule
    alert_class: AlertClass
    active: bool
    at: datetime
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class Decision:
    """What the engine asks the lifecycle to do; the store applies it in the batch's transaction.

    ``suppressed`` names why a decision must not be dispatched to operators (``maintenance``,
    ``commissioning``, ``test``); it is still recorded. Keyword-only: ten fields by position
    were one swap away from a wrong alert."""

    subject: str
    rule: Rule
    alert_class: AlertClass
    change: Change
    at: datetime
    value: float | None = None
    received_at: datetime | None = None
    site: str | None = None
    building: str | None = None
    covers: tuple[str, ...] = ()  # a camera's: the buildings it watches (incidents)
    detail: dict[str, Any] = field(default_factory=dict)
    suppressed: str | None = None
