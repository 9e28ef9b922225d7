"""One rule's state over every device, as arrays: active or not, and since when its condition
has held (for dwell times). Stepping it tells which devices just raised, returned or held."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contract.alarms import Rule

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(slots=True)
class Step:
    """Indices into the stepped slots: rising edges, returns to normal, still active."""

    raised: I64
    cleared: I64
    held: I64


class Track:
    def __init__(self, capacity: int = 64) -> None:
        self.active: B = np.zeros(capacity, dtype=bool)
        self.since: F64 = np.full(capacity, np.nan)

    def ensure(self, size: int) -> None:
        if size > self.active.shape[0]:
            size = max(size, self.active.shape[0] + self.active.shape[0] // 4)
            grow = size - self.active.shape[0]
            self.active = np.concatenate([self.active, np.zeros(grow, dtype=bool)])
            self.since = np.concatenate([self.since, np.full(grow, np.nan)])

    def rows(self, slots: I64) -> tuple[B, F64]:
        return self.active[slots].copy(), self.since[slots].copy()

    def restore(self, slots: I64, saved: tuple[B, F64]) -> None:
        self.active[slots], self.since[slots] = saved

    def step(self, slots: I64, t: F64, *, on: B, off: B, dwell_s: F64 | float = 0.0) -> Step:
        """``on`` must hold for ``dwell_s`` of event time to raise; ``off`` returns an active
        rule to normal (a separate condition, so each rule can have hysteresis)."""
        since = np.where(on, np.where(np.isnan(self.since[slots]), t, self.since[slots]), np.nan)
        self.since[slots] = since
        active = self.active[slots]
        rise = ~active & on & (t - since >= dwell_s)
        clear = active & off
        self.active[slots] = (active | rise) & ~clear
        return Step(
            raised=np.flatnonzero(rise),
            cleared=np.flatnonzero(clear),
            held=np.flatnonzero(active & ~clear),
        )

    def set(self, slot: int, active: bool) -> None:
        """For the Python-side rules (events, ticks) that share the same state."""
        self.active[slot] = active
        self.since[slot] = np.nan


# Every rule's track, by scope (a metric, "event", "frame" or "tick") and rule.
Tracks = defaultdict[tuple[str, Rule], Track]
