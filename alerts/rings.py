"""Per-device recent samples of one metric, one row per device, so a batch is evaluated with
array operations over every device it touches instead of a Python loop per reading.

A device gets a row on its first sample of the metric: each ring holds only the devices that
report it, so a city of smoke detectors costs no electrical monitors' rows.

A ring keeps as many samples as its metric's rules read: ``DEPTH`` for a rate of rise,
``LEVEL_DEPTH`` for a level alone (a city's smoke detectors and leakage monitors, which would
otherwise cost 35 MB more). Besides them, each row keeps a robust exponentially weighted
baseline and spread: an anomaly needs the device's normal level over many minutes, and a median
over a window that long would cost a ring ten times deeper.

Each row also keeps the device's own trend: an exponentially weighted least-squares line through
its samples (five running sums, kept relative to the newest sample so they stay small), each
sample clipped to a few spreads of the line before it counts, so a fire's minute bends it
little. A room warming steadily (sun, heating, a previous fire) is judged against that line,
not against a level it has long left. A sample after a gap of ``rewarm_s`` or more starts the
row's baseline, spread and trend afresh: a detector back from an outage, or swapped for a new
one, learns its room again before any statistical rule may judge it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

DEPTH = 32  # 30 s of history at 1 Hz for the rate of rise; half an hour at one per minute
LEVEL_DEPTH = 3  # the median of three that makes a level
CLIP_SIGMAS = 3.0  # a sample moves the baseline by at most this many spreads: spikes do not
SPREAD_CLIP_SIGMAS = 8.0
TREND_SIGMAS = 2.0  # a trend counts only by how far it is above this many standard errors

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
        self.since: I64 = np.zeros(capacity, dtype=np.int64)  # samples since the (re)start
        # Only a ring deep enough for a rate keeps a trend: the level metrics' rings (a city's
        # smoke chambers and leakage monitors) would pay 48 bytes a row for nothing.
        self.trended = depth >= DEPTH
        self.fields = _FIELDS if self.trended else _LEVEL_FIELDS
        keep = capacity if self.trended else 0
        # The trend's weighted sums: weight, u, u², v, u·v, with u the time before the newest.
        self.s0: F64 = np.zeros(keep)
        self.su: F64 = np.zeros(keep)
        self.suu: F64 = np.zeros(keep)
        self.sv: F64 = np.zeros(keep)
        self.suv: F64 = np.zeros(keep)
        # Event time of the device's newest suspect sample (alerts.metric_rules.heat): what its
        # neighbours and its own smoke chamber read as corroboration.
        self.hot_t: F64 = np.full(keep, -np.inf)
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
        self.since = _grown(self.since, size, 0)  # type: ignore[assignment]
        if self.trended:
            for name in _TREND:
                setattr(self, name, _grown(getattr(self, name), size, 0.0))
            self.hot_t = _grown(self.hot_t, size, -np.inf)  # type: ignore[assignment]

    def rows(self, rows: I64) -> dict[str, npt.NDArray[np.generic]]:
        """A copy of these rows, to put back if the batch's transaction fails."""
        return {name: getattr(self, name)[rows].copy() for name in self.fields}

    def restore(self, rows: I64, saved: dict[str, npt.NDArray[np.generic]]) -> None:
        for name, values in saved.items():
            getattr(self, name)[rows] = values

    def push(
        self, rows: I64, t: F64, v: F64, *, tau_s: F64, min_sigma: F64, rewarm_s: F64
    ) -> Pushed:
        """Appends samples, a row's consecutive and in time order, updating baseline, spread
        and trend with each sample clipped to a few spreads, and remembering when the value
        last changed.

        Returns the ring as it stood after each sample (one row per sample), so a device's
        samples are judged together rather than one round each. Only the baseline, spread and
        trend are carried sample to sample: clipped, their recursion has no exact closed form."""
        depth, count = self.depth, len(rows)
        first = firsts(rows)
        index = np.arange(count)
        head = np.maximum.accumulate(np.where(first, index, 0))
        n0 = self.n[rows]
        n_before = n0 + index - head
        after = MetricRing(0, depth=depth)
        after.n = n_before + 1
        # Each sample's ring: the ring as it was, with this batch's samples up to it (at most
        # the ring's depth of them) written over their columns.
        back = np.minimum(n_before - n0 + 1, depth)
        owner = np.repeat(np.arange(count), back)
        source = owner - (np.arange(len(owner)) - np.repeat(np.cumsum(back) - back, back))
        column = n_before[source] % depth
        v32 = v.astype(np.float32)
        after.t, after.v = self.t[rows], self.v[rows]
        after.t[owner, column], after.v[owner, column] = t[source], v32[source]
        after.last_t = t
        shifted = np.maximum(index - 1, 0)  # the sample before, within the row
        previous = np.where(first, self.v[rows, (n0 - 1) % depth], v32[shifted].astype(np.float64))
        changed = (n_before == 0) | (previous != v32)
        newest = np.maximum.accumulate(np.where(changed, index, -1))
        after.changed_at = np.where(newest >= head, t[newest], self.changed_at[rows])
        level = after.level(index)
        level_before = level[shifted]
        level_before[first] = self.level(rows[first])
        gap = t - np.where(first, self.last_t[rows], t[shifted])
        # A new row, or one back after a gap, starts its baseline, spread and trend afresh.
        fresh = (n_before == 0) | (gap >= rewarm_s)
        dt = np.where(fresh, 0.0, gap)
        restart = np.maximum.accumulate(np.where(fresh, index, -1))
        restarted = restart >= head
        after.first_t = np.where(restarted, t[np.maximum(restart, 0)], self.first_t[rows])
        after.since = np.where(restarted, index - restart + 1, self.since[rows] + index - head + 1)
        # Plain averaging over the first samples, so a new device's spread is learnt in its
        # first minute rather than over the baseline's much longer memory.
        alpha = np.maximum(-np.expm1(-dt / tau_s), 1.0 / after.since)
        # Noise, not trend: the spread follows each sample's distance from the level just
        # before it, so a slow rise (a smouldering room) does not widen it; spikes and bursts do.
        jump = np.where(fresh, 0.0, np.abs(v - level_before))
        base, spread, predicted, slope = self._carry(
            rows,
            first,
            after,
            v,
            fresh=fresh,
            dt=dt,
            alpha=alpha,
            decay=np.exp(-dt / tau_s),
            jump=jump,
            min_sigma=min_sigma,
        )
        if self.trended:
            after.hot_t = self.hot_t[rows]
        for name in self.fields:
            if name != "hot_t":
                getattr(self, name)[rows[lasts(first)]] = getattr(after, name)[lasts(first)]
        return Pushed(after, level, base, spread, predicted, slope)

    def _carry(
        self,
        rows: I64,
        first: B,
        after: MetricRing,
        v: F64,
        *,
        fresh: B,
        dt: F64,
        alpha: F64,
        decay: F64,
        jump: F64,
        min_sigma: F64,
    ) -> tuple[F64, F64, F64, F64]:
        """Baseline, spread and trend, sample by sample (one pass per depth, every row at
        once); fills ``after``'s and returns the baseline and spread before each sample, and
        the trend line's value and warming rate at it."""
        count = len(rows)
        base, spread = np.empty(count), np.empty(count)
        predicted, slope = np.empty(count), np.empty(count)
        after.base, after.spread = np.empty(count), np.empty(count)
        sums = {name: np.empty(count) for name in _TREND}
        starts, last = np.flatnonzero(first), lasts(first)
        sizes = last - starts + 1
        row_base, row_spread = self.base[rows[starts]], self.spread[rows[starts]]
        trend = _TREND if self.trended else ()
        row = {name: getattr(self, name)[rows[starts]] for name in trend}
        for k in range(int(sizes.max(initial=0))):
            live = sizes > k
            i = starts[live] + k
            base[i], spread[i] = row_base[live], row_spread[live]
            sigma = np.maximum(spread[i], min_sigma[i])
            new = fresh[i]
            moved = np.where(new, v[i], base[i])
            step = np.clip(v[i] - moved, -CLIP_SIGMAS * sigma, CLIP_SIGMAS * sigma)
            moved = moved + alpha[i] * step
            widened = np.where(new, 0.0, spread[i])
            deviation = np.minimum(jump[i], SPREAD_CLIP_SIGMAS * sigma)
            widened = widened + alpha[i] * (deviation - widened)
            after.base[i], after.spread[i] = moved, widened
            row_base[live], row_spread[live] = moved, widened
            if not self.trended:
                continue
            line, rise = _trend_step(row, live, dt=dt[i], decay=decay[i], new=new, sigma=sigma)
            predicted[i] = np.where(new, v[i], line)
            slope[i] = np.where(new, 0.0, rise)
            # The sample counts towards the line within a few spreads of it.
            counted = np.where(
                new, v[i], np.clip(v[i], line - CLIP_SIGMAS * sigma, line + CLIP_SIGMAS * sigma)
            )
            row["s0"][live] += 1.0
            row["sv"][live] += counted
            for name in _TREND:
                sums[name][i] = row[name][live]
        if not self.trended:
            return base, spread, base, np.zeros(count)
        for name in _TREND:
            setattr(after, name, sums[name])
        return base, spread, predicted, slope

    def level(self, slots: I64) -> F64:
        """Median of the last three samples: one spiking sample never makes a level."""
        n, depth = self.n[slots], self.depth
        last = self.v[slots, (n - 1) % depth].astype(np.float64)
        two = np.where(n >= 2, self.v[slots, (n - 2) % depth], last)
        three = np.where(n >= 3, self.v[slots, (n - 3) % depth], last)
        return median3(last, two, three)

    def rate_per_min(self, slots: I64 | slice, window_s: F64, level: F64) -> F64:
        """Rise per minute from the level then (the newest sample at least ``window_s`` older)
        to ``level`` now; NaN while the ring holds no sample that old. ``slots`` may be a
        slice: the rings after each sample are read whole, without a copy."""
        if self.depth < DEPTH:
            raise ValueError(f"a ring {self.depth} samples deep is too shallow for a rate")
        depth = self.depth
        rows = np.arange(len(level))
        now = self.last_t[slots]
        times, values = self.t[slots], self.v[slots]
        old = times <= (now - window_s)[:, None]
        pick = np.argmax(np.where(old, times, -np.inf), axis=1)
        then_t = times[rows, pick]
        # The level then, like the level now: a median of three, of the samples beside it.
        # A neighbour far from it in time (wrapped around the ring) counts as the sample itself.
        near = 0.5 * (now - then_t)
        centre = values[rows, pick].astype(np.float64)
        around = []
        for k in (-1, 1):
            column = (pick + k) % depth
            close = np.abs(times[rows, column] - then_t) <= near
            around.append(np.where(close, values[rows, column], centre))
        rate = (level - median3(around[0], centre, around[1])) / np.maximum(now - then_t, 1e-9)
        return np.where(old.any(axis=1), rate * 60.0, np.nan)


