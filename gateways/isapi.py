"""Hikvision ISAPI event notifications from a thermal camera, as contract messages.

A camera set up with an HTTP listening host ("alarm server") posts one
``EventNotificationAlert`` per event, XML or JSON (``gateways/isapi_body.py`` finds it in the
body). What it says becomes what a ``thermal_camera`` would publish on MQTT, so the same
camera rules and thresholds judge it (docs/gateways.md, "Thermal cameras (Hikvision ISAPI)"):

- ``TMA`` / ``TMPA`` (temperature measurement alarm / pre-alarm): the camera's own verdict, an
  event ``temperature_alarm`` / ``temperature_prealarm`` (``temperature_alarm_cleared`` when
  inactive), which the engine takes as ``camera_hotspot`` / ``camera_prealarm``: a camera that
  posts only while alarming is heard. And one reading per rule that fired, ``max_temp_c`` (or
  ``min_temp_c`` / ``avg_temp_c``, as the rule measures), with the rule as ``region`` and the
  PTZ preset as ``preset``, which Firewatch's region rule (alerts/metric_rules.py) judges too.
  A temperature-difference rule's alarm carries no temperature of its own: its verdict only.
- ``fireDetection`` -> event ``fire_detected``; ``smokeDetection`` -> ``smoke_detected``;
  ``smokeAndFireDetection`` -> both; their ``inactive`` -> ``alarm_cleared``.
- ``heartBeat``, an ``inactive`` ``videoloss`` (what older firmware sends as its heartbeat) and
  any other event type -> a status message: the camera is heard from.
- an ``active`` ``videoloss`` -> ``fault``.

``ts`` is the camera's ``dateTime`` and ``seq`` a hash of the camera's own words (channel,
event type, date and time, ``activePostCount``, the rule), so a camera that posts the same
notification again (it did not get our 200) makes the same messages, which the store keeps once.

XML from the network is parsed by defusedxml with DTDs forbidden: no entity expansion, no
external entity, no billion laughs. Nesting and element counts are bounded before anything
walks the tree.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import orjson
from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from contract.messages import NO_MOMENT, Reason
from gateways import messages
from gateways.isapi_body import Body, Refused, Syntax
from ingest.pipeline import Inbound

GATEWAY = "isapi"
MAX_DEPTH = 16
MAX_NODES = 4000
_TEXT_MAX = 64
_SEQ_MASK = 2**63 - 1

THERMOMETRY_TYPES = frozenset({"TMA", "TMPA"})
FIRE_TYPES = {
    "fireDetection": ("fire_detected",),
    "smokeDetection": ("smoke_detected",),
    "smokeAndFireDetection": ("fire_detected", "smoke_detected"),
}
# Where a thermometry alarm's temperatures are in the documents cameras send: per region
# (DetectionRegionEntry/TMA, newer firmware) or one ThermometryAlarm block (older).
_THERMOMETRY_BLOCKS = ("TMA", "TMPA", "ThermometryAlarm")
_MAX_NAMES = ("maxTemperature", "highestTemperature", "maxTemp")
_MIN_NAMES = ("minTemperature", "lowestTemperature", "minTemp")
_AVG_NAMES = ("averageTemperature", "avgTemperature", "averageTemp")


@dataclass(frozen=True, slots=True)
class Thermometry:
    """One rule of a thermometry alarm: its temperatures in °C by contract metric."""

    rule: str | None
    preset: str | None
    values: dict[str, float]
    difference: bool = False  # a temperature-difference rule: no temperature of its own


@dataclass(frozen=True, slots=True)
class Notification:
    event_type: str
    active: bool
    at: datetime
    at_text: str  # as the camera wrote it: part of seq, so a re-post hashes the same
    channel: str
    post_count: int
    info: dict[str, Any]  # what an event's detail says of the camera and the event
    thermometry: list[Thermometry]
    fire_regions: list[dict[str, Any]]


# --- the document ------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _from_element(element: Element, depth: int, budget: list[int]) -> Any:
    """An element as JSON would say it: text for a leaf, an object of children otherwise (a
    repeated child becomes a list); namespaces and attributes dropped."""
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise Refused(
            Reason.MALFORMED,
            f"the alert nests deeper than {MAX_DEPTH} levels or "
            f"holds more than {MAX_NODES} elements",
        )
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        value = _from_element(child, depth + 1, budget)
        name = _local(child.tag)
        if name in out:
            existing = out[name]
            if isinstance(existing, list):  # only ever one of ours: a value is never a list
                existing.append(value)
            else:
                out[name] = [existing, value]
        else:
            out[name] = value
    return out


def _bounded(value: Any, depth: int, budget: list[int]) -> None:
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise Refused(
            Reason.MALFORMED,
            f"the alert nests deeper than {MAX_DEPTH} levels or holds more than {MAX_NODES} values",
        )
    children = (
        value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    )
    for child in children:
        _bounded(child, depth + 1, budget)


def document(body: Body) -> dict[str, Any]:
    """The ``EventNotificationAlert`` as a dict, or :class:`Refused`."""
    if body.syntax is Syntax.JSON:
        try:
            parsed = orjson.loads(body.alert)
        except orjson.JSONDecodeError as exc:
            raise Refused(Reason.MALFORMED, f"not JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise Refused(Reason.MALFORMED, "the JSON alert is not an object")
        if isinstance(parsed.get("EventNotificationAlert"), dict):
            parsed = parsed["EventNotificationAlert"]
        _bounded(parsed, 1, [MAX_NODES])
        found: dict[str, Any] = parsed
        return found
    try:
        root = fromstring(body.alert, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise Refused(Reason.MALFORMED, f"XML refused: {type(exc).__name__}") from None
    except (ParseError, ValueError, LookupError) as exc:
        raise Refused(Reason.MALFORMED, f"not XML: {exc}"[:200]) from None
    if _local(root.tag) != "EventNotificationAlert":
        raise Refused(
            Reason.MALFORMED,
            f"the XML is a {_local(root.tag)[:64]!r}, not an EventNotificationAlert",
        )
    parsed = _from_element(root, 1, [MAX_NODES])
    return parsed if isinstance(parsed, dict) else {}


# --- reading the fields ------------------------------------------------------------------


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    text = str(value).strip()
    if not text or not text.isprintable():
        return None
    return text[:_TEXT_MAX]


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str) and 0 < len(value) <= 32:
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _first(obj: Mapping[str, Any], *names: str) -> Any:
    for name in names:
        if name in obj:
            return obj[name]
    return None


def _walk(
    value: Any, parents: tuple[dict[str, Any], ...] = ()
) -> Iterator[tuple[str, Any, tuple[dict[str, Any], ...]]]:
    """Every (key, value, enclosing objects) in the document, depth first (bounded already)."""
    if isinstance(value, dict):
        for key, child in value.items():
            yield key, child, (*parents, value)
            yield from _walk(child, (*parents, value))
    elif isinstance(value, list):
        for child in value:
            yield from _walk(child, parents)


def _celsius(value: float, unit: str | None) -> float:
    unit = (unit or "celsius").lower()
    if unit.startswith("fahrenheit"):
        return (value - 32.0) * 5.0 / 9.0
    if unit.startswith("kelvin"):
        return value - 273.15
    return value


def _measured(block: Mapping[str, Any]) -> str:
    """Which contract metric the rule's current temperature is: what the rule compares."""
    words = " ".join(
        str(block.get(k, "")) for k in ("alarmType", "ruleType", "alarmRule", "rule")
    ).lower()
    if "diff" in words:
        return ""
    if "low" in words or "min" in words:
        return "min_temp_c"
    if "aver" in words or "avg" in words:
        return "avg_temp_c"
    return "max_temp_c"  # highest, max, or a point rule: the hottest the rule saw


