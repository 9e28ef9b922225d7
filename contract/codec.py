"""Decoding and validation of one message: any bytes on any topic give a message or a rejection."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from contract.frames import FrameError, decode_frame
from contract.kinds import (
    CLOCK_EXEMPT_EVENTS,
    EVENT_TYPES,
    FRAME_METRICS,
    KIND_SPECS,
    METRIC_RANGES,
    Kind,
)
from contract.messages import Decoded, Reason, Rejection
from contract.topics import Channel, TopicError, parse_topic

MAX_SEQ = 2**63 - 1
# Epoch milliseconds between 2000-01-01 and 2100-01-01; anything else is a unit mistake.
_MIN_EPOCH_MS = 946_684_800_000
_MAX_EPOCH_MS = 4_102_444_800_000
_NAME_MAX = 64
# Read once: a member lookup on an enum class costs a quarter of a microsecond, several per message.
_READING, _EVENT, _FRAME = Channel.READING, Channel.EVENT, Channel.FRAME
_BOUNDS = {name: (r.low, r.high) for name, r in METRIC_RANGES.items()}


@dataclass(frozen=True, slots=True)
class Limits:
    max_payload_bytes: int = 256 * 1024
    max_frame_bytes: int = 1024 * 1024
    future_tolerance: timedelta = timedelta(minutes=5)
    stale_after: timedelta = timedelta(days=7)


class _Invalid(Exception):
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


def _schema(detail: str) -> _Invalid:
    return _Invalid(Reason.SCHEMA, detail)


def parse_ts(value: object) -> datetime:
    """RFC 3339 with an explicit offset, or integer epoch milliseconds."""
    if type(value) is int and _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:  # the common case first
        return datetime.fromtimestamp(value / 1000, UTC)
    if isinstance(value, bool):
        raise _schema("'ts' must be an RFC 3339 string or epoch milliseconds")
    if isinstance(value, int):
        if not _MIN_EPOCH_MS <= value <= _MAX_EPOCH_MS:
            raise _schema(f"'ts' {value} is not epoch milliseconds between 2000 and 2100")
        return datetime.fromtimestamp(value / 1000, tz=UTC)
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _schema(f"'ts' {value!r} is not RFC 3339") from None
        if parsed.tzinfo is None:
            raise _schema(f"'ts' {value!r} has no UTC offset; add Z or +08:00")
        if not 2000 <= parsed.year < 2100:
            raise _schema(f"'ts' {value!r} is not between 2000 and 2100")
        return parsed.astimezone(UTC)
    raise _schema("'ts' must be an RFC 3339 string or epoch milliseconds")


def _seq(value: object) -> int:
    if type(value) is int and 0 <= value <= MAX_SEQ:
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_SEQ:
        raise _schema("'seq' must be an integer >= 0")
    return value


def _short_text(body: dict[str, Any], key: str) -> str | None:
    value = body.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not 0 < len(value) <= _NAME_MAX or not value.isprintable():
        raise _schema(f"{key!r} must be a printable string of 1..{_NAME_MAX} characters")
    return value


def _metric(name: str, value: object) -> float:
    limits = METRIC_RANGES.get(name)
    if limits is None:
        raise _schema(f"unknown metric {name[:64]!r}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _schema(f"metric {name!r} must be a number")
    number = float(value)
    if not (math.isfinite(number) and limits.low <= number <= limits.high):
        raise _Invalid(
            Reason.OUT_OF_RANGE, f"{name}={value} outside {limits.low:g}..{limits.high:g}"
        )
    return number


DETAIL_MAX_DEPTH = 16


def _detail_problem(detail: dict[str, Any]) -> str | None:
    """What would make ``detail`` unstorable: NUL (PostgreSQL text and jsonb refuse it) or
    nesting deeper than anyone needs (the JSON encoder would run out of stack).

    Iterative, because JSON nests deeper than Python's recursion limit.
    """
    stack: list[tuple[object, int]] = [(detail, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "'detail' must not contain NUL characters (\\u0000)"
        elif isinstance(item, dict | list):
            if depth > DETAIL_MAX_DEPTH:
                return f"'detail' nests deeper than {DETAIL_MAX_DEPTH} levels"
            children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return None


def _object(payload: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise _Invalid(Reason.MALFORMED, f"not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise _Invalid(Reason.MALFORMED, "payload must be a JSON object")
    return body


def _only(body: dict[str, Any], allowed: frozenset[str]) -> None:
    if allowed.issuperset(body):
        return
    unknown = body.keys() - allowed
    raise _schema(f"unknown fields: {', '.join(sorted(k[:32] for k in unknown)[:5])}")


_READING_KEYS = frozenset({"ts", "seq", "values", "region", "preset"})
_EVENT_KEYS = frozenset({"ts", "seq", "type", "detail"})
_STATUS_KEYS = frozenset({"ts", "seq", "battery_pct", "rssi_dbm", "firmware"})


def _readings(raw: dict[str, Any]) -> dict[str, float]:
    """The JSON object itself when every value is a known metric's float in range, as nearly all
    are: a well-formed reading costs a range check per value and no copy. Anything else is
    checked again in order, so a rejection names the same value with the same detail."""
    bounds = _BOUNDS
    for name, value in raw.items():
        limits = bounds.get(name)
        if limits is None or type(value) is not float or not limits[0] <= value <= limits[1]:
            return {name: _metric(name, value) for name, value in raw.items()}
    return raw


def _decode_frame(site: str, device_id: str, payload: bytes) -> Decoded:
    try:
        header, temps = decode_frame(payload)
    except FrameError as exc:
        raise _Invalid(Reason.MALFORMED if exc.malformed else Reason.SCHEMA, str(exc)) from None
    values = {
        "frame_max_temp_c": _metric("frame_max_temp_c", float(temps.max())),
        "frame_avg_temp_c": _metric("frame_avg_temp_c", float(temps.mean())),
        "frame_min_temp_c": _metric("frame_min_temp_c", float(temps.min())),
    }
    return Decoded(
        site,
        device_id,
        _FRAME,
        parse_ts(header.ts),
        _seq(header.seq),
        values=values,
        preset=header.preset,
        frame=temps,
    )


def _decode_body(site: str, device_id: str, channel: Channel, payload: bytes) -> Decoded:
    if channel is _FRAME:
        return _decode_frame(site, device_id, payload)
    body = _object(payload)
    ts, seq = parse_ts(body.get("ts")), _seq(body.get("seq"))
    if channel is _READING:
        _only(body, _READING_KEYS)
        raw = body.get("values")
        if not isinstance(raw, dict) or not raw:
            raise _schema("'values' must be a non-empty object of metric: number")
        values = _readings(raw)
        if not FRAME_METRICS.isdisjoint(values):
            raise _schema("frame_* metrics are derived by ingest, not sent by devices")
        if len(body) == 3:  # ts, seq and values alone: no region, no preset
            return Decoded(site, device_id, channel, ts, seq, values)
        return Decoded(
            site,
            device_id,
            channel,
            ts,
            seq,
            values=values,
            region=_short_text(body, "region"),
            preset=_short_text(body, "preset"),
        )
    if channel is _EVENT:
        _only(body, _EVENT_KEYS)
        event_type = body.get("type")
        if not isinstance(event_type, str) or event_type not in EVENT_TYPES:
            raise _schema(f"'type' must be one of {', '.join(sorted(EVENT_TYPES))}")
        detail = body.get("detail")
        if detail is not None and not isinstance(detail, dict):
            raise _schema("'detail' must be an object")
        problem = _detail_problem(detail) if detail else None
        if problem:
            raise _schema(problem)
        return Decoded(site, device_id, channel, ts, seq, event_type=event_type, detail=detail)
    _only(body, _STATUS_KEYS)
    values = {
        name: _metric(name, body[name]) for name in ("battery_pct", "rssi_dbm") if name in body
    }
    return Decoded(
        site, device_id, channel, ts, seq, values=values, firmware=_short_text(body, "firmware")
    )


def decode(
    topic: str, payload: bytes, *, now: datetime, limits: Limits, arrived: datetime | None = None
) -> Decoded | Rejection:
    """Pure and total: the property tests feed it arbitrary bytes.

    A fire or tamper event whose ``ts`` is outside the window is not rejected: it is stamped
    with ``arrived`` (the message's arrival, ``now`` when not given) and keeps the device's
    time in ``device_ts``, because a wrong clock must not silence a detector.
    """
    try:
        parsed = parse_topic(topic)
    except TopicError as exc:
        return Rejection(Reason.BAD_TOPIC, str(exc))
    limit = limits.max_frame_bytes if parsed.channel is _FRAME else limits.max_payload_bytes
    if len(payload) > limit:
        return Rejection(
            Reason.OVERSIZE,
            f"{parsed.channel.value} payload of {len(payload)} bytes exceeds {limit}",
            parsed.device_id,
        )
    try:
        message = _decode_body(parsed.site, parsed.device_id, parsed.channel, payload)
    except _Invalid as exc:
        return Rejection(exc.reason, exc.detail, parsed.device_id)
    return _in_window(message, now=now, limits=limits, arrived=now if arrived is None else arrived)


def _in_window(
    message: Decoded, *, now: datetime, limits: Limits, arrived: datetime
) -> Decoded | Rejection:
    future = message.ts > now + limits.future_tolerance
    if not future and message.ts >= now - limits.stale_after:
        return message
    if message.event_type in CLOCK_EXEMPT_EVENTS:
        message.device_ts, message.ts = message.ts, arrived
        return message
    if future:
        return Rejection(
            Reason.FUTURE_TIMESTAMP,
            f"ts {message.ts.isoformat()} is {(message.ts - now).total_seconds():.0f} s ahead "
            "of the server clock; fix the device clock (NTP)",
            message.device_id,
        )
    return Rejection(
        Reason.STALE,
        f"ts {message.ts.isoformat()} is older than {limits.stale_after}",
        message.device_id,
    )


def check_kind(message: Decoded, kind: Kind) -> Rejection | None:
    """A device may only report what its registered kind can measure."""
    spec = KIND_SPECS[kind]
    if message.channel is _FRAME and not spec.frames:
        return Rejection(Reason.KIND_MISMATCH, f"{kind} devices send no frames", message.device_id)
    if not spec.metrics.issuperset(message.values):
        foreign = message.values.keys() - spec.metrics
        return Rejection(
            Reason.KIND_MISMATCH,
            f"{kind} devices do not measure {', '.join(sorted(foreign))}",
            message.device_id,
        )
    if message.event_type is not None and message.event_type not in spec.events:
        return Rejection(
            Reason.KIND_MISMATCH,
            f"{kind} devices do not send {message.event_type!r} events",
            message.device_id,
        )
    return None
