"""Device models for mapped MQTT: devices that publish their own JSON on their own topics
(a Zigbee2MQTT sensor, a Tasmota plug), and how their messages become contract values.

A model says, for one kind of hardware: the topic it publishes on (``zigbee2mqtt/{device}``,
``{device}`` standing for one topic level that names the device), where its time is, which
JSON paths hold which metrics (with a unit scaling: ``value * scale + offset``), and which
values at which paths are which events (``smoke`` true: ``alarm``).

Here rather than in gateways/: the registry checks a model with :func:`parse_model` when a
technician writes one, and ingest's mapped MQTT source (gateways/mapped_mqtt.py) applies the
same parse to what it reads back, so both agree on what a model means. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from contract.json_paths import MISSING, PathError, parse_path, resolve
from contract.kinds import FRAME_METRICS, KIND_SPECS, STATUS_METRICS, Kind
from contract.messages import NO_MOMENT, Reason

DEVICE_FIELD = "{device}"
MODEL_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
TOPIC_MAX_CHARS = 256
TOPIC_MAX_LEVELS = 8
METRICS_MAX = 32
EVENTS_MAX = 30  # with a reading and a status, every item of a message has its own seq slot
TEXT_MAX = 64
SCALE_MAX = 1e6
# The contract's own prefixes (fw/v1 for devices, fw/cmd for commands): a model may not
# claim them, or its devices could speak for contract devices.
RESERVED_FIRST_LEVELS = frozenset({"fw"})
UNITS = {"s": 1000, "ms": 1}
_MIN_YEAR, _MAX_YEAR = 2000, 2100


class ModelError(ValueError):
    """``loc`` names the offending field (``("metrics", "0", "path")``); ``reason`` says why."""

    def __init__(self, loc: tuple[str, ...], reason: str) -> None:
        super().__init__(f"{'.'.join(loc)}: {reason}")
        self.loc, self.reason = loc, reason


class MappingError(ValueError):
    """A device's message that does not fit its model: dead-lettered with ``reason``."""

    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason, self.detail = reason, detail


@dataclass(frozen=True, slots=True)
class TopicPattern:
    """Topic levels, one of them ``{device}``."""

    levels: tuple[str, ...]
    device_level: int

    @property
    def text(self) -> str:
        return "/".join(self.levels)

    @property
    def subscription(self) -> str:
        """The MQTT filter that receives every device of the model."""
        return "/".join("+" if i == self.device_level else x for i, x in enumerate(self.levels))

    def topic_of(self, name: str) -> str:
        """The topic the device named ``name`` publishes on."""
        return "/".join(name if i == self.device_level else x for i, x in enumerate(self.levels))

    def name_in(self, topic: str) -> str | None:
        """What ``{device}`` stands for in ``topic``, or None when the topic is not the model's."""
        levels = topic.split("/")
        if len(levels) != len(self.levels):
            return None
        for i, (mine, theirs) in enumerate(zip(self.levels, levels, strict=True)):
            if i != self.device_level and mine != theirs:
                return None
        name = levels[self.device_level]
        return name or None


@dataclass(frozen=True, slots=True)
class TimeField:
    keys: tuple[str, ...]
    path: str
    zone: ZoneInfo  # for a time without an offset (Tasmota's local "Time")
    unit_ms: int  # a number is epoch seconds (1000) or milliseconds (1)
    optional: bool


@dataclass(frozen=True, slots=True)
class MetricMap:
    keys: tuple[str, ...]
    path: str
    metric: str
    scale: float
    offset: float
    optional: bool


Scalar = bool | int | float | str


@dataclass(frozen=True, slots=True)
class EventMap:
    keys: tuple[str, ...]
    path: str
    equals: Scalar
    event: str
    optional: bool


@dataclass(frozen=True, slots=True)
class DeviceModel:
    name: str
    kind: Kind
    topic: TopicPattern
    time: TimeField | None
    metrics: tuple[MetricMap, ...]
    events: tuple[EventMap, ...]