def _thermometry(block: Mapping[str, Any], entry: Mapping[str, Any]) -> Thermometry:
    unit = _text(_first(block, "thermometryUnit", "temperatureUnit"))
    values: dict[str, float] = {}
    for metric, names in (
        ("max_temp_c", _MAX_NAMES),
        ("min_temp_c", _MIN_NAMES),
        ("avg_temp_c", _AVG_NAMES),
    ):
        number = _number(_first(block, *names))
        if number is not None:
            values[metric] = round(_celsius(number, unit), 2)
    current = _number(block.get("currTemperature"))
    measured = _measured(block)
    if current is not None and measured and measured not in values:
        values[measured] = round(_celsius(current, unit), 2)
    rule = _text(_first(block, "ruleID", "ruleId")) or _text(_first(entry, "regionID", "ruleID"))
    preset = _text(_first(block, "presetNo", "presetID"))
    return Thermometry(
        rule=f"rule-{rule}" if rule is not None else None,
        preset=preset if preset not in (None, "0") else None,
        values=values,
        difference=current is not None and not measured,
    )


def _thermometry_of(doc: dict[str, Any]) -> list[Thermometry]:
    found = []
    for key, value, parents in _walk(doc):
        if key in _THERMOMETRY_BLOCKS and isinstance(value, dict):
            entry = parents[-1] if parents else {}
            found.append(_thermometry(value, entry))
    return found


