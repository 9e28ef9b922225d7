"""What a thermal dome camera on a high point sees: sky, roofs, a lane with people and vehicles.

The layout is seeded per camera. Roofs heat in the sun up to about 47 °C on a June afternoon
and cool below the air at night, people (31-34 °C) and vehicles (38-45 °C) cross the lane,
and an incident adds hot spots: a growing fire plume, a battery in thermal runaway, a sun
glint, or a hand over the lens. Every pixel is a vectorised function of time, so a frame can
be rendered for any moment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from simulators.environment import outdoor_c, sun_elevation_deg
from simulators.seeding import rng_for, stable_unit

WIDTH, HEIGHT = 160, 120
LANE_ROWS = (HEIGHT - 16, HEIGHT - 3)
NETD_C = 0.06  # sensor noise
Frame = np.ndarray[Any, np.dtype[np.float32]]


@dataclass(frozen=True, slots=True)
class HotSpot:
    """A hot object at a pixel; a ``plume`` also heats the gas column rising above it."""

    x: float
    y: float
    radius_px: float
    temp_c: float
    plume: bool = False


@dataclass(kw_only=True, frozen=True, slots=True)
class _Mover:
    row: int
    x0: float
    speed_px_s: float
    width: int
    height: int
    temp_c: float


class ThermalScene:
    def __init__(self, camera_id: str, seed: int) -> None:
        rng = rng_for(seed, camera_id, "scene")
        self.camera_id, self.seed = camera_id, seed
        self.horizon = rng.randint(26, 40)
        rows = np.arange(HEIGHT, dtype=np.float32)[:, None] * np.ones((1, WIDTH), np.float32)
        sky = rows < self.horizon
        # The humid Guangzhou sky reads 14 °C below the air at the zenith, 6 °C at the horizon.
        self._sky = np.where(sky, -14.0 + 8.0 * rows / self.horizon, 0.0).astype(np.float32)
        self._sky_mask = sky
        gain = np.where(sky, 0.0, 3.0).astype(np.float32)  # walls
        cooling = np.where(sky, 0.0, 0.5).astype(np.float32)
        self.roofs: list[tuple[int, int, int, int]] = []
        for _ in range(18):
            y0 = rng.randint(self.horizon + 1, LANE_ROWS[0] - 6)
            height = 3 + (y0 - self.horizon) // 6
            x0, width = rng.randint(0, WIDTH - 12), rng.randint(10, 40)
            y1, x1 = min(y0 + height, LANE_ROWS[0] - 1), min(x0 + width, WIDTH)
            gain[y0:y1, x0:x1] = rng.uniform(6.0, 14.0)  # light to dark tiles
            cooling[y0:y1, x0:x1] = rng.uniform(1.5, 3.0)  # radiating to the night sky
            self.roofs.append((y0, y1, x0, x1))
        gain[LANE_ROWS[0] : LANE_ROWS[1], :] = 5.0  # concrete lane
        self._gain, self._cooling = gain, cooling
        self._movers = [
            _Mover(
                row=rng.randint(LANE_ROWS[0], LANE_ROWS[1] - 4),
                x0=rng.uniform(0, WIDTH),
                speed_px_s=rng.choice((-1, 1)) * rng.uniform(0.8, 6.0),
                width=7 if vehicle else 2,
                height=3 if vehicle else 4,
                temp_c=rng.uniform(38.0, 45.0) if vehicle else rng.uniform(31.0, 34.0),
            )
            for vehicle in (rng.random() < 0.35 for _ in range(8))
        ]
        self._yy, self._xx = np.mgrid[0:HEIGHT, 0:WIDTH].astype(np.float32)

    @property
    def sky_mask(self) -> np.ndarray[Any, np.dtype[np.bool_]]:
        return self._sky_mask

    def spot_for(self, building_id: str) -> tuple[float, float]:
        """Where a building's roof shows in the frame: the middle of one of the roofs."""
        y0, y1, x0, x1 = self.roofs[int(stable_unit(self.camera_id, building_id) * len(self.roofs))]
        return (x0 + x1) / 2, (y0 + y1) / 2

    def render(
        self,
        t: float,
        *,
        noise_key: int,
        spots: tuple[HotSpot, ...] = (),
        cover_c: float | None = None,
    ) -> Frame:
        """°C per pixel. ``noise_key`` seeds the sensor noise, so a frame is reproducible."""
        noise = (
            np.random.default_rng([noise_key, int(t * 1000)])
            .normal(0.0, NETD_C, (HEIGHT, WIDTH))
            .astype(np.float32)
        )
        if cover_c is not None:  # a hand or a bag over the dome: the cover's own temperature
            return (np.float32(cover_c) + noise * 4).astype(np.float32)
        sun = max(0.0, math.sin(math.radians(sun_elevation_deg(t))))
        frame = self._gain * np.float32(sun) - self._cooling * np.float32(1.0 - sun) + self._sky
        frame += np.float32(outdoor_c(t))
        self._people_and_vehicles(frame, t)
        for spot in spots:
            self._hot_spot(frame, spot)
        frame += noise
        return frame

    def _people_and_vehicles(self, frame: Frame, t: float) -> None:
        hour = (t / 3600.0 + 8.0) % 24.0
        activity = 0.15 if hour < 6.0 else 0.9
        for index, m in enumerate(self._movers):
            if stable_unit(self.camera_id, index, int(t // 300)) >= activity:
                continue
            x = int((m.x0 + m.speed_px_s * t) % (WIDTH + 20)) - 10
            lo, hi = max(0, x), min(WIDTH, x + m.width)
            if lo < hi:
                frame[m.row : m.row + m.height, lo:hi] = m.temp_c

    def _hot_spot(self, frame: Frame, spot: HotSpot) -> None:
        reach = int(spot.radius_px + 5)
        y0, y1 = max(0, int(spot.y) - reach), min(HEIGHT, int(spot.y) + reach + 1)
        x0, x1 = max(0, int(spot.x) - reach), min(WIDTH, int(spot.x) + reach + 1)
        window = frame[y0:y1, x0:x1]
        distance = np.hypot(self._xx[y0:y1, x0:x1] - spot.x, self._yy[y0:y1, x0:x1] - spot.y)
        outside = np.clip(distance - spot.radius_px, 0.0, None)
        hot = window + (np.float32(spot.temp_c) - window) * np.exp(-(outside**2))
        np.maximum(window, hot.astype(np.float32), out=window)
        if spot.plume:  # hot gas rising above the flames, cooling as it mixes
            top = max(0, int(spot.y - 4 * spot.radius_px) - 2)
            left = max(0, int(spot.x - spot.radius_px))
            right = min(WIDTH, int(spot.x + spot.radius_px) + 1)
            bottom = max(top, int(spot.y - spot.radius_px))
            if bottom > top and right > left:
                rise = np.linspace(0.05, 0.15, bottom - top, dtype=np.float32)[:, None]
                column = frame[top:bottom, left:right]
                np.maximum(column, column + (spot.temp_c - column) * rise, out=column)