@dataclass(slots=True)
class Extracted:
    """What one message says, in contract terms. ``ts`` is None when the model has no time
    (or an optional one the message left out): the arrival time stands in."""

    ts: datetime | None
    readings: dict[str, float]
    status: dict[str, float]
    events: list[tuple[str, str, Scalar]]  # (event type, path, the value that matched)


# -- parsing a model ------------------------------------------------------------------------


def _level_problem(levels: tuple[str, ...], device_level: int) -> str | None:
    for i, level in enumerate(levels):
        if i == device_level:
            continue
        if not level:
            return f"level {i + 1} is empty"
        if any(c in level for c in "+#{}"):
            return f"level {level[:64]!r} holds + # {{ or }}; only {{device}} varies"
    if device_level == 0:
        return "{device} must not be the first level: a device could name a reserved prefix"
    if levels[0].startswith("$"):
        return "must not start with $ (the broker's own topics)"
    if levels[0] in RESERVED_FIRST_LEVELS:
        return "fw/ is the Firewatch contract's own prefix; contract devices need no model"
    return None


def parse_topic_pattern(text: object) -> TopicPattern:
    """Raises ModelError(("topic",), ...)."""
    if not isinstance(text, str) or not text:
        problem = "must be a topic such as zigbee2mqtt/{device} or tele/{device}/SENSOR"
    elif len(text) > TOPIC_MAX_CHARS or not text.isprintable():
        problem = f"must be 1..{TOPIC_MAX_CHARS} printable characters"
    elif text.count("/") >= TOPIC_MAX_LEVELS:
        problem = f"has {text.count('/') + 1} levels; at most {TOPIC_MAX_LEVELS}"
    else:
        levels = tuple(text.split("/"))
        at = [i for i, level in enumerate(levels) if level == DEVICE_FIELD]
        if len(at) != 1:
            problem = "must hold {device} once, as a whole level (e.g. tele/{device}/SENSOR)"
        else:
            found = _level_problem(levels, at[0])
            if found is None:
                return TopicPattern(levels, at[0])
            problem = found
    raise ModelError(("topic",), problem)


