"""Thermal dome cameras: frames of their scene, and the region readings their firmware sends."""

from __future__ import annotations

import random

from simulators.environment import outdoor_c
from simulators.models.camera_scene import Frame, HotSpot, ThermalScene
from simulators.seeding import stable_uniform
from simulators.wire import Status

FIRMWARE = "TC-7.2.0"
REGION = "roofs"  # the analysis region: everything below the horizon


class ThermalCamera:
    def __init__(self, device_id: str, seed: int) -> None:
        self.scene = ThermalScene(device_id, seed)
        self.rssi_dbm = stable_uniform(-75.0, -50.0, seed, device_id, "rssi")
        self._noise_key = int(stable_uniform(0, 2**31, seed, device_id, "noise"))

    def frame(
        self, t: float, *, spots: tuple[HotSpot, ...] = (), cover_c: float | None = None
    ) -> Frame:
        return self.scene.render(t, noise_key=self._noise_key, spots=spots, cover_c=cover_c)

    def region_values(self, frame: Frame) -> dict[str, float]:
        """What the camera's own analytics report for its region, from the frame it sees."""
        region = frame[~self.scene.sky_mask]
        return {
            "max_temp_c": round(float(region.max()), 2),
            "avg_temp_c": round(float(region.mean()), 2),
            "min_temp_c": round(float(region.min()), 2),
        }

    @staticmethod
    def cover_c(t: float) -> float:
        """A bag or a hand over the dome shows at about the air's temperature."""
        return outdoor_c(t) + 1.0

    def status(self, _t: float, rng: random.Random) -> Status:
        """PoE powered: no battery to report."""
        return Status(rssi_dbm=round(self.rssi_dbm + rng.gauss(0.0, 1.0), 1), firmware=FIRMWARE)
