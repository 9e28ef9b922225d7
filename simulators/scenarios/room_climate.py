"""A room's own climate, which a heat detector must not take for a fire: heating and
air-conditioning cycles, a room cooling after a fire that was put out, the afternoon sun on a
roof room, a detector swapped for a new one.

Each warms or cools the ceiling smoothly (first-order swings, a sine, a step after a silence),
never with a fire's accelerating climb; each must stay short of a fire alarm.
"""

from __future__ import annotations

import math

from contract.alarms import AlertClass
from simulators.environment import Curve
from simulators.scenarios.base import Stage
from simulators.topology import Building, Device

_STEP_S = 15.0  # curve points: fine enough for a first-order swing's shape


def _swing(
    start: float, length: float, *, to: float, tau_s: float, start_c: float
) -> list[tuple[float, float]]:
    """A first-order response from ``start_c`` towards ``to`` over ``length`` seconds."""
    steps = int(length // _STEP_S)
    return [
        (start + k * _STEP_S, to + (start_c - to) * math.exp(-k * _STEP_S / tau_s))
        for k in range(1, steps + 1)
    ]


def _detector(stage: Stage, b: Building) -> Device:
    return stage.devices(b, "smoke")[0]


def _has_smoke(b: Building, devices: tuple[Device, ...]) -> bool:
    return any(d.model == "smoke" for d in devices)


def hvac_cycles(stage: Stage) -> None:
    """A fan-coil unit beside the detector, cycling every 20 minutes: four heating cycles lift
    the ceiling 3.5 °C within a few minutes (time constant 2 min) and let it fall back, then
    four air-conditioning cycles cool it 3 °C. Smooth swings, not a fire's climb."""
    b = stage.pick_building(_has_smoke)
    detector = _detector(stage, b)
    points: list[tuple[float, float]] = [(0.0, 0.0)]
    now, level = 0.0, 0.0
    for target in (3.5, 3.5, 3.5, 3.5, -3.0, -3.0, -3.0, -3.0):
        points += _swing(now, 480.0, to=target, tau_s=120.0, start_c=level)
        level, now = points[-1][1], now + 480.0
        points += _swing(now, 720.0, to=0.0, tau_s=180.0, start_c=level)
        level, now = points[-1][1], now + 720.0
    stage.detector(detector, heat=Curve(points), fast=(stage.onset - 30, stage.end))
    stage.bystanders(b)
    why = f"heating and air-conditioning cycles at {detector.id} in {b.id}"
    stage.forbid(f"{why}: a 3.5 °C first-order swing is no fire", alert_class=AlertClass.FIRE)
    stage.forbid_trouble()


def cooling_after_fire(stage: Stage) -> None:
    """The morning after a small fire was put out: the room's detector starts 22 °C above
    normal (51 °C, short of 57 °C) and cools with the windows open (time constant 15 min); at
    +40 min the windows close and the walls give back 1.5 °C over ten minutes. The end of a
    cooling is not a rise."""
    b = stage.pick_building(_has_smoke)
    detector = _detector(stage, b)
    start_c = 22.0
    points = [(0.0, start_c), *_swing(0.0, 2400.0, to=0.0, tau_s=900.0, start_c=start_c)]
    cooled = points[-1][1]
    points += [(2400.0 + 60.0 * k, cooled + 1.5 * k / 10.0) for k in range(1, 11)]
    stage.detector(detector, heat=Curve(points), fast=(0.0, stage.end))
    stage.bystanders(b)
    why = f"{detector.id} in {b.id} cooling after a fire was put out"
    stage.forbid(f"{why}: cooling, then 1.5 °C back from the walls", alert_class=AlertClass.FIRE)
    stage.forbid(f"{why}: the end of a cooling is no rise", alert_class=AlertClass.PREALARM)
    stage.forbid_trouble()


def afternoon_sun_roof(stage: Stage) -> None:
    """A top-floor room under a metal roof: the afternoon sun warms its ceiling 12 °C over three
    hours and the evening gives it back (a half sine over six hours, at most 0.1 °C/min), read
    every five minutes. A steady warming is the room's own trend, not a rise above it."""
    b = stage.pick_building(
        lambda b, ds: any(d.model == "smoke" and d.floor == b.floors for d in ds)
    )
    detector = next(d for d in stage.devices(b, "smoke") if d.floor == b.floors)
    length = 6 * 3600.0
    points = [(t, 12.0 * math.sin(math.pi * t / length)) for t in range(0, int(length) + 1, 900)]
    stage.detector(detector, heat=Curve([(float(t), c) for t, c in points]))
    stage.bystanders(b)
    why = f"afternoon sun on the roof room of {b.id} ({detector.id})"
    stage.forbid(f"{why}: 12 °C over three hours", alert_class=AlertClass.FIRE)
    stage.forbid(f"{why}: a steady warming is the room's trend", alert_class=AlertClass.PREALARM)
    stage.forbid_trouble()


def detector_swap(stage: Stage) -> None:
    """A technician takes a detector down and, 40 minutes later, puts up a new one under the
    same id: it reads its room 3.5 °C warmer (its own mounting and calibration, within the
    two sensors' ±2 °C tolerances), reporting every few seconds while the technician checks
    it. A device back from a silence learns its room again before any statistical rule judges
    it."""
    b = stage.pick_building(_has_smoke)
    detector = _detector(stage, b)
    gone = 2400.0
    heat = Curve([(0.0, 0.0), (gone - 1.0, 0.0), (gone, 3.5)])
    back = stage.onset + gone
    # While the technician checks it, the new detector reports every few seconds.
    stage.detector(detector, heat=heat, absent=(stage.onset, back), fast=(back, back + 600.0))
    stage.bystanders(b)
    why = f"{detector.id} in {b.id} swapped for a new one reading 3.5 °C warmer"
    stage.forbid(f"{why}: a new sensor's offset is no fire", alert_class=AlertClass.FIRE)
    stage.forbid(
        f"{why}: no anomaly from a baseline not yet learnt", alert_class=AlertClass.PREALARM
    )
    stage.forbid_trouble()