def _object(value: object, loc: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ModelError(loc, "must be an object")
    return value


def _known(body: dict[str, Any], loc: tuple[str, ...], allowed: tuple[str, ...]) -> None:
    for key in body:
        if key not in allowed:
            raise ModelError((*loc, str(key)[:64]), f"unknown key; allowed: {', '.join(allowed)}")


def _path(body: dict[str, Any], loc: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    path = body.get("path")
    try:
        return str(path), parse_path(path)  # type: ignore[arg-type]
    except PathError as exc:
        raise ModelError((*loc, "path"), str(exc)) from None


def _flag(body: dict[str, Any], key: str, loc: tuple[str, ...]) -> bool:
    value = body.get(key, False)
    if not isinstance(value, bool):
        raise ModelError((*loc, key), "must be true or false")
    return value


def _number(body: dict[str, Any], key: str, loc: tuple[str, ...], *, default: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelError((*loc, key), "must be a number")
    number = _float(value)
    if not math.isfinite(number) or abs(number) > SCALE_MAX:
        raise ModelError((*loc, key), f"must be a finite number within ±{SCALE_MAX:g}")
    return number


def _time(value: object) -> TimeField | None:
    if value is None:
        return None
    loc = ("time",)
    body = _object(value, loc)
    _known(body, loc, ("path", "zone", "unit", "optional"))
    path, keys = _path(body, loc)
    zone_name = body.get("zone", "UTC")
    valid = isinstance(zone_name, str) and 0 < len(zone_name) <= TEXT_MAX
    try:
        zone = ZoneInfo(zone_name) if valid else None
    except (ZoneInfoNotFoundError, ValueError, OSError):  # OSError: a folder such as "Asia"
        zone = None
    if zone is None:
        raise ModelError((*loc, "zone"), "must be a time zone name such as Asia/Shanghai or UTC")
    unit = body.get("unit", "s")
    if unit not in UNITS:
        raise ModelError((*loc, "unit"), "must be s or ms (how a number counts from the epoch)")
    return TimeField(keys, path, zone, UNITS[unit], _flag(body, "optional", loc))


def _metrics(value: object, kind: Kind) -> tuple[MetricMap, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > METRICS_MAX:
        raise ModelError(("metrics",), f"must be a list of at most {METRICS_MAX} mappings")
    allowed = KIND_SPECS[kind].metrics - FRAME_METRICS
    found: list[MetricMap] = []
    for index, item in enumerate(value):
        loc = ("metrics", str(index))
        body = _object(item, loc)
        _known(body, loc, ("path", "metric", "scale", "offset", "optional"))
        path, keys = _path(body, loc)
        metric = body.get("metric")
        if not isinstance(metric, str) or metric not in allowed:
            raise ModelError(
                (*loc, "metric"), f"{kind} devices report {', '.join(sorted(allowed))}"
            )
        if any(m.metric == metric for m in found):
            raise ModelError((*loc, "metric"), f"{metric} is mapped twice")
        scale = _number(body, "scale", loc, default=1.0)
        if scale == 0:
            raise ModelError((*loc, "scale"), "must not be 0")
        offset = _number(body, "offset", loc, default=0.0)
        found.append(MetricMap(keys, path, metric, scale, offset, _flag(body, "optional", loc)))
    return tuple(found)


def _scalar(value: object, loc: tuple[str, ...]) -> Scalar:
    if isinstance(value, bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    if isinstance(value, str) and 0 < len(value) <= TEXT_MAX and value.isprintable():
        return value
    raise ModelError(
        loc, f"must be true, false, a number or a printable string of 1..{TEXT_MAX} characters"
    )


def _events(value: object, kind: Kind) -> tuple[EventMap, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > EVENTS_MAX:
        raise ModelError(("events",), f"must be a list of at most {EVENTS_MAX} mappings")
    allowed = KIND_SPECS[kind].events
    found: list[EventMap] = []
    for index, item in enumerate(value):
        loc = ("events", str(index))
        body = _object(item, loc)
        _known(body, loc, ("path", "equals", "event", "optional"))
        path, keys = _path(body, loc)
        if "equals" not in body:
            raise ModelError((*loc, "equals"), "the value that means this event is missing")
        equals = _scalar(body["equals"], (*loc, "equals"))
        event = body.get("event")
        if not isinstance(event, str) or event not in allowed:
            raise ModelError((*loc, "event"), f"{kind} devices send {', '.join(sorted(allowed))}")
        if any(e.path == path and same(e.equals, equals) for e in found):
            raise ModelError((*loc, "equals"), f"{path} = {equals!r} is mapped twice")
        found.append(EventMap(keys, path, equals, event, _flag(body, "optional", loc)))
    return tuple(found)


def parse_model(body: dict[str, Any]) -> DeviceModel:
    """A model from its document (the registry's API body, or its stored row); raises
    ModelError naming the first wrong field."""
    name = body.get("name")
    if not isinstance(name, str) or not MODEL_NAME_RE.fullmatch(name):
        raise ModelError(("name",), "must be 1..64 of A-Z a-z 0-9 _ . -")
    try:
        kind: Kind | None = Kind(str(body.get("kind")))
    except ValueError:
        kind = None
    if kind is None or not KIND_SPECS[kind].telemetry:
        sending = sorted(k.value for k, s in KIND_SPECS.items() if s.telemetry)
        raise ModelError(("kind",), f"must be one of {', '.join(sending)}")
    model = DeviceModel(
        name=name,
        kind=kind,
        topic=parse_topic_pattern(body.get("topic")),
        time=_time(body.get("time")),
        metrics=_metrics(body.get("metrics"), kind),
        events=_events(body.get("events"), kind),
    )
    if not model.metrics and not model.events:
        raise ModelError(("metrics",), "a model maps at least one metric or event")
    return model


# -- applying a model -----------------------------------------------------------------------


def same(value: object, expected: Scalar) -> bool:
    """JSON equality without Python's ``True == 1``: a boolean matches only a boolean."""
    if isinstance(expected, bool) or isinstance(value, bool):
        return value is expected
    if isinstance(expected, int | float):
        return isinstance(value, int | float) and value == expected
    return value == expected


def _float(value: int | float) -> float:
    """An integer too big for a float is infinite, which every caller refuses."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _shown(value: object) -> str:
    text = repr(value) if isinstance(value, str) else type(value).__name__
    return text[:80]


def _timestamp(value: object, spec: TimeField) -> datetime:
    def bad(why: str) -> MappingError:
        return MappingError(Reason.SCHEMA, f"time at {spec.path!r} {why}")

    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise bad("is not a finite number")
        ms = value * spec.unit_ms
        low = datetime(_MIN_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000
        high = datetime(_MAX_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000
        if not low <= ms < high:
            unit = "seconds" if spec.unit_ms == 1000 else "milliseconds"
            raise bad(f"{value} is not epoch {unit} between {_MIN_YEAR} and {_MAX_YEAR}")
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(milliseconds=round(ms))
    if isinstance(value, str) and 0 < len(value) <= 40:
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise bad(f"{value!r} is not an ISO 8601 time") from None
        if not _MIN_YEAR <= parsed.year < _MAX_YEAR:
            return NO_MOMENT  # a clock never set (Tasmota before NTP: 1970): a fire still counts
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=spec.zone)
        return parsed.astimezone(UTC)
    raise bad(f"must be an ISO 8601 time or a number, got {_shown(value)}")


def _time_of(spec: TimeField, document: dict[str, Any]) -> datetime | None:
    raw = resolve(document, spec.keys)
    if raw is not MISSING:
        return _timestamp(raw, spec)
    if spec.optional:
        return None
    raise MappingError(Reason.SCHEMA, f"time path {spec.path!r} is missing")


def _metric(m: MetricMap, document: dict[str, Any]) -> float | None:
    raw = resolve(document, m.keys)
    if raw is MISSING:
        if m.optional:
            return None
        raise MappingError(Reason.SCHEMA, f"path {m.path!r} ({m.metric}) is missing")
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise MappingError(
            Reason.SCHEMA, f"at {m.path!r} ({m.metric}): a number, got {_shown(raw)}"
        )
    value = _float(raw) * m.scale + m.offset
    if not math.isfinite(value):
        raise MappingError(Reason.SCHEMA, f"at {m.path!r} ({m.metric}): not finite")
    return value


def _fired(e: EventMap, document: dict[str, Any]) -> bool:
    raw = resolve(document, e.keys)
    if raw is MISSING:
        if e.optional:
            return False
        raise MappingError(Reason.SCHEMA, f"path {e.path!r} ({e.event}) is missing")
    return same(raw, e.equals)


def extract(model: DeviceModel, document: object) -> Extracted:
    """What a device's parsed JSON says under its model; raises MappingError (``schema``)
    for a message that does not fit: a required path missing, a number that is not one.
    Range checks are the contract's, after this (ingest's codec), so an out-of-range value
    is dead-lettered as ``out_of_range`` like any device's."""
    if not isinstance(document, dict):
        raise MappingError(Reason.MALFORMED, "payload must be a JSON object")
    ts = _time_of(model.time, document) if model.time is not None else None
    readings: dict[str, float] = {}
    status: dict[str, float] = {}
    for m in model.metrics:
        value = _metric(m, document)
        if value is not None:
            (status if m.metric in STATUS_METRICS else readings)[m.metric] = value
    events = [(e.event, e.path, e.equals) for e in model.events if _fired(e, document)]
    return Extracted(ts, readings, status, events)
