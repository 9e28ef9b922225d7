"""What every device in the quarter feels: Guangzhou's summer day, the sun, household load.

Pure functions of epoch seconds, so a device can be sampled at any moment in any order and
the same moment always gives the same value.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from datetime import timedelta, timezone
from itertools import pairwise

GUANGZHOU = timezone(timedelta(hours=8))
LATITUDE = 23.10
LONGITUDE = 113.27
_UTC_OFFSET_S = 8 * 3600

# Share of a rented household's peak demand, by local hour: low at night, a breakfast bump,
# air conditioning after lunch, and the evening peak (cooking, AC, e-bike charging) 19-22 h.
_LOAD_BY_HOUR = (
    0.35,
    0.30,
    0.27,
    0.25,
    0.25,
    0.28,
    0.40,
    0.60,
    0.55,
    0.45,
    0.45,
    0.55,
    0.60,
    0.50,
    0.45,
    0.45,
    0.50,
    0.65,
    0.85,
    1.00,
    1.00,
    0.95,
    0.80,
    0.55,
)


def local_hour(t: float) -> float:
    """Hour of the day in Guangzhou (UTC+8, no daylight saving), 0 <= h < 24."""
    return ((t + _UTC_OFFSET_S) % 86400.0) / 3600.0


def outdoor_c(t: float) -> float:
    """A June day: 24.5 °C before dawn, 32.5 °C at 14:30."""
    return 28.5 + 4.0 * math.cos(2 * math.pi * (local_hour(t) - 14.5) / 24.0)


def indoor_c(t: float) -> float:
    """Old brick walls damp and delay the outdoor cycle: 27.5-30.5 °C, warmest at 17:00."""
    return 29.0 + 1.5 * math.cos(2 * math.pi * (local_hour(t) - 17.0) / 24.0)


def sun_elevation_deg(t: float) -> float:
    """Solar elevation over the quarter (declination by day of year, mean solar time)."""
    days = t / 86400.0
    declination = 23.44 * math.sin(2 * math.pi * ((days % 365.25) - 80.0) / 365.25)
    solar_hour = ((t / 3600.0) + LONGITUDE / 15.0) % 24.0
    hour_angle = math.radians(15.0 * (solar_hour - 12.0))
    lat, dec = math.radians(LATITUDE), math.radians(declination)
    sin_el = math.sin(lat) * math.sin(dec) + math.cos(lat) * math.cos(dec) * math.cos(hour_angle)
    return math.degrees(math.asin(max(-1.0, min(1.0, sin_el))))


def household_load(t: float) -> float:
    """0..1, interpolated between the hourly shares so a monitor's readings never step."""
    hour = local_hour(t)
    low = int(hour)
    frac = hour - low
    return _LOAD_BY_HOUR[low] * (1 - frac) + _LOAD_BY_HOUR[(low + 1) % 24] * frac


class Curve:
    """A piecewise-linear curve through (x, y) points, flat beyond its ends.

    Scenarios describe how smoke, heat and leakage develop after an onset as a handful of
    points read off fire-test curves; the curve fills in between.
    """

    __slots__ = ("_xs", "_ys")

    def __init__(self, points: Sequence[tuple[float, float]]) -> None:
        if not points or any(b[0] <= a[0] for a, b in pairwise(points)):
            raise ValueError("a curve needs points with strictly increasing x")
        self._xs = [p[0] for p in points]
        self._ys = [p[1] for p in points]

    def __call__(self, x: float) -> float:
        xs, ys = self._xs, self._ys
        if x <= xs[0]:
            return ys[0]
        if x >= xs[-1]:
            return ys[-1]
        i = bisect_right(xs, x)
        x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
        return y0 + (y1 - y0) * (x - x0) / (x1 - x0)

    def scaled(self, factor: float, *, delay: float = 0.0) -> Curve:
        """The same development seen further away: later and weaker."""
        return Curve([(x + delay, y * factor) for x, y in zip(self._xs, self._ys, strict=True)])


ZERO = Curve([(0.0, 0.0)])
