"""One device's side of contract v1: its topics, its sequence number, its message bodies.

Every simulated message is built here, through ``contract.topics.topic_for`` and
``contract.frames.encode_frame``, so the simulators cannot drift from what ingest accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

from contract.frames import encode_frame
from contract.topics import Channel, topic_for
from simulators.environment import GUANGZHOU

Message = tuple[str, bytes]


@dataclass(frozen=True, slots=True)
class Status:
    """A heartbeat's contents; mains-powered devices have no battery to report."""

    rssi_dbm: float
    firmware: str
    battery_pct: float | None = None


def rfc3339(ts_ms: int) -> str:
    """Guangzhou local time with its offset, as a field gateway would stamp an event."""
    moment = datetime.fromtimestamp(ts_ms / 1000, tz=UTC).astimezone(GUANGZHOU)
    return moment.isoformat(timespec="milliseconds")


class Wire:
    """Readings, status and frames carry epoch milliseconds; events carry RFC 3339 local time,
    so both spellings of ``ts`` the contract allows travel through the pipeline."""

    __slots__ = ("_event", "_frame", "_reading", "_status", "device_id", "seq")

    def __init__(self, site: str, device_id: str, *, seq: int = 0) -> None:
        self.device_id = device_id
        self.seq = seq
        self._reading = topic_for(site, device_id, Channel.READING)
        self._event = topic_for(site, device_id, Channel.EVENT)
        self._status = topic_for(site, device_id, Channel.STATUS)
        self._frame = topic_for(site, device_id, Channel.FRAME)

    def _next(self) -> int:
        self.seq += 1
        return self.seq

    def skip(self) -> None:
        """A message lost on the radio: its sequence number is used up, so the gap shows."""
        self.seq += 1

    def reading(
        self, ts_ms: int, values: dict[str, float], *, region: str | None = None
    ) -> Message:
        body: dict[str, Any] = {"ts": ts_ms, "seq": self._next(), "values": values}
        if region is not None:
            body["region"] = region
        return self._reading, orjson.dumps(body)

    def event(self, ts_ms: int, event_type: str, detail: dict[str, Any] | None = None) -> Message:
        body: dict[str, Any] = {"ts": rfc3339(ts_ms), "seq": self._next(), "type": event_type}
        if detail:
            body["detail"] = detail
        return self._event, orjson.dumps(body)

    def status(self, ts_ms: int, status: Status) -> Message:
        body: dict[str, Any] = {"ts": ts_ms, "seq": self._next()}
        if status.battery_pct is not None:
            body["battery_pct"] = status.battery_pct
        body["rssi_dbm"] = status.rssi_dbm
        body["firmware"] = status.firmware
        return self._status, orjson.dumps(body)

    def frame(
        self, ts_ms: int, temps_c: npt.NDArray[np.floating], *, preset: str | None = None
    ) -> Message:
        return self._frame, encode_frame(temps_c, ts=ts_ms, seq=self._next(), preset=preset)
