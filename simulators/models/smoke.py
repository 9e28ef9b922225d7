"""Ceiling detectors on the fire-alarm loop: photoelectric smoke, heat, multi-sensor, call point.

The smoke chamber reads a little obscuration even in clean air, and dust settles in it: the
reading creeps up until the yearly maintenance visit cleans it. The thermistor follows the
room. Batteries last years and are swapped every three.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from simulators.environment import indoor_c
from simulators.seeding import stable_uniform
from simulators.wire import Status

INSTALLED_AT = 1_735_660_800.0  # 2025-01-01 UTC: when the quarter's loop was commissioned
_DAY = 86400.0
_CLEANED_EVERY_DAYS = 365.0
_BATTERY_SWAPPED_EVERY_DAYS = 3 * 365.0
FIRMWARE = {"smoke": "SD-2.4.1", "heat": "HD-1.8.0", "multi": "MS-3.0.2", "call_point": "MC-1.2.0"}


@dataclass(kw_only=True, frozen=True, slots=True)
class SmokeDetector:
    model: str  # smoke, heat, multi, call_point
    clean_pct_per_m: float
    dust_per_day: float
    temp_offset_c: float
    battery_new_pct: float
    drain_per_day: float
    rssi_dbm: float

    @classmethod
    def for_device(cls, device_id: str, model: str, seed: int) -> SmokeDetector:
        def u(low: float, high: float, name: str) -> float:
            return stable_uniform(low, high, seed, device_id, name)

        return cls(
            model=model,
            clean_pct_per_m=u(0.05, 0.25, "clean"),
            dust_per_day=u(0.0003, 0.0015, "dust"),
            temp_offset_c=u(-0.6, 0.6, "mounting"),
            battery_new_pct=u(60.0, 100.0, "battery"),
            drain_per_day=u(0.01, 0.03, "drain"),
            rssi_dbm=u(-95.0, -60.0, "rssi"),
        )

    @property
    def sees_smoke(self) -> bool:
        return self.model in ("smoke", "multi")

    @property
    def sees_heat(self) -> bool:
        return self.model != "call_point"

    def dust_pct_per_m(self, t: float) -> float:
        """Clean-air reading plus settled dust, at most 0.8 %/m: well below the pre-alarm."""
        days = ((t - INSTALLED_AT) / _DAY) % _CLEANED_EVERY_DAYS
        return self.clean_pct_per_m + self.dust_per_day * days

    def values(
        self,
        t: float,
        rng: random.Random,
        *,
        smoke: float = 0.0,
        heat: float = 0.0,
        dust: float = 0.0,
    ) -> dict[str, float]:
        """``smoke`` (%/m) and ``heat`` (°C) are what an incident adds; ``dust`` adds drift."""
        values: dict[str, float] = {}
        if self.sees_smoke:
            reading = self.dust_pct_per_m(t) + dust + smoke + rng.gauss(0.0, 0.012)
            values["obscuration_pct_per_m"] = round(min(100.0, max(0.0, reading)), 3)
        if self.sees_heat:
            temperature = indoor_c(t) + self.temp_offset_c + heat + rng.gauss(0.0, 0.08)
            values["temperature_c"] = round(temperature, 2)
        return values

    def battery_pct(self, t: float) -> float:
        days = ((t - INSTALLED_AT) / _DAY) % _BATTERY_SWAPPED_EVERY_DAYS
        return round(max(21.0, self.battery_new_pct - self.drain_per_day * days), 1)

    def status(self, t: float, rng: random.Random) -> Status:
        return Status(
            rssi_dbm=round(self.rssi_dbm + rng.gauss(0.0, 1.5), 1),
            firmware=FIRMWARE[self.model],
            battery_pct=self.battery_pct(t),
        )
