"""Things that look like fire and are not: cooking, shower steam, sun glint, dust.

Each must stay short of a fire alarm; the ground truth says where a pre-alarm is right.
"""

from __future__ import annotations

from contract.alarms import AlertClass, Rule
from simulators.environment import Curve
from simulators.models.camera_scene import HotSpot
from simulators.models.smoke import SmokeDetector
from simulators.scenarios.base import Stage
from simulators.seeding import stable_uniform, stable_unit

_DUST_DRIFT_S = 5 * 86400.0  # within ingest's 7-day stale window once shifted to now


def _base_obscuration(stage: Stage, device_id: str, model: str) -> float:
    detector = SmokeDetector.for_device(device_id, model, stage.seed)
    return detector.dust_pct_per_m(stage.start.timestamp() + stage.onset)


def cooking_smoke(stage: Stage) -> None:
    """Stir-frying with the kitchen door open: the corridor detector on that floor sees up to
    2.6 %/m for a few minutes (a pre-alarm, never 3 %/m); the extractor keeps the kitchen's
    heat detector within 2 °C of its baseline, short of a heat anomaly, so no second
    signal turns the pre-alarm into a confirmed fire."""
    b = stage.pick_building(
        lambda b, ds: any(
            k.model == "heat" and any(d.model == "smoke" and d.floor == k.floor for d in ds)
            for k in ds
        )
    )
    kitchen = next(
        k
        for k in stage.devices(b, "heat")
        if any(d.floor == k.floor for d in stage.devices(b, "smoke"))
    )
    corridor = next(d for d in stage.devices(b, "smoke") if d.floor == kitchen.floor)
    on = stage.onset
    peak = 2.55 - _base_obscuration(stage, corridor.id, corridor.model)
    shape = Curve(
        [
            (0, 0),
            (60, 0.15),
            (120, 0.45),
            (180, 0.72),
            (240, 1.0),
            (300, 0.85),
            (420, 1.0),
            (480, 0.7),
            (600, 0.3),
            (900, 0.08),
            (1200, 0),
        ]
    )
    fast = (on - 30, on + 900)
    stage.detector(corridor, smoke=shape.scaled(peak), heat=shape.scaled(0.5), fast=fast)
    stage.detector(kitchen, heat=shape.scaled(2.0), fast=fast)
    stage.bystanders(b)
    stage.expect(
        corridor.id,
        rule=Rule.SMOKE_PREALARM,
        alert_class=AlertClass.PREALARM,
        within=600,
        why=f"cooking smoke in {b.id} passes 1.5 %/m at about +130 s",
    )
    stage.forbid(
        "cooking smoke peaks at 2.6 %/m and the kitchen warms 2 °C: no fire alarm, "
        "no confirmed fire",
        alert_class=AlertClass.FIRE,
    )
    stage.forbid_trouble()


def bathroom_steam(stage: Stage) -> None:
    """A hot shower; each time the bathroom door opens a puff of steam reaches the corridor
    detector: above 3 %/m for under 10 s, shorter than the 20 s the obscuration rule waits."""
    b = stage.pick_building(lambda b, ds: any(d.model == "smoke" for d in ds))
    corridor = stage.devices(b, "smoke")[0]
    top = 3.4 - _base_obscuration(stage, corridor.id, corridor.model)
    points: list[tuple[float, float]] = [(-10.0, 0.0)]
    for door in (240.0, 600.0, 780.0):
        points += [
            (door - 2, 0.0),
            (door + 3, top),
            (door + 9, top),
            (door + 13, 0.6 * top),
            (door + 30, 0.3 * top),
            (door + 60, 0.1 * top),
            (door + 120, 0.0),
        ]
    on = stage.onset
    stage.detector(
        corridor,
        smoke=Curve(points),
        fast=(on - 30, stage.end),
        heat=Curve([(0, 0), (120, 2), (900, 2), (1000, 0)]),
    )
    stage.bystanders(b)
    why = f"shower steam at {corridor.id} in {b.id}"
    stage.expect(
        corridor.id,
        rule=Rule.SMOKE_PREALARM,
        within=300,
        why=f"{why}: the first puff passes 1.5 %/m at +241 s",
    )
    stage.forbid(
        f"{why}: above 3 %/m for under 10 s, never the 20 s the rule needs",
        rule=Rule.SMOKE_OBSCURATION,
    )
    stage.forbid(f"{why}: steam is no fire", alert_class=AlertClass.FIRE)
    stage.forbid_trouble()


def sun_glint(stage: Stage) -> None:
    """Early afternoon sun on a wet metal roof: a one-pixel reflection at 85-120 °C that
    twinkles, never in two frames running, so never for the hot-spot rule's 3 s."""
    camera = stage.rng.choice([d for d in stage.quarter.devices if d.model == "thermal_dome"])
    for covered in camera.config["covers"]:
        stage.watch(f"building:{covered}")
    x, y = stage.in_view(camera, f"glint:{stage.seed}")
    stage.camera(
        camera,
        fast=(stage.onset - 20, stage.onset + 300),
        spots=lambda tau: _glint(stage, tau, x, y),
    )
    stage.bystanders(stage.quarter.building(camera.building))
    why = f"sun glint in {camera.id}'s view"
    stage.forbid(
        f"{why}: it flickers, never hot for 3 s", rule=Rule.CAMERA_HOTSPOT, subjects=(camera.id,)
    )
    stage.forbid(f"{why}: a reflection is no fire", alert_class=AlertClass.FIRE)
    stage.forbid_trouble()


def _glint(stage: Stage, tau: float, x: float, y: float) -> tuple[HotSpot, ...]:
    """Visible only within 0.5 s of every sixth second, and then only 70 % of the time: frames
    come every 2 s, so at most one frame in three shows it."""
    if not 0.0 <= tau <= 240.0 or (tau + 0.5) % 6.0 >= 1.0:
        return ()
    flash = round(tau / 6.0)
    if stable_unit(stage.seed, "glint", flash) >= 0.7:
        return ()
    return (HotSpot(x, y, 0.8, stable_uniform(85.0, 120.0, stage.seed, "glint-c", flash)),)


def dust_drift(stage: Stage) -> None:
    """A detector overdue for cleaning, over its last five days: the clean-air reading climbs
    from 1.05 to 1.75 %/m, crossing the 1.5 %/m pre-alarm on the fourth day. Maintenance
    work, not a fire."""
    b = stage.pick_building(
        lambda b, ds: (
            not any(d.model == "electrical" for d in ds) and any(d.model == "smoke" for d in ds)
        )
    )
    detector = stage.devices(b, "smoke")[0]
    base = _base_obscuration(stage, detector.id, detector.model)
    stage.detector(detector, dust=Curve([(0, 1.05 - base), (_DUST_DRIFT_S, 1.75 - base)]))
    stage.bystanders(b)
    why = f"dust drift on {detector.id} in {b.id}"
    stage.expect(
        detector.id,
        rule=Rule.SMOKE_PREALARM,
        alert_class=AlertClass.PREALARM,
        within=320_000,
        why=f"{why}: passes 1.5 %/m at about +3.2 days",
    )
    stage.forbid(f"{why}: it never passes 1.8 %/m", alert_class=AlertClass.FIRE)
    stage.forbid(f"{why}: the reading drifts and is noisy, it is not stuck", rule=Rule.SENSOR_STUCK)
    stage.forbid_trouble()
