"""Rule thresholds: a default per kind, overridable per device, validated on the way in.

A device's ``config`` (registry) may hold a ``rules`` object whose keys are the fields below,
e.g. ``{"rules": {"fixed_c": 68}}`` for a kitchen detector. Anything else is refused with the
field's name, so a typo never silently leaves the default in force.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace
from typing import Any

from contract.kinds import Kind


class ConfigError(ValueError):
    """A rule override is unknown or out of range; the message names the field. ``path`` is
    where it is in a device's config (``rules.fixed_c``, ``thermal.alarm_c``, ``covers``) and
    ``reason`` what is wrong, for the registry to locate its 422 without reading the message."""

    def __init__(self, field_name: str, message: str, *, path: str | None = None) -> None:
        super().__init__(f"rules.{field_name}: {message}")
        self.field, self.reason = field_name, message
        self.path = path or f"rules.{field_name}"


# (low, high) bounds for each field: what a sane installation could ask for.
BOUNDS: dict[str, tuple[float, float]] = {
    "fixed_c": (40.0, 120.0),
    "ror_c_per_min": (2.0, 30.0),
    "ror_window_s": (10.0, 600.0),
    "anomaly_rise_c": (1.0, 30.0),
    "anomaly_z": (3.0, 50.0),
    "anomaly_min_sigma_c": (0.05, 5.0),
    "anomaly_tau_s": (60.0, 7200.0),
    "anomaly_warmup_s": (0.0, 3600.0),
    "heat_dwell_s": (0.0, 600.0),
    "warmup_samples": (3.0, 10000.0),
    "rewarm_after_s": (60.0, 7 * 86400.0),
    "early_rise_c": (0.2, 20.0),
    "early_z": (2.0, 100.0),
    "early_ror_c_per_min": (1.0, 30.0),
    "early_window_s": (2.0, 300.0),
    "solo_factor": (1.0, 10.0),
    "early_dwell_s": (0.0, 600.0),
    "room_window_s": (0.0, 600.0),
    "obscuration_prealarm_pct_per_m": (0.2, 20.0),
    "obscuration_alarm_pct_per_m": (0.5, 30.0),
    "obscuration_dwell_s": (0.0, 300.0),
    "leakage_ma": (300.0, 500.0),
    "leakage_trend_ma_per_h": (2.0, 500.0),
    "leakage_trend_window_s": (1800.0, 86400.0),
    "leakage_trend_r2": (0.5, 0.999),
    "cable_prealarm_c": (40.0, 150.0),
    "cable_fire_c": (50.0, 200.0),
    "cable_ror_c_per_min": (1.0, 30.0),
    "low_battery_pct": (5.0, 50.0),
    "stuck_s": (600.0, 7 * 86400.0),
    "offline_margin_s": (0.0, 3600.0),
    "test_mode_s": (0.0, 7200.0),
    "chatter_count": (2.0, 100.0),
    "chatter_window_s": (10.0, 3600.0),
}


@dataclass(kw_only=True, frozen=True, slots=True)
class RuleConfig:
    """Thresholds for one device; docs/rules.md explains each default and where it comes from."""

    # Heat: temperature_c on detectors, and the anomaly on cable_temp_c; the baseline settings
    # also shape every metric's ring.
    fixed_c: float = 57.0  # EN 54-5 class A1: static response between 54 and 65 °C
    ror_c_per_min: float = 8.3  # EN 54-5 / NFPA 72 rate of rise, 15 °F/min
    ror_window_s: float = 30.0  # "sustained": the rise must hold over this much event time
    anomaly_rise_c: float = 2.0  # above the device's own baseline, and at least z sigma
    anomaly_z: float = 8.0
    anomaly_min_sigma_c: float = 0.25  # thermocouple/ADC resolution floor for the spread
    anomaly_tau_s: float = 600.0  # baseline memory: follows daily swings, not a fire's minute
    anomaly_warmup_s: float = 60.0  # no anomaly verdict until the baseline has seen this long
    heat_dwell_s: float = 4.0  # rate and anomaly must hold this long: a draught is not a fire
    # Warm-up: no statistical verdict (anomaly, early rise) before this many samples since the
    # device (re)started; a silence of rewarm_after_s (an outage, a swapped detector) restarts it.
    warmup_samples: float = 20.0
    rewarm_after_s: float = 1800.0  # six missed 5-minute reports
    # Early rise (heat_ror's second criterion, docs/rules.md): a fire's ceiling plume rises
    # above the room's own trend and keeps rising. With a neighbour (same floor, room or
    # building) agreeing, this much is a fire; alone, solo_factor times the rise and the rate.
    early_rise_c: float = 1.0  # above the device's own trend line, and at least early_z sigma
    early_z: float = 4.0  # chosen by bench.detection (cross-validated; docs/rules.md)
    early_ror_c_per_min: float = 5.0  # still rising this fast above the trend, over the window
    early_window_s: float = 10.0
    solo_factor: float = 1.5
    early_dwell_s: float = 4.0  # the early rise holds this long (it already spans its window)
    room_window_s: float = 30.0  # a neighbour's suspect sample corroborates for this long
    # Smoke (photoelectric obscuration).
    obscuration_prealarm_pct_per_m: float = 1.5
    obscuration_alarm_pct_per_m: float = 3.0
    obscuration_dwell_s: float = 20.0
    # Electrical (GB 14287.2: residual current 300-500 mA; GB 14287.3: cable temperature).
    leakage_ma: float = 300.0
    leakage_trend_ma_per_h: float = 20.0
    leakage_trend_window_s: float = 4 * 3600.0
    leakage_trend_r2: float = 0.8
    cable_prealarm_c: float = 70.0  # PVC insulation's continuous rating
    cable_fire_c: float = 90.0
    cable_ror_c_per_min: float = 5.0
    # Health.
    low_battery_pct: float = 20.0
    stuck_s: float = 12 * 3600.0
    offline_margin_s: float = 60.0
    test_mode_s: float = 600.0
    chatter_count: float = 3.0  # ISA-18.2: >= 3 activations in a minute is chattering
    chatter_window_s: float = 60.0

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            low, high = BOUNDS[f.name]
            if not (isinstance(value, int | float) and math.isfinite(value)):
                raise ConfigError(f.name, "must be a finite number")
            if not low <= value <= high:
                raise ConfigError(f.name, f"must be between {low:g} and {high:g}, got {value:g}")
        if self.obscuration_alarm_pct_per_m <= self.obscuration_prealarm_pct_per_m:
            raise ConfigError(
                "obscuration_alarm_pct_per_m", "must be above obscuration_prealarm_pct_per_m"
            )
        if self.cable_fire_c <= self.cable_prealarm_c:
            raise ConfigError("cable_fire_c", "must be above cable_prealarm_c")


KIND_DEFAULTS: dict[Kind, RuleConfig] = {
    Kind.SMOKE: RuleConfig(),
    # A cable warms by several degrees when a heater or an e-bike charger is switched on: its
    # anomaly must be a larger rise than a room's.
    Kind.ELECTRICAL: RuleConfig(anomaly_rise_c=10.0),
    Kind.THERMAL_CAMERA: RuleConfig(),
    Kind.VIDEO_CAMERA: RuleConfig(),  # judges nothing: it sends nothing
    Kind.PANEL: RuleConfig(),  # judged by its panel: its events only
    Kind.TRANSMITTER: RuleConfig(),
}

_FIELD_NAMES = frozenset(f.name for f in fields(RuleConfig))


def rule_config(kind: Kind, overrides: dict[str, Any] | None) -> RuleConfig:
    """The effective thresholds of a device; raises ConfigError naming the offending field."""
    base = KIND_DEFAULTS[kind]
    if not overrides:
        return base
    if not isinstance(overrides, dict):
        raise ConfigError("rules", "must be an object of threshold names to numbers", path="rules")
    unknown = sorted(set(overrides) - _FIELD_NAMES)
    if unknown:
        raise ConfigError(
            unknown[0], f"unknown threshold; known: {', '.join(sorted(_FIELD_NAMES))}"
        )
    for name, value in overrides.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigError(name, "must be a number")
    return replace(base, **{k: float(v) for k, v in overrides.items()})
