"""What a platform's field means for one of our devices, and the contract messages a value
makes. Both platforms map alike (registry/gateway_config.py's PlatformMapping, docs/gateways.md):
``streams`` names, for each platform stream or field, one of

- a metric (``"temperature_c"``; ``battery_pct`` and ``rssi_dbm`` go out as status), the value
  a number or a decimal in a string;
- an event type (``"alarm"``): the value 1 or true raises it, 0 or false raises its clearing
  event (``alarm_cleared``) when there is one and nothing otherwise, any other value is refused.

``seq`` of every message is a hash of the platform's own report (``identity``) and what the
message holds, so the platform's retry of a report makes the same messages, stored once.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from contract.kinds import EVENT_TYPES, FRAME_METRICS, METRIC_RANGES, STATUS_METRICS
from contract.messages import Reason
from gateways import messages
from ingest.pipeline import Inbound

VALUE_TEXT_MAX = 64


@dataclass(frozen=True, slots=True)
class MetricTarget:
    metric: str


@dataclass(frozen=True, slots=True)
class EventTarget:
    raised: str
    cleared: str | None  # the clearing event, if the type has one


Target = MetricTarget | EventTarget

_ON, _OFF = frozenset({"1", "true"}), frozenset({"0", "false"})


@dataclass(frozen=True, slots=True)
class PlatformDevice:
    """A registered device as a platform knows it."""

    device_id: str
    targets: Mapping[str, Target]


class Refused(Exception):
    """The push as a whole cannot be taken: dead-letter it with ``reason`` and answer
    ``status`` (403 for a signature, 400 for a body, 503 when our own key is missing)."""

    def __init__(self, reason: Reason, detail: str, status: int) -> None:
        super().__init__(detail)
        self.reason, self.detail, self.status = reason, detail, status


class MappingError(ValueError):
    """A device's platform config that cannot be used; the message says what to fix."""


def parse_targets(raw: object, *, what: str) -> dict[str, Target]:
    """``raw`` is the config's ``streams``; ``what`` names it in errors."""
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{what} must be a non-empty object of stream: metric or event")
    return {str(name): _target(spec, what=f"{what}.{name}") for name, spec in raw.items()}


def _target(spec: object, *, what: str) -> Target:
    if isinstance(spec, str) and spec in METRIC_RANGES and spec not in FRAME_METRICS:
        return MetricTarget(spec)
    if isinstance(spec, str) and spec in EVENT_TYPES and not spec.endswith("_cleared"):
        cleared = f"{spec}_cleared"
        return EventTarget(spec, cleared if cleared in EVENT_TYPES else None)
    raise MappingError(f"{what}: {spec!r} is neither a metric nor an event type")


def value_text(value: object) -> str | None:
    """A value as text: 1, 1.0 and "1" alike; true and false as words."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and math.isfinite(value):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, str) and 0 < len(value) <= VALUE_TEXT_MAX:
        return value.strip()
    return None


def number(value: object) -> float | None:
    """A metric's value: a JSON number, or a decimal in a string (NB-IoT profiles send both)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value) if abs(value) < 1e300 else math.inf
    elif isinstance(value, str) and 0 < len(value) <= VALUE_TEXT_MAX:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def seq_of(identity: bytes, part: str) -> int:
    """A non-negative 63-bit number, the same for the same report and part."""
    digest = hashlib.blake2b(identity + b"\x00" + part.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") >> 1


@dataclass(slots=True)
class Translated:
    """What a push became: contract messages to carry, problems to dead-letter (one line each,
    with the report they came from), and fields no device config maps (counted, not kept)."""

    items: list[Inbound] = field(default_factory=list)
    problems: list[tuple[str, Any]] = field(default_factory=list)
    ignored: int = 0


def translate_fields(
    out: Translated,
    device: PlatformDevice,
    fields: Mapping[str, Any],
    *,
    site: str,
    ts: datetime,
    identity: bytes,
    received_at: datetime,
    report: Any,
) -> None:
    """The messages one report's ``fields`` make for ``device``, appended to ``out``. A report
    whose fields make nothing (none mapped, or a tamper back to normal) is still the device
    heard from: a heartbeat, so a device that reports only what is not mapped is not judged
    offline."""
    made, refused = len(out.items), len(out.problems)
    readings: dict[str, float] = {}
    status: dict[str, float] = {}
    for name, value in fields.items():
        target = device.targets.get(name)
        if target is None:
            out.ignored += 1
            continue
        if isinstance(target, MetricTarget):
            got = number(value)
            if got is None:
                out.problems.append((f"{name}: {_shown(value)} is not a number", report))
                continue
            (status if target.metric in STATUS_METRICS else readings)[target.metric] = got
            continue
        text = value_text(value)
        if text not in _ON and text not in _OFF:
            out.problems.append((f"{name}: {_shown(value)} is neither 1/true nor 0/false", report))
            continue
        event_type = target.raised if text in _ON else target.cleared
        if event_type is None:  # back to normal, for an event with no clearing event
            continue
        out.items.append(
            messages.event(
                site,
                device.device_id,
                ts=ts,
                seq=seq_of(identity, f"event:{name}"),
                event_type=event_type,
                detail={"field": name[:VALUE_TEXT_MAX], "value": text},
                received_at=received_at,
            )
        )
    if readings:
        out.items.append(
            messages.reading(
                site,
                device.device_id,
                ts=ts,
                seq=seq_of(identity, "reading"),
                values=readings,
                received_at=received_at,
            )
        )
    if status:
        out.items.append(
            messages.status(
                site,
                device.device_id,
                ts=ts,
                seq=seq_of(identity, "status"),
                values=status,
                received_at=received_at,
            )
        )
    if len(out.items) == made and len(out.problems) == refused:
        out.items.append(
            heard(site, device.device_id, ts=ts, identity=identity, received_at=received_at)
        )


def heard(
    site: str, device_id: str, *, ts: datetime, identity: bytes, received_at: datetime
) -> Inbound:
    """A heartbeat: the platform says the device is online, or an unknown device spoke."""
    return messages.status(
        site, device_id, ts=ts, seq=seq_of(identity, "heard"), received_at=received_at
    )


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= VALUE_TEXT_MAX else text[: VALUE_TEXT_MAX - 1] + "…"
