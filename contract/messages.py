"""Decoded messages and rejections: what the codec hands to the batch writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import numpy as np
import numpy.typing as npt

from contract.topics import Channel

# What a device time naming no moment stands for (a clock never set: 1970 after a power cut,
# a GB/T 26875.3 label of zeros): one moment outside any time window, always the same, so a
# retransmission is still the same message. Ingest then takes it as any wrong clock: the
# clock-exempt events (contract/kinds.py) re-stamped with their arrival, the rest dead-lettered
# as stale. For the gateways, whose devices' clocks are not ours to set; the contract's own
# ``ts`` outside 2000-2100 is a unit mistake and refused.
NO_MOMENT = datetime(2000, 1, 1, tzinfo=UTC)


class Reason(StrEnum):
    """Why a message was dead-lettered; one per rejection, stable for dashboards and alerts."""

    BAD_TOPIC = "bad_topic"
    UNKNOWN_DEVICE = "unknown_device"
    MALFORMED = "malformed"
    SCHEMA = "schema"
    OUT_OF_RANGE = "out_of_range"
    FUTURE_TIMESTAMP = "future_timestamp"
    STALE = "stale"
    OVERSIZE = "oversize"
    KIND_MISMATCH = "kind_mismatch"
    # Gateways (gateways/): refused before it was a contract message.
    BAD_FRAME = "bad_frame"  # a GB/T 26875.3 frame with a wrong checksum, length or end mark
    BAD_SIGNATURE = "bad_signature"  # a push whose signature or credentials do not check


@dataclass(frozen=True, slots=True)
class Rejection:
    reason: Reason
    detail: str
    device_id: str | None = None


@dataclass(slots=True)
class Decoded:
    """A valid message. ``values`` holds every numeric metric it carries, frames included.

    Not frozen: a frozen dataclass sets each field through ``object.__setattr__``, which
    costs a third of the decode time on the ingest hot path (see ``Inbound``).
    """

    site: str
    device_id: str
    channel: Channel
    ts: datetime
    seq: int
    values: dict[str, float] = field(default_factory=dict)
    region: str | None = None
    preset: str | None = None
    event_type: str | None = None
    detail: dict[str, Any] | None = None
    firmware: str | None = None
    frame: npt.NDArray[np.float32] | None = None  # °C per pixel, for the engine's analysis
    # The device's own ``ts`` when it was outside the time window and the message (a fire or
    # tamper event) was re-stamped with its arrival instead; None for every other message.
    device_ts: datetime | None = None

    def clock_skew(self) -> dict[str, Any] | None:
        """What a re-stamped message's event row and alerts say of the device's clock."""
        if self.device_ts is None:
            return None
        return {
            "device_ts": self.device_ts.isoformat(),
            "skew_s": round((self.device_ts - self.ts).total_seconds(), 3),
        }