def _fire_regions(doc: dict[str, Any]) -> list[dict[str, Any]]:
    regions = []
    for key, value, parents in _walk(doc):
        if key not in ("FireDetection", "SmokeDetection") or not isinstance(value, dict):
            continue
        entry = parents[-1] if parents else {}
        unit = _text(_first(value, "temperatureUnit", "thermometryUnit"))
        hottest = _number(_first(value, "fireMaxTemperature", "temperature", "maxTemperature"))
        region = {
            "region": _text(_first(entry, "regionID", "ruleID")),
            "max_temp_c": round(_celsius(hottest, unit), 2) if hottest is not None else None,
            "distance_m": _number(value.get("targetDistance")),
        }
        regions.append({k: v for k, v in region.items() if v is not None})
        if len(regions) >= 16:
            break
    return regions


def _when(text: str, assume_tz: tzinfo) -> datetime:
    try:
        at = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise Refused(Reason.SCHEMA, f"dateTime {text!r} is not ISO 8601") from None
    if not 2000 <= at.year < 2100:
        return NO_MOMENT  # a clock never set (1970 after a power cut): a fire still counts
    return at if at.tzinfo is not None else at.replace(tzinfo=assume_tz)


def notification(body: Body, *, assume_tz: tzinfo) -> Notification:
    """What the camera said. A ``dateTime`` without an offset is read on ``assume_tz`` (the
    site's clock, as the camera's own is set)."""
    doc = document(body)
    event_type = _text(doc.get("eventType"))
    if event_type is None:
        raise Refused(Reason.SCHEMA, "no eventType")
    at_text = _text(doc.get("dateTime"))
    if at_text is None:
        raise Refused(Reason.SCHEMA, "no dateTime")
    state = (_text(doc.get("eventState")) or "active").lower()
    if state not in ("active", "inactive"):
        raise Refused(Reason.SCHEMA, f"eventState {state!r} is neither active nor inactive")
    count = _number(doc.get("activePostCount"))
    info = {
        key: found
        for key, found in (
            ("event_type", event_type),
            ("date_time", at_text),  # the camera's own words, whatever its clock said
            ("description", _text(doc.get("eventDescription"))),
            ("channel_name", _text(doc.get("channelName"))),
            ("mac", _text(doc.get("macAddress"))),
            ("ip", _text(doc.get("ipAddress"))),
            ("active_post_count", int(count) if count is not None and 0 <= count < 2**31 else None),
        )
        if found is not None
    }
    found = Notification(
        event_type=event_type,
        active=state == "active",
        at=_when(at_text, assume_tz),
        at_text=at_text,
        channel=_text(_first(doc, "channelID", "dynChannelID")) or "",
        post_count=int(count) if count is not None and 0 <= count < 2**31 else 0,
        info=info,
        thermometry=_thermometry_of(doc) if event_type in THERMOMETRY_TYPES else [],
        fire_regions=_fire_regions(doc) if event_type in FIRE_TYPES else [],
    )
    if event_type in THERMOMETRY_TYPES and not any(
        t.values or t.difference for t in found.thermometry
    ):
        raise Refused(Reason.SCHEMA, f"a {event_type} notification without a temperature")
    return found


