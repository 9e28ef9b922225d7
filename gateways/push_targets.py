"""What a platform's field means for one of our devices, and the contract messages a value
makes: the mapping grammar OneNET's ``streams`` and CTWing's ``fields`` share (docs/gateways.md).

A field maps to one of:

- ``"temperature_c"``: a metric (``battery_pct`` and ``rssi_dbm`` go out as status);
- ``{"metric": "residual_current_ma", "scale": 1000}``: a metric, the value multiplied first;
- ``{"events": {"1": "alarm", "0": "alarm_cleared"}}``: an event chosen by the value's text.

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
    scale: float = 1.0


@dataclass(frozen=True, slots=True)
class EventTarget:
    events: Mapping[str, str]  # the value's text -> event type


Target = MetricTarget | EventTarget


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
    """``raw`` is the config's ``streams`` or ``fields`` object; ``what`` names it in errors."""
    if not isinstance(raw, dict) or not raw:
        raise MappingError(f"{what} must be a non-empty object of field: target")
    return {str(name): _target(spec, what=f"{what}.{name}") for name, spec in raw.items()}


def _target(spec: object, *, what: str) -> Target:
    if isinstance(spec, str):
        return MetricTarget(_metric(spec, what=what))
    if isinstance(spec, dict) and "metric" in spec and spec.keys() <= {"metric", "scale"}:
        scale = spec.get("scale", 1.0)
        if isinstance(scale, bool) or not isinstance(scale, int | float):
            raise MappingError(f"{what}.scale must be a number")
        if not math.isfinite(scale) or scale == 0:
            raise MappingError(f"{what}.scale must be finite and not 0")
        return MetricTarget(_metric(spec["metric"], what=what), float(scale))
    if isinstance(spec, dict) and spec.keys() == {"events"}:
        events = spec["events"]
        if not isinstance(events, dict) or not events:
            raise MappingError(f"{what}.events must be a non-empty object of value: event")
        for value, event_type in events.items():
            if event_type not in EVENT_TYPES:
                raise MappingError(f"{what}.events.{value}: no event type {event_type!r}")
        return EventTarget(dict(events))
    raise MappingError(
        f"{what} must be a metric name, {{'metric': …, 'scale': …}} or {{'events': {{…}}}}"
    )


def _metric(name: object, *, what: str) -> str:
    if not isinstance(name, str) or name not in METRIC_RANGES or name in FRAME_METRICS:
        raise MappingError(f"{what}: no metric {name!r}")
    return name


def value_text(value: object) -> str | None:
    """The text an event map is keyed by: 1, 1.0 and "1" alike; true and false as words."""
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
    """The messages one report's ``fields`` make for ``device``, appended to ``out``."""
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
            (status if target.metric in STATUS_METRICS else readings)[target.metric] = (
                got * target.scale
            )
            continue
        text = value_text(value)
        event_type = target.events.get(text) if text is not None else None
        if event_type is None:
            out.problems.append((f"{name}: {_shown(value)} maps to no event", report))
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
