"""The minimal engine: enough rules for a real slice, replaced by the full engine (issue 3).

Pure: decoded messages and each device's kind go in, alert decisions come out.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from alerts.kinds import Kind
from ingest.messages import Decoded

# EN 54-5 class A1 heat detectors answer between 54 and 65 °C.
HEAT_PREALARM_C = 57.0


class AlertClass(StrEnum):
    FIRE = "fire"
    PREALARM = "prealarm"
    SUPERVISORY = "supervisory"
    TROUBLE = "trouble"


@dataclass(slots=True)
class Raise:
    """Open an alert, or count a repeat on the one already open for this device and rule."""

    device_id: str
    rule: str
    alert_class: AlertClass
    at: datetime
    last_at: datetime
    received_at: datetime
    count: int = 1
    detail: dict[str, Any] = field(default_factory=dict)


def evaluate(
    messages: Iterable[tuple[Decoded, datetime]], kinds: Mapping[str, Kind]
) -> list[Raise]:
    """One decision per device and rule per batch, however many messages triggered it."""
    decisions: dict[tuple[str, str], Raise] = {}

    def fire(message: Decoded, received_at: datetime, rule: str, cls: AlertClass,
             detail: dict[str, Any]) -> None:  # fmt: skip
        key = (message.device_id, rule)
        found = decisions.get(key)
        if found is None:
            decisions[key] = Raise(
                message.device_id, rule, cls, message.ts, message.ts, received_at, 1, detail
            )
            return
        found.count += 1
        if message.ts < found.at:
            found.at, found.received_at, found.detail = message.ts, received_at, detail
        found.last_at = max(found.last_at, message.ts)

    for message, received_at in messages:
        kind = kinds.get(message.device_id)
        if kind is Kind.SMOKE and message.event_type == "alarm":
            fire(message, received_at, "smoke_alarm", AlertClass.FIRE, {"event": "alarm"})
        temperature = message.values.get("temperature_c")
        if temperature is not None and temperature >= HEAT_PREALARM_C:
            fire(
                message,
                received_at,
                "heat_fixed",
                AlertClass.PREALARM,
                {"temperature_c": temperature, "threshold_c": HEAT_PREALARM_C},
            )
    return list(decisions.values())
