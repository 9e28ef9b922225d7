"""The rules on readings, one function per metric family. Each judges a batch's samples of
the metric as arrays (a device's consecutive samples together), with the thresholds of each
device beside them (docs/rules.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from alerts.rings import MetricRing
from alerts.trend import TrendRing
from contract.alarms import AlertClass, Rule

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]

STUCK_MIN_SAMPLES = 20
EVERY = slice(None)  # every row of the rings after each sample, one per sample


class Emit(Protocol):
    def __call__(
        self,
        rule: Rule,
        cls: AlertClass,
        *,
        on: Mask,
        off: Mask,
        dwell: F64 | float = 0.0,
        rows: I64 | None = None,
        **detail: Any,
    ) -> None: ...


@dataclass(slots=True)
class Round:
    """Samples of one metric, a device's consecutive and in time order. ``s`` are the devices'
    slots (thresholds, alert state), ``rows`` their rows in the metric's ring (and trend),
    ``nth`` each sample's place among its device's. ``ring`` is the ring as it stood after
    each sample, sample i in row i. ``base``/``sigma`` are the baseline as it stood
    before the sample: a rise is measured against what was normal until then."""

    s: I64
    rows: I64
    nth: I64
    t: F64
    v: F64
    level: F64
    base: F64
    sigma: F64
    warm: Mask
    ring: MetricRing
    cfg: Callable[[str], F64]
    emit: Emit
    # The device's own trend line at each sample's time and its warming rate (°C/s, 0 until
    # warm), and each sample's message in the batch (alerts.rings.Pushed).
    trend: F64 = field(default_factory=lambda: np.zeros(0))
    slope: F64 = field(default_factory=lambda: np.zeros(0))
    index: I64 = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


class Neighbours(Protocol):
    """What the heat rule needs of the rest of the stream (alerts.rounds.Corroboration)."""

    def mark(self, suspect: Mask) -> None: ...

    def neighbours(self, candidates: I64) -> Mask: ...


def heat(r: Round, room: Neighbours) -> None:
    """Fixed temperature; rate of rise, judged against the room's own warming trend; and the
    early rise: a ceiling that climbs well above its own trend line and keeps climbing, which a
    neighbour's suspect reading lets count sooner. The suspect samples marked here are also what
    a multi-sensor's own smoke rule reads (smoke())."""
    fixed = r.cfg("fixed_c")
    r.emit(
        Rule.HEAT_FIXED, AlertClass.FIRE, on=r.v >= fixed, off=r.v < fixed - 2.0, threshold_c=fixed
    )
    trend = 60.0 * r.slope
    ror, limit = r.ring.rate_per_min(EVERY, r.cfg("ror_window_s"), r.level), r.cfg("ror_c_per_min")
    above = ror - trend
    classic = above >= limit
    excess = r.level - r.trend
    # Rising in both halves of the window: a fire grows, while a draught or a door's puff of
    # warm air is a step, flat before it and flat or falling after.
    window = r.cfg("early_window_s")
    whole = r.ring.rate_per_min(EVERY, window, r.level)
    newer = r.ring.rate_per_min(EVERY, window / 2, r.level)
    rising = np.fmin(newer, 2.0 * whole - newer) - trend
    need = np.maximum(r.cfg("early_rise_c"), r.cfg("early_z") * r.sigma)
    suspect = r.warm & (excess >= need / 2) & (rising > 0)
    room.mark(suspect)
    # Alone, a detector needs solo_factor times the rise and the rate a neighbour's agreement
    # lets count.
    rate, alone = r.cfg("early_ror_c_per_min"), r.cfg("solo_factor")
    solo = r.warm & (rising >= alone * rate) & (excess >= alone * need)
    fused = r.warm & (rising >= rate) & (excess >= need)
    candidates = np.flatnonzero(fused & ~solo & ~classic)
    together = np.zeros(len(r.s), dtype=bool)
    together[candidates] = room.neighbours(candidates)
    criterion = np.where(classic, "rate", np.where(solo, "early", "room"))
    r.emit(
        Rule.HEAT_ROR,
        AlertClass.FIRE,
        on=classic | solo | together,
        off=~(above >= limit / 2) & ~suspect,
        dwell=np.where(classic, r.cfg("heat_dwell_s"), r.cfg("early_dwell_s")),
        rate_c_per_min=ror,
        threshold_c_per_min=limit,
        trend_c_per_min=trend,
        excess_c=excess,
        criterion=criterion.astype(object),
    )
    anomaly(r, r.trend)


def anomaly(r: Round, baseline: F64) -> None:
    """A rise against the device's own recent baseline: room air on a detector (its trend
    line, so a room warming steadily is not a rise), a cable's temperature on an electrical
    monitor (with a larger default rise: load changes move it)."""
    need = np.maximum(r.cfg("anomaly_rise_c"), r.cfg("anomaly_z") * r.sigma)
    rise = r.level - baseline
    r.emit(
        Rule.HEAT_ANOMALY,
        AlertClass.PREALARM,
        on=r.warm & (rise >= need),
        off=rise < need / 2,
        dwell=r.cfg("heat_dwell_s"),
        baseline_c=baseline,
        rise_c=rise,
    )


