"""Leakage trend: residual current averaged into buckets over hours, one row per device, and a
least-squares slope over them. A slowly degrading insulation shows as a steady climb long
before it crosses the 300 mA pre-alarm; the daily load cycle climbs too, but not as steadily or
as far, which the slope and R² thresholds (docs/rules.md) separate."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

BUCKETS = 48  # a 4 h window in 5 min buckets
MIN_COVERAGE = 0.75  # fit only when the buckets span this share of the window

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
F32 = npt.NDArray[np.float32]

_FIELDS = ("mean", "start", "current", "total", "count", "n")


class TrendRing:
    def __init__(self, capacity: int = 64) -> None:
        # Means in float32: a city's 31,000 electrical monitors for half the memory, and no
        # worse a fit. Starts stay float64: a window that is not a multiple of 48 s has
        # fractional bucket starts.
        self.mean: F32 = np.full((capacity, BUCKETS), np.nan, dtype=np.float32)
        self.start: F64 = np.full((capacity, BUCKETS), np.nan)
        self.current: F64 = np.full(capacity, np.nan)  # start of the open bucket
        self.total: F64 = np.zeros(capacity)
        self.count: F64 = np.zeros(capacity)
        self.n: I64 = np.zeros(capacity, dtype=np.int64)  # closed buckets so far

    def ensure(self, size: int) -> None:
        have = self.n.shape[0]
        if size <= have:
            return
        grow = max(size, have + have // 4) - have
        self.mean = np.concatenate([self.mean, np.full((grow, BUCKETS), np.nan, np.float32)])
        self.start = np.concatenate([self.start, np.full((grow, BUCKETS), np.nan)])
        self.current = np.concatenate([self.current, np.full(grow, np.nan)])
        self.total = np.concatenate([self.total, np.zeros(grow)])
        self.count = np.concatenate([self.count, np.zeros(grow)])
        self.n = np.concatenate([self.n, np.zeros(grow, dtype=np.int64)])

    def rows(self, slots: I64) -> dict[str, npt.NDArray[np.generic]]:
        return {name: getattr(self, name)[slots].copy() for name in _FIELDS}

    def restore(self, slots: I64, saved: dict[str, npt.NDArray[np.generic]]) -> None:
        for name, values in saved.items():
            getattr(self, name)[slots] = values

    def push(self, slots: I64, t: F64, v: F64, *, window_s: F64) -> I64:
        """Adds one sample per slot; returns the indices (into ``slots``) whose bucket closed."""
        width = window_s / BUCKETS
        current = self.current[slots]
        opened = np.isnan(current)
        closing = ~opened & (t >= current + width)
        if closing.any():
            c = slots[closing]
            column = self.n[c] % BUCKETS
            self.mean[c, column] = self.total[c] / np.maximum(self.count[c], 1)
            self.start[c, column] = self.current[c]
            self.n[c] += 1
        restart = opened | closing
        self.current[slots] = np.where(restart, t - np.mod(t, width), current)
        self.total[slots] = np.where(restart, 0.0, self.total[slots]) + v
        self.count[slots] = np.where(restart, 0.0, self.count[slots]) + 1
        return np.flatnonzero(closing)

    def fit(self, slots: I64, window_s: F64) -> tuple[F64, F64]:
        """Slope in mA per hour and R² of the buckets inside the window; NaN when they cover
        too little of it."""
        x = self.start[slots]
        y = self.mean[slots].astype(np.float64)
        newest = np.nanmax(np.where(np.isnan(x), -np.inf, x), axis=1)
        inside = ~np.isnan(x) & (x > (newest - window_s)[:, None])
        k = inside.sum(axis=1)
        hours = np.where(inside, (x - newest[:, None]) / 3600.0, 0.0)
        ys = np.where(inside, y, 0.0)
        mx = hours.sum(axis=1) / np.maximum(k, 1)
        my = ys.sum(axis=1) / np.maximum(k, 1)
        dx = np.where(inside, hours - mx[:, None], 0.0)
        dy = np.where(inside, ys - my[:, None], 0.0)
        sxx, syy, sxy = (dx * dx).sum(axis=1), (dy * dy).sum(axis=1), (dx * dy).sum(axis=1)
        slope = sxy / np.where(sxx > 0, sxx, np.nan)
        r2 = sxy * sxy / np.where((sxx > 0) & (syy > 0), sxx * syy, np.nan)
        covered = k >= MIN_COVERAGE * BUCKETS
        return np.where(covered, slope, np.nan), np.where(covered, r2, np.nan)
