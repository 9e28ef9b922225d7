"""Replay of a recording through the broker, at N x speed, with device time moved to now.

Time shifting: a recording's device time is moved by one constant, so every interval between
messages stays as recorded (rules that look at rates and dwell times see the same fire), and
so that no message carries a time later than the moment it is published: at speed >= 1 the
last message's ``ts`` is the wall-clock time at which it goes out ("the recording ends
now"), at speed 0 the last ``ts`` is the replay's start, and slower than real time the first
``ts`` is the start. ``ts`` is rewritten in JSON payloads and in frame headers; ``seq`` is
kept: with a new ``ts`` the (ts, seq) pair is new, so the store never mistakes a replay for
duplicates, whereas a ``--keep-time`` replay of the same file is recognised as one.
Payloads without a readable ``ts`` (recorded garbage) go out unchanged.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from simulators.errors import InputError
from simulators.progress import Progress
from simulators.publisher import Publisher
from simulators.recording import Recorded

Source = Callable[[], Iterable[Recorded]]
_SLEEP_SLICE_S = 0.25


@dataclass(frozen=True, slots=True)
class ReplayResult:
    sent: int
    seconds: float
    shift_ms: int

    @property
    def rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0


def _is_frame(topic: str) -> bool:
    return topic.endswith("/frame")


def _header(topic: str, payload: bytes) -> tuple[dict[str, object], bytes] | None:
    """The JSON object holding ``ts`` and what follows it (a frame's pixels), if readable."""
    try:
        if _is_frame(topic):
            newline = payload.find(b"\n", 0, 1024)
            if newline < 0:
                return None
            head, rest = orjson.loads(payload[:newline]), payload[newline:]
        else:
            head, rest = orjson.loads(payload), b""
    except orjson.JSONDecodeError:
        return None
    return (head, rest) if isinstance(head, dict) and "ts" in head else None


def _moment(ts: object) -> datetime | None:
    if not isinstance(ts, str):
        return None
    try:
        moment = datetime.fromisoformat(ts)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def ts_ms_of(topic: str, payload: bytes) -> int | None:
    """Device time in epoch milliseconds, from either spelling the contract allows."""
    found = _header(topic, payload)
    if found is None:
        return None
    ts = found[0]["ts"]
    if isinstance(ts, int) and not isinstance(ts, bool):
        return ts
    moment = _moment(ts)
    return None if moment is None else round(moment.timestamp() * 1000)


def with_shifted_ts(topic: str, payload: bytes, shift_ms: int) -> bytes:
    """The payload with ``ts`` moved by ``shift_ms``, in the spelling it came in."""
    found = _header(topic, payload)
    if found is None or shift_ms == 0:
        return payload
    head, rest = found
    ts = head["ts"]
    moment = _moment(ts)
    if isinstance(ts, int) and not isinstance(ts, bool):
        head["ts"] = ts + shift_ms
    elif moment is not None:
        head["ts"] = (moment + timedelta(milliseconds=shift_ms)).isoformat(timespec="milliseconds")
    else:
        return payload
    return orjson.dumps(head) + rest


def with_site(topic: str, site: str) -> str:
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "fw" and parts[1] == "v1":
        parts[2] = site
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class _Survey:
    count: int
    t_first: float
    t_last: float
    anchor_ms: int | None  # device time at t = 0, by the median over messages


def _survey(source: Source) -> _Survey:
    """First pass: checks every line before anything is published, and finds the anchor."""
    count, t_first, t_last = 0, 0.0, 0.0
    offsets: list[int] = []
    for message in source():
        if count == 0:
            t_first = message.t
        t_last = message.t
        count += 1
        ts = ts_ms_of(message.topic, message.payload)
        if ts is not None:
            offsets.append(ts - round(message.t * 1000))
    anchor = round(statistics.median(offsets)) if offsets else None
    return _Survey(count, t_first, t_last, anchor)


def replay(
    source: Source,
    *,
    publisher: Publisher,
    speed: float,
    keep_time: bool,
    site: str | None = None,
    progress: Progress | None = None,
) -> ReplayResult:
    """Publishes ``source`` (called twice: once to check and survey, once to send)."""
    if speed < 0:
        raise InputError("--speed must be >= 0 (0: as fast as the in-flight window allows)")
    survey = _survey(source)
    if progress is not None:
        progress.total = survey.count
    started_wall, started = time.time(), time.monotonic()
    shift_ms = 0
    if not keep_time and survey.anchor_ms is not None:
        span = survey.t_last - survey.t_first
        compressed = span / speed if speed > 0 else 0.0
        target_anchor_s = started_wall - survey.t_first + min(compressed - span, 0.0)
        shift_ms = round(target_anchor_s * 1000) - survey.anchor_ms
    sent = 0
    for message in source():
        if speed > 0:
            due = started + (message.t - survey.t_first) / speed
            while (wait := due - time.monotonic()) > 0:
                time.sleep(min(wait, _SLEEP_SLICE_S))
                if progress is not None:
                    progress.update(sent)
        topic = with_site(message.topic, site) if site else message.topic
        publisher.publish(topic, with_shifted_ts(message.topic, message.payload, shift_ms))
        sent += 1
        if progress is not None:
            progress.update(sent)
    publisher.flush()
    return ReplayResult(sent, time.monotonic() - started, shift_ms)
