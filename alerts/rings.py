"""Per-device recent samples of one metric, one row per device, so a batch is evaluated with
array operations over every device it touches instead of a Python loop per reading.

A device gets a row on its first sample of the metric: each ring holds only the devices that
report it, so a city of smoke detectors costs no electrical monitors' rows.

A ring keeps as many samples as its metric's rules read: ``DEPTH`` for a rate of rise,
``LEVEL_DEPTH`` for a level alone (a city's smoke detectors and leakage monitors, which would
otherwise cost 35 MB more). Besides them, each row keeps a robust exponentially weighted
baseline and spread: an anomaly needs the device's normal level over many minutes, and a median
over a window that long would cost a ring ten times deeper.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DEPTH = 32  # 30 s of history at 1 Hz for the rate of rise; half an hour at one per minute
LEVEL_DEPTH = 3  # the median of three that makes a level
CLIP_SIGMAS = 3.0  # a sample moves the baseline by at most this many spreads: spikes do not
SPREAD_CLIP_SIGMAS = 8.0

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


def _grown(array: npt.NDArray[np.generic], size: int, fill: object) -> npt.NDArray[np.generic]:
    extra = np.full((size - array.shape[0], *array.shape[1:]), fill, dtype=array.dtype)
    return np.concatenate([array, extra])


class MetricRing:
    def __init__(self, capacity: int = 64, *, depth: int = DEPTH) -> None:
        self.depth = depth
        self.t: F64 = np.full((capacity, depth), np.nan)
        self.v: npt.NDArray[np.float32] = np.full((capacity, depth), np.nan, dtype=np.float32)
        self.n: I64 = np.zeros(capacity, dtype=np.int64)
        self.last_t: F64 = np.full(capacity, -np.inf)
        self.first_t: F64 = np.full(capacity, np.nan)
        self.base: F64 = np.full(capacity, np.nan)
        self.spread: F64 = np.zeros(capacity)
        self.changed_at: F64 = np.full(capacity, np.nan)
        self.row_of: I64 = np.full(0, -1, dtype=np.int64)  # device slot -> row, -1: none yet
        self.used = 0

    def rows_for(self, slots: I64) -> I64:
        """The devices' rows, giving one to each device seen for the first time."""
        top = int(slots.max()) + 1
        if top > self.row_of.shape[0]:
            grow = max(top, self.row_of.shape[0] + self.row_of.shape[0] // 4) - self.row_of.shape[0]
            self.row_of = np.concatenate([self.row_of, np.full(grow, -1, dtype=np.int64)])
        rows = self.row_of[slots]
        new = np.unique(slots[rows < 0])
        if len(new):
            self.row_of[new] = np.arange(self.used, self.used + len(new))
            self.used += len(new)
            self.ensure(self.used)
            rows = self.row_of[slots]
        return rows

    @property
    def capacity(self) -> int:
        return int(self.n.shape[0])

    def ensure(self, size: int) -> None:
        if size <= self.capacity:
            return
        size = max(size, self.capacity + self.capacity // 4)  # a city: grow by a quarter
        self.t = _grown(self.t, size, np.nan)  # type: ignore[assignment]
        self.v = _grown(self.v, size, np.nan)  # type: ignore[assignment]
        self.n = _grown(self.n, size, 0)  # type: ignore[assignment]
        self.last_t = _grown(self.last_t, size, -np.inf)  # type: ignore[assignment]
        self.first_t = _grown(self.first_t, size, np.nan)  # type: ignore[assignment]
        self.base = _grown(self.base, size, np.nan)  # type: ignore[assignment]
        self.spread = _grown(self.spread, size, 0.0)  # type: ignore[assignment]
        self.changed_at = _grown(self.changed_at, size, np.nan)  # type: ignore[assignment]

    def rows(self, rows: I64) -> dict[str, npt.NDArray[np.generic]]:
        """A copy of these rows, to put back if the batch's transaction fails."""
        return {name: getattr(self, name)[rows].copy() for name in _FIELDS}

    def restore(self, rows: I64, saved: dict[str, npt.NDArray[np.generic]]) -> None:
        for name, values in saved.items():
            getattr(self, name)[rows] = values

    def push(self, slots: I64, t: F64, v: F64, *, tau_s: F64, min_sigma: F64) -> None:
        """Appends one sample per slot (slots unique), updating baseline and spread with the
        sample clipped to a few spreads, and remembers when the value last changed."""
        depth = self.depth
        previous = self.v[slots, (self.n[slots] - 1) % depth].astype(np.float64)
        level_before = self.level(slots)
        column = self.n[slots] % depth
        self.t[slots, column] = t
        self.v[slots, column] = v
        fresh = self.n[slots] == 0
        dt = np.where(fresh, 0.0, t - self.last_t[slots])
        # Plain averaging over the first samples, so a new device's spread is learnt in its
        # first minute rather than over the baseline's much longer memory.
        alpha = np.maximum(-np.expm1(-dt / tau_s), 1.0 / (self.n[slots] + 1))
        base = np.where(fresh, v, self.base[slots])
        sigma = np.maximum(self.spread[slots], min_sigma)
        step = np.clip(v - base, -CLIP_SIGMAS * sigma, CLIP_SIGMAS * sigma)
        base = base + alpha * step
        spread = np.where(fresh, 0.0, self.spread[slots])
        # Noise, not trend: the spread follows each sample's distance from the level just
        # before it, so a slow rise (a smouldering room) does not widen it; spikes and bursts do.
        jump = np.where(fresh, 0.0, np.abs(v - level_before))
        deviation = np.minimum(jump, SPREAD_CLIP_SIGMAS * sigma)
        spread = spread + alpha * (deviation - spread)
        self.base[slots] = base
        self.spread[slots] = spread
        self.first_t[slots] = np.where(fresh, t, self.first_t[slots])
        changed = fresh | (previous != v.astype(np.float32))
        self.changed_at[slots] = np.where(changed, t, self.changed_at[slots])
        self.last_t[slots] = t
        self.n[slots] += 1

    def level(self, slots: I64) -> F64:
        """Median of the last three samples: one spiking sample never makes a level."""
        n, depth = self.n[slots], self.depth
        last = self.v[slots, (n - 1) % depth].astype(np.float64)
        two = np.where(n >= 2, self.v[slots, (n - 2) % depth], last)
        three = np.where(n >= 3, self.v[slots, (n - 3) % depth], last)
        return median3(last, two, three)

    def rate_per_min(self, slots: I64, window_s: F64, level: F64) -> F64:
        """Rise per minute from the level then (the newest sample at least ``window_s`` older)
        to ``level`` now; NaN while the ring holds no sample that old."""
        if self.depth < DEPTH:
            raise ValueError(f"a ring {self.depth} samples deep is too shallow for a rate")
        depth = self.depth
        rows = np.arange(len(slots))
        now = self.last_t[slots]
        times = self.t[slots]
        old = times <= (now - window_s)[:, None]
        pick = np.argmax(np.where(old, times, -np.inf), axis=1)
        then_t = times[rows, pick]
        # The level then, like the level now: a median of three, of the samples beside it.
        # A neighbour far from it in time (wrapped around the ring) counts as the sample itself.
        near = 0.5 * (now - then_t)
        centre = self.v[slots, pick].astype(np.float64)
        around = []
        for k in (-1, 1):
            column = (pick + k) % depth
            close = np.abs(times[rows, column] - then_t) <= near
            around.append(np.where(close, self.v[slots, column], centre))
        rate = (level - median3(around[0], centre, around[1])) / np.maximum(now - then_t, 1e-9)
        return np.where(old.any(axis=1), rate * 60.0, np.nan)


def median3(
    a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], c: npt.NDArray[np.floating]
) -> F64:
    """Element-wise median of three arrays, without sorting."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    median: F64 = np.maximum(low, np.minimum(high, c)).astype(np.float64)
    return median


_FIELDS = ("t", "v", "n", "last_t", "first_t", "base", "spread", "changed_at")