def cable(r: Round) -> None:
    """Electrical warnings are pre-alarms; a cable that keeps heating past its rating is a fire."""
    pre, fire = r.cfg("cable_prealarm_c"), r.cfg("cable_fire_c")
    limit = r.cfg("cable_ror_c_per_min")
    ror = r.ring.rate_per_min(EVERY, 2 * r.cfg("ror_window_s"), r.level)
    rising = ror >= limit
    r.emit(
        Rule.CABLE_TEMP, AlertClass.PREALARM, on=r.v >= pre, off=r.v < pre - 3.0, threshold_c=pre
    )
    r.emit(
        Rule.CABLE_TEMP_ROR,
        AlertClass.PREALARM,
        on=rising,
        off=~(ror >= limit / 2),
        rate_c_per_min=ror,
        threshold_c_per_min=limit,
    )
    r.emit(
        Rule.CABLE_FIRE,
        AlertClass.FIRE,
        on=(r.v >= fire) | ((r.level >= pre) & rising),
        off=r.v < pre - 3.0,
        threshold_c=fire,
        rate_c_per_min=ror,
    )
    anomaly(r, r.base)


def smoke(r: Round, heat_suspect_at: Callable[[], F64]) -> None:
    """Obscuration; on a multi-sensor, smoke past the pre-alarm while its own heat rule finds
    the ceiling rising (within ``room_window_s``) is a fire at once: two physical signs of one
    fire agree, so neither needs to wait for its own alarm level."""
    pre, alarm = r.cfg("obscuration_prealarm_pct_per_m"), r.cfg("obscuration_alarm_pct_per_m")
    smoky = r.level >= pre
    hot = np.zeros(len(r.s), dtype=bool)
    if smoky.any():
        hot = smoky & (heat_suspect_at() >= r.t - r.cfg("room_window_s"))
    r.emit(
        Rule.SMOKE_PREALARM,
        AlertClass.PREALARM,
        on=r.level >= pre,
        off=r.level < 0.8 * pre,
        threshold_pct_per_m=pre,
    )
    r.emit(
        Rule.SMOKE_OBSCURATION,
        AlertClass.FIRE,
        on=(r.v >= alarm) | hot,
        off=r.level < 0.8 * pre,
        dwell=np.where(hot, 0.0, r.cfg("obscuration_dwell_s")),
        threshold_pct_per_m=alarm,
    )


def leakage(r: Round, trend: TrendRing) -> None:
    """GB 14287.2 residual current, and its trend over hours (judged as each bucket closes)."""
    limit = r.cfg("leakage_ma")
    r.emit(
        Rule.LEAKAGE,
        AlertClass.PREALARM,
        on=r.level >= limit,
        off=r.level < 0.9 * limit,
        threshold_ma=limit,
    )
    window = r.cfg("leakage_trend_window_s")
    # A bucket's sum is carried sample to sample: one sample of each device at a time.
    found: list[tuple[I64, F64, F64]] = []
    for k in range(int(r.nth.max()) + 1):
        pick = np.flatnonzero(r.nth == k)
        closed = pick[trend.push(r.rows[pick], r.t[pick], r.v[pick], window_s=window[pick])]
        if len(closed):
            found.append((closed, *trend.fit(r.rows[closed], window[closed])))
    if found:
        closed, slope, r2 = (np.concatenate(part) for part in zip(*found, strict=True))
        order = np.argsort(closed, kind="stable")
        closed, slope, r2 = closed[order], slope[order], r2[order]
        least = r.cfg("leakage_trend_ma_per_h")[closed]
        r.emit(
            Rule.LEAKAGE_TREND,
            AlertClass.PREALARM,
            rows=closed,
            on=(slope >= least) & (r2 >= r.cfg("leakage_trend_r2")[closed]),
            off=~(slope >= least / 2),
            slope_ma_per_h=slope,
            r2=r2,
        )


def camera_region(r: Round) -> None:
    """A camera's own region summary (``max_temp_c``), with its frames' thresholds: hot, and
    that much above the region's own baseline, so a roof in the sun does not alarm."""
    alarm = r.cfg("camera_alarm_c")
    hot = (r.level >= alarm) & (r.level - r.base >= r.cfg("camera_delta_c"))
    off = r.level < r.cfg("camera_clear_c")
    r.emit(
        Rule.CAMERA_HOTSPOT,
        AlertClass.FIRE,
        on=r.warm & hot,
        off=off,
        baseline_c=r.base,
        threshold_c=alarm,
        source="region",
    )


def stuck(r: Round, applies: Mask) -> None:
    """A value that has not changed at all for hours is a dead sensor, not a calm room."""
    frozen = r.t - r.ring.changed_at
    limit = r.cfg("stuck_s")
    r.emit(
        Rule.SENSOR_STUCK,
        AlertClass.TROUBLE,
        on=applies & (r.ring.n >= STUCK_MIN_SAMPLES) & (frozen >= limit),
        off=frozen < limit,
        frozen_s=frozen,
    )


# The metrics whose rules read a rate of rise (heat, cable): only their rings keep a history
# deep enough for one; the others keep a level's three samples.
RATE_METRICS = frozenset({"temperature_c", "cable_temp_c"})
METRIC_RULES: dict[str, tuple[Rule, ...]] = {
    "temperature_c": (Rule.HEAT_FIXED, Rule.HEAT_ROR, Rule.HEAT_ANOMALY),
    "cable_temp_c": (Rule.CABLE_TEMP, Rule.CABLE_TEMP_ROR, Rule.CABLE_FIRE, Rule.HEAT_ANOMALY),
    "obscuration_pct_per_m": (Rule.SMOKE_PREALARM, Rule.SMOKE_OBSCURATION),
    "residual_current_ma": (Rule.LEAKAGE, Rule.LEAKAGE_TREND),
    "max_temp_c": (Rule.CAMERA_HOTSPOT,),
}