@dataclass(slots=True)
class Pushed:
    """The ring and level after each pushed sample, and the baseline and spread from before
    it: a rise is measured against what was normal until then. ``trend`` is the device's own
    line as it stood before the sample, at the sample's time, and ``slope`` its warming rate
    (°C/s, never below 0: a cooling room's line is not extrapolated, so the end of cooling is
    not a rise)."""

    after: MetricRing
    level: F64
    base: F64
    spread: F64
    trend: F64
    slope: F64


def _trend_step(
    row: dict[str, F64], live: B, *, dt: F64, decay: F64, new: B, sigma: F64
) -> tuple[F64, F64]:
    """Moves the live rows' sums to the new sample's time (decayed, relative to it, emptied
    where the row starts afresh); returns the line's value there and its significant warming
    rate (the slope less ``TREND_SIGMAS`` standard errors, at least 0)."""
    s0, su, suu = row["s0"][live], row["su"][live], row["suu"][live]
    sv, suv = row["sv"][live], row["suv"][live]
    keep = np.where(new, 0.0, decay)
    suu = (suu - 2.0 * dt * su + dt * dt * s0) * keep
    suv = (suv - dt * sv) * keep
    su = (su - dt * s0) * keep
    s0, sv = s0 * keep, sv * keep
    row["s0"][live], row["su"][live], row["suu"][live] = s0, su, suu
    row["sv"][live], row["suv"][live] = sv, suv
    spread_u = s0 * suu - su * su
    fitted = (s0 >= 2.0) & (spread_u > 1e-9 * np.maximum(s0, 1.0) ** 2)
    safe = np.where(fitted, spread_u, 1.0)
    raw = np.where(fitted, (s0 * suv - su * sv) / safe, 0.0)
    error = sigma * np.sqrt(np.where(fitted, s0 / safe, 0.0))
    rise = np.maximum(raw - TREND_SIGMAS * error, 0.0)
    weight = np.maximum(s0, 1e-300)
    mean_v = np.where(s0 > 0, sv / weight, 0.0)
    mean_u = np.where(s0 > 0, su / weight, 0.0)
    return mean_v - rise * mean_u, rise


def firsts(rows: I64) -> B:
    """Which samples are their row's first, the samples of a row being consecutive."""
    first = np.ones(len(rows), dtype=bool)
    first[1:] = rows[1:] != rows[:-1]
    return first


def lasts(first: B) -> I64:
    """Each row's last sample, given which samples are their row's first."""
    return np.flatnonzero(np.append(first[1:], True))


def median3(
    a: npt.NDArray[np.floating], b: npt.NDArray[np.floating], c: npt.NDArray[np.floating]
) -> F64:
    """Element-wise median of three arrays, without sorting."""
    low, high = np.minimum(a, b), np.maximum(a, b)
    median: F64 = np.maximum(low, np.minimum(high, c)).astype(np.float64)
    return median


_TREND = ("s0", "su", "suu", "sv", "suv")
_FIELDS = (
    "t",
    "v",
    "n",
    "last_t",
    "first_t",
    "base",
    "spread",
    "changed_at",
    "since",
    *_TREND,
    "hot_t",
)
_LEVEL_FIELDS = tuple(name for name in _FIELDS if name not in (*_TREND, "hot_t"))
