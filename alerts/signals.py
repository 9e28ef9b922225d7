"""The engine's vocabulary: signal classes, rule names, and the condition a rule reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class AlertClass(StrEnum):
    """GB 26875 / NFPA 72 signal classes; each has its own colour and sound on the dashboard."""

    FIRE = "fire"
    PREALARM = "prealarm"
    SUPERVISORY = "supervisory"
    TROUBLE = "trouble"


class Rule(StrEnum):
    """Stable rule names: alerts, scenarios' ground truth and docs/rules.md all use them."""

    SMOKE_ALARM = "smoke_alarm"
    SMOKE_PREALARM = "smoke_prealarm"
    SMOKE_OBSCURATION = "smoke_obscuration"
    HEAT_FIXED = "heat_fixed"
    HEAT_ROR = "heat_ror"
    HEAT_ANOMALY = "heat_anomaly"
    LEAKAGE = "leakage"
    LEAKAGE_TREND = "leakage_trend"
    CABLE_TEMP = "cable_temp"
    CABLE_TEMP_ROR = "cable_temp_ror"
    CABLE_FIRE = "cable_fire"
    ELECTRICAL_ALARM = "electrical_alarm"
    CAMERA_HOTSPOT = "camera_hotspot"
    CAMERA_PREALARM = "camera_prealarm"
    CAMERA_SUDDEN_RISE = "camera_sudden_rise"
    CAMERA_GROWTH = "camera_growth"
    CAMERA_FIRE = "camera_fire"
    CAMERA_SMOKE = "camera_smoke"
    OFFLINE = "offline"
    LOW_BATTERY = "low_battery"
    FAULT = "fault"
    SENSOR_STUCK = "sensor_stuck"
    TAMPER = "tamper"
    COMM_FAULT = "comm_fault"
    CONFIRMED_FIRE = "confirmed_fire"
    ALERT_FLOOD = "alert_flood"
    CLOCK_SKEW = "clock_skew"  # a device's clock outside the time window (its alarms re-stamped)
    MQTT_SESSION = "mqtt_session"  # ingest's broker session taken over or lost


class Change(StrEnum):
    """What a decision does to the alert for its subject and rule."""

    RAISE = "raise"  # a new activation (a rising edge)
    HOLD = "hold"  # still active: newer time, maybe a new peak
    REPEAT = "repeat"  # the same event again while active: counted, not a new activation
    CLEAR = "clear"  # the condition returned to normal


# Fire alarms latch until an operator resolves them (GB 50116); so do tamper and the roll-ups
# that only a person can judge.
LATCHING = frozenset({Rule.TAMPER, Rule.CONFIRMED_FIRE})


def latches(rule: Rule, alert_class: AlertClass) -> bool:
    return alert_class is AlertClass.FIRE or rule in LATCHING


@dataclass(slots=True)
class Condition:
    """A rule's verdict on one subject at one event time: active (raise or repeat) or not.

    ``subject`` is a device id, or ``building:<id>`` for the roll-ups (confirmed fire, mass
    offline). ``value`` is what the alert's peak tracks (°C, mA, %/m, pixels)."""

    subject: str
    rule: Rule
    alert_class: AlertClass
    active: bool
    at: datetime
    value: float | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True)
class Decision:
    """What the engine asks the lifecycle to do; the store applies it in the batch's transaction.

    ``suppressed`` names why a decision must not be dispatched to operators (``maintenance``,
    ``commissioning``, ``test``); it is still recorded."""

    subject: str
    rule: Rule
    alert_class: AlertClass
    change: Change
    at: datetime
    value: float | None = None
    received_at: datetime | None = None
    site: str | None = None
    building: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    suppressed: str | None = None
