"""Electrical-fire monitors (GB 14287) on a building's distribution board.

Residual current sits at 100-200 mA in these old installations and follows the household
load, which peaks in the Guangzhou evening; the cable warms with the square of the current,
a quarter of an hour behind it.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.environment import household_load, indoor_c
from simulators.seeding import stable_uniform
from simulators.wire import Status

FIRMWARE = "EF-5.1.3"
_CABLE_LAG_S = 900.0
_NIGHT_LOAD, _PEAK_LOAD = 0.25, 1.0


@dataclass(kw_only=True, frozen=True, slots=True)
class ElectricalMonitor:
    leak_night_ma: float
    leak_peak_ma: float
    rated_a: float
    cable_rise_c: float
    load_bias: float
    rssi_dbm: float

    @classmethod
    def for_device(cls, device_id: str, seed: int) -> ElectricalMonitor:
        def u(low: float, high: float, name: str) -> float:
            return stable_uniform(low, high, seed, device_id, name)

        return cls(
            leak_night_ma=u(100.0, 130.0, "leak-night"),
            leak_peak_ma=u(150.0, 195.0, "leak-peak"),
            rated_a=u(40.0, 80.0, "rated"),
            cable_rise_c=u(10.0, 16.0, "cable"),
            load_bias=u(0.9, 1.0, "bias"),
            rssi_dbm=u(-90.0, -55.0, "rssi"),
        )

    def load(self, t: float) -> float:
        return household_load(t) * self.load_bias

    def residual_baseline_ma(self, t: float) -> float:
        share = (self.load(t) - _NIGHT_LOAD) / (_PEAK_LOAD - _NIGHT_LOAD)
        return self.leak_night_ma + (self.leak_peak_ma - self.leak_night_ma) * share

    def cable_baseline_c(self, t: float) -> float:
        return indoor_c(t) + self.cable_rise_c * self.load(t - _CABLE_LAG_S) ** 2

    def values(
        self, t: float, rng: random.Random, *, leak: float = 0.0, cable: float = 0.0
    ) -> dict[str, float]:
        """``leak`` (mA) and ``cable`` (°C) are what a fault adds to the healthy installation."""
        load = self.load(t)
        return {
            "residual_current_ma": round(
                max(0.0, self.residual_baseline_ma(t) + leak + rng.gauss(0.0, 2.5)), 1
            ),
            "cable_temp_c": round(self.cable_baseline_c(t) + cable + rng.gauss(0.0, 0.15), 2),
            "current_a": round(self.rated_a * load * rng.uniform(0.95, 1.05), 2),
            "voltage_v": round(229.0 - 7.0 * load + rng.gauss(0.0, 0.6), 1),
        }

    def status(self, _t: float, rng: random.Random) -> Status:
        """Mains powered: no battery to report."""
        return Status(rssi_dbm=round(self.rssi_dbm + rng.gauss(0.0, 1.5), 1), firmware=FIRMWARE)
