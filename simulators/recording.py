"""The project's recording format: JSON lines, one message each, in time order.

    {"t": 12.5, "topic": "fw/v1/zilai/SD-0001/reading", "payload": {"ts": ..., ...}}
    {"t": 13.0, "topic": "fw/v1/zilai/TC-01/frame", "payload_b64": "eyJ0cyI6..."}

``t`` is seconds from the start of the recording. A payload that is a one-line JSON object
is kept as an object, so recordings can be read and grepped; anything else (frames,
malformed messages worth replaying) is base64.
"""

from __future__ import annotations

import base64
import binascii
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from simulators.errors import InputError

LINE_SHAPE = (
    'each line must be one JSON object {"t": seconds, "topic": "fw/v1/...", "payload": {...}}, '
    'or with "payload_b64": "<base64>" instead of "payload"'
)


@dataclass(frozen=True, slots=True)
class Recorded:
    t: float
    topic: str
    payload: bytes


def encode_line(t: float, topic: str, payload: bytes) -> bytes:
    head = b'{"t":' + orjson.dumps(round(t, 3)) + b',"topic":' + orjson.dumps(topic)
    if not topic.endswith("/frame") and b"\n" not in payload and b"\r" not in payload:
        try:
            is_object = isinstance(orjson.loads(payload), dict)
        except orjson.JSONDecodeError:
            is_object = False
        if is_object:
            return head + b',"payload":' + payload + b"}\n"
    return head + b',"payload_b64":"' + base64.b64encode(payload) + b'"}\n'


def write_jsonl(path: Path, messages: Iterable[tuple[float, str, bytes]]) -> int:
    count = 0
    with path.open("wb") as out:
        for t, topic, payload in messages:
            out.write(encode_line(t, topic, payload))
            count += 1
    return count


def _fail(path: Path, number: int, problem: str) -> InputError:
    return InputError(f"{path}, line {number}: {problem}; {LINE_SHAPE}. Fix or delete the line.")


def _parse(path: Path, number: int, line: bytes) -> Recorded:
    try:
        item: Any = orjson.loads(line)
    except orjson.JSONDecodeError as exc:
        raise _fail(path, number, f"not JSON ({exc})") from None
    if not isinstance(item, dict):
        raise _fail(path, number, "not a JSON object")
    unknown = set(item) - {"t", "topic", "payload", "payload_b64"}
    if unknown:
        raise _fail(path, number, f"unknown field(s) {', '.join(sorted(unknown))}")
    t = item.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t) or t < 0:
        raise _fail(path, number, "'t' must be a number of seconds >= 0")
    topic = item.get("topic")
    if not isinstance(topic, str) or not topic or "+" in topic or "#" in topic:
        raise _fail(path, number, "'topic' must be a non-empty topic without wildcards")
    if ("payload" in item) == ("payload_b64" in item):
        raise _fail(path, number, "give exactly one of 'payload' and 'payload_b64'")
    if "payload" in item:
        if not isinstance(item["payload"], dict):
            raise _fail(path, number, "'payload' must be a JSON object (use payload_b64 else)")
        payload = orjson.dumps(item["payload"])
    else:
        try:
            payload = base64.b64decode(item["payload_b64"], validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise _fail(path, number, "'payload_b64' is not base64") from None
    return Recorded(float(t), topic, payload)


def read_jsonl(path: Path) -> Iterator[Recorded]:
    """Validated as it goes: a bad line stops the reader with its number and the fix."""
    previous = 0.0
    with path.open("rb") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            recorded = _parse(path, number, line)
            if recorded.t < previous:
                raise InputError(
                    f"{path}, line {number}: t={recorded.t:g} comes before the previous line's "
                    f"t={previous:g}; a recording is in time order. Sort it by t."
                )
            previous = recorded.t
            yield recorded