# --- contract messages -------------------------------------------------------------------


def _seq(n: Notification, *parts: str) -> int:
    words = "\x1f".join((n.channel, n.event_type, n.at_text, str(n.post_count), *parts))
    digest = hashlib.blake2b(words.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & _SEQ_MASK


def contract_messages(
    n: Notification, *, site: str, device_id: str, received_at: datetime
) -> list[Inbound]:
    """The messages a ``thermal_camera`` would have published for this notification."""
    at, now = n.at, received_at
    if n.event_type in THERMOMETRY_TYPES:
        return [_verdict(n, site=site, device_id=device_id, received_at=now)] + [
            messages.reading(
                site,
                device_id,
                seq=_seq(n, str(i), t.rule or "", t.preset or ""),
                values=t.values,
                region=t.rule,
                preset=t.preset,
                ts=at,
                received_at=now,
            )
            for i, t in enumerate(n.thermometry)
            if t.values
        ]
    detail: dict[str, Any] = {**n.info, "channel": n.channel}
    if n.event_type in FIRE_TYPES:
        if n.fire_regions:
            detail["regions"] = n.fire_regions
        if not n.active:
            return [
                messages.event(
                    site,
                    device_id,
                    seq=_seq(n),
                    event_type="alarm_cleared",
                    detail=detail,
                    ts=at,
                    received_at=now,
                )
            ]
        return [
            messages.event(
                site,
                device_id,
                seq=_seq(n, kind),
                event_type=kind,
                detail=detail,
                ts=at,
                received_at=now,
            )
            for kind in FIRE_TYPES[n.event_type]
        ]
    if n.event_type.lower() == "videoloss" and n.active:
        detail["fault"] = "video loss"
        return [
            messages.event(
                site,
                device_id,
                seq=_seq(n),
                event_type="fault",
                detail=detail,
                ts=at,
                received_at=now,
            )
        ]
    return [messages.status(site, device_id, seq=_seq(n), ts=at, received_at=now)]


def _verdict(n: Notification, *, site: str, device_id: str, received_at: datetime) -> Inbound:
    """The camera's own judgement of its thermometry rule: a TMA is over the alarm limit its
    installer set, a TMPA over the pre-alarm one; ``inactive`` ends it."""
    if not n.active:
        kind = "temperature_alarm_cleared"
    else:
        kind = "temperature_alarm" if n.event_type == "TMA" else "temperature_prealarm"
    rules = [{"rule": t.rule, "preset": t.preset, **t.values} for t in n.thermometry if t.rule][:8]
    detail: dict[str, Any] = {**n.info, "channel": n.channel}
    if rules:
        detail["rules"] = rules
    return messages.event(
        site,
        device_id,
        # A patrolling camera may post two presets' verdicts in one second.
        seq=_seq(n, "verdict", *(f"{t.rule}@{t.preset}" for t in n.thermometry)),
        event_type=kind,
        detail=detail,
        ts=n.at,
        received_at=received_at,
    )


def refusal(
    site: str,
    *,
    peer: str,
    refused: Refused,
    raw: bytes,
    received_at: datetime,
    device_id: str | None,
) -> Inbound:
    return messages.refusal(
        GATEWAY,
        site,
        peer=peer,
        reason=refused.reason,
        detail=refused.detail,
        raw=raw,
        received_at=received_at,
        device_id=device_id,
    )
