"""One rule's state over every device, as arrays: active or not, and since when its condition
has held (for dwell times). Stepping it tells which devices just raised, returned or held."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from alerts.rings import firsts, lasts
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

    def step(self, rows: I64, t: F64, *, on: B, off: B, dwell_s: F64 | float = 0.0) -> Step:
        """``on`` must hold for ``dwell_s`` of event time to raise; ``off`` returns an active
        rule to normal (a separate condition, so each rule can have hysteresis).

        A row's samples are consecutive and in time order, each judged on the state the one
        before left, without a pass per sample: each sample maps the state before it to the
        state after, to a constant (it raises, or returns) or to itself, or flips it when it
        both returns and raises; so the state after a sample is the newest constant's, flipped
        once per flip since."""
        first = firsts(rows)
        if first.all():  # one sample per row: a single step, the common case of live traffic
            return self._step_once(rows, t, on=on, off=off, dwell_s=dwell_s)
        count = len(rows)
        index = np.arange(count)
        head = np.maximum.accumulate(np.where(first, index, 0))
        was_on = np.zeros(count, dtype=bool)
        was_on[1:] = on[:-1]
        began = np.maximum.accumulate(np.where(on & (first | ~was_on), index, 0))
        stored = self.since[rows[began]]
        carried = first[began] & ~np.isnan(stored)  # a run from before the batch goes on
        since = np.where(on, np.where(carried, stored, t[began]), np.nan)
        rise_ok = on & (t - since >= dwell_s)
        stored_active = self.active[rows]
        fixed = np.maximum.accumulate(np.where(rise_ok != off, index, -1))
        flips = np.cumsum(off & rise_ok)
        fixed_here = fixed >= head
        since_fixed = np.where(fixed_here, fixed, head - 1)
        flipped: I64 = flips - np.where(since_fixed >= 0, flips[since_fixed], 0)
        after = np.where(fixed_here, rise_ok[fixed], stored_active) ^ (flipped % 2 == 1)
        before = stored_active.copy()
        before[~first] = after[np.flatnonzero(~first) - 1]
        last = lasts(first)
        self.since[rows[last]] = since[last]
        self.active[rows[last]] = after[last]
        rise = ~before & rise_ok
        clear = before & off
        return Step(
            raised=np.flatnonzero(rise),
            cleared=np.flatnonzero(clear),
            held=np.flatnonzero(before & ~clear),
        )

    def _step_once(self, rows: I64, t: F64, *, on: B, off: B, dwell_s: F64 | float) -> Step:
        since = np.where(on, np.where(np.isnan(self.since[rows]), t, self.since[rows]), np.nan)
        self.since[rows] = since
        active = self.active[rows]
        rise = ~active & on & (t - since >= dwell_s)
        clear = active & off
        self.active[rows] = (active | rise) & ~clear
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
