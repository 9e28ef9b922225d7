"""Real fires: a flaming room fire, a smouldering one, an e-bike battery in a corridor.

Curves are read off the shapes of fire tests (EN 54-7 test fires, UL FSRI compartment data):
a flaming fire fills a room with smoke in about a minute and heats the ceiling past 57 °C in
two to three; a smouldering one takes tens of minutes before it flames.
"""

from __future__ import annotations

from contract.alarms import AlertClass, Rule
from simulators.environment import Curve
from simulators.models.camera_scene import HotSpot
from simulators.scenarios.base import Stage
from simulators.topology import Building, Device, haversine_m


def _apparent_size(camera: Device, building: Building) -> float:
    """Nearer fires look bigger; 250 m is the reference distance."""
    distance = haversine_m(camera.lat, camera.lon, building.lat, building.lon)
    return min(1.6, max(0.6, 250.0 / max(distance, 1.0)))


def flaming_fire(stage: Stage) -> None:
    """A living-room fire in a rented flat at night: smoke in a minute, flames out of the
    window after two, seen by the nearest thermal camera."""
    b = stage.pick_building(lambda b, ds: can_flame(stage, b, ds))
    flaming_fire_in(stage, b)


def can_flame(stage: Stage, building: Building, devices: tuple[Device, ...]) -> bool:
    """A building the flaming fire fits: rented, two smoke detectors, a camera in view."""
    return (
        building.rented
        and sum(d.model == "smoke" for d in devices) >= 2
        and bool(stage.quarter.cameras_covering(building.id))
    )


def flaming_fire_in(stage: Stage, b: Building) -> None:
    room, corridor = stage.devices(b, "smoke")[:2]
    camera = stage.camera_for(b)
    on = stage.onset
    smoke = Curve(
        [(0, 0), (20, 0.3), (40, 1.6), (55, 3.4), (70, 6), (100, 12), (160, 25), (600, 30)]
    )
    heat = Curve(
        [
            (0, 0),
            (40, 1),
            (70, 5),
            (100, 12),
            (130, 22),
            (160, 33),
            (190, 45),
            (220, 60),
            (600, 180),
        ]
    )
    fast = (on - 10, stage.end)
    stage.detector(room, smoke=smoke, heat=heat, fast=fast)
    stage.event(on + 58, room, "alarm", {"chamber": "optical"})
    stage.detector(
        corridor, smoke=smoke.scaled(0.6, delay=50), heat=heat.scaled(0.3, delay=60), fast=fast
    )
    stage.event(on + 118, corridor, "alarm", {"chamber": "optical"})
    for kitchen in stage.devices(b, "heat"):
        if kitchen.floor == room.floor:
            stage.detector(kitchen, heat=heat.scaled(0.8, delay=20), fast=fast)
    x, y = stage.in_view(camera, b.id)
    size = _apparent_size(camera, b)
    radius = Curve([(120, 0.8), (180, 2), (300, 4), (600, 7)])
    flame = Curve([(120, 45), (135, 90), (160, 180), (240, 300), (600, 320)])

    def spots(tau: float) -> tuple[HotSpot, ...]:
        if tau < 120:
            return ()
        return (HotSpot(x, y, radius(tau) * size, flame(tau), plume=True),)

    stage.camera(camera, spots=spots, fast=(on + 100, on + 420))
    stage.event(on + 130, camera, "smoke_detected", {"x": round(x), "y": round(y) - 6})
    stage.event(on + 150, camera, "fire_detected", {"x": round(x), "y": round(y)})
    stage.bystanders(b)

    def why(text: str) -> str:
        return f"flaming fire in {b.id}: {text}"

    stage.expect(
        room.id,
        rule=Rule.SMOKE_ALARM,
        alert_class=AlertClass.FIRE,
        within=120,
        why=why("the room detector sends its alarm at +58 s"),
    )
    stage.expect(
        room.id,
        rule=Rule.SMOKE_OBSCURATION,
        within=150,
        why=why("obscuration passes 3 %/m at +53 s and keeps rising"),
    )
    stage.expect(
        room.id,
        rule=Rule.HEAT_ROR,
        within=240,
        why=why("the ceiling heats at 14-22 °C/min from +70 s"),
    )
    stage.expect(
        room.id,
        rule=Rule.HEAT_FIXED,
        within=300,
        why=why("the ceiling passes 57 °C at about +150 s"),
    )
    stage.expect(
        corridor.id,
        rule=Rule.SMOKE_ALARM,
        within=240,
        why=why("smoke reaches the corridor detector, alarm at +118 s"),
    )
    stage.expect(
        f"building:{b.id}",
        rule=Rule.CONFIRMED_FIRE,
        alert_class=AlertClass.FIRE,
        within=240,
        why=why("two detectors alarm 60 s apart"),
    )
    stage.expect(
        camera.id,
        rule=Rule.CAMERA_HOTSPOT,
        within=300,
        why=why("flames at the window from +120 s, 90 °C at +135 s"),
    )
    stage.expect(
        camera.id,
        rule=Rule.CAMERA_FIRE,
        within=240,
        why=why("the camera's own analytics report fire at +150 s"),
    )
    stage.forbid_trouble()


def smouldering_fire(stage: Stage) -> None:
    """A cigarette in a sofa: smoke builds for twenty minutes, heat comes late, then flames."""
    b = stage.pick_building(lambda b, ds: sum(d.model == "smoke" for d in ds) >= 2)
    room, corridor = stage.devices(b, "smoke")[:2]
    on = stage.onset
    smoke = Curve(
        [
            (0, 0),
            (300, 0.5),
            (600, 1.6),
            (900, 2.4),
            (1200, 3.2),
            (1500, 4.5),
            (1800, 8),
            (2100, 20),
            (2400, 30),
        ]
    )
    heat = Curve(
        [
            (0, 0),
            (600, 0.8),
            (900, 1.5),
            (1200, 2.5),
            (1500, 6),
            (1800, 9),
            (1860, 18),
            (1920, 35),
            (1980, 55),
            (2100, 120),
            (2400, 200),
        ]
    )
    stage.detector(room, smoke=smoke, heat=heat, fast=(on + 450, stage.end))
    stage.event(on + 1450, room, "alarm", {"chamber": "optical"})
    stage.detector(
        corridor,
        smoke=smoke.scaled(0.5, delay=300),
        heat=heat.scaled(0.4, delay=120),
        fast=(on + 900, stage.end),
    )
    stage.event(on + 2080, corridor, "alarm", {"chamber": "optical"})
    stage.bystanders(b)

    def why(text: str) -> str:
        return f"smouldering fire in {b.id}: {text}"

    stage.expect(
        room.id,
        rule=Rule.SMOKE_PREALARM,
        alert_class=AlertClass.PREALARM,
        within=900,
        why=why("obscuration passes 1.5 %/m at about +590 s"),
    )
    stage.expect(
        room.id,
        rule=Rule.SMOKE_OBSCURATION,
        within=1500,
        why=why("obscuration passes 3 %/m at about +1130 s and stays"),
    )
    stage.expect(
        room.id, rule=Rule.SMOKE_ALARM, within=1600, why=why("the detector's own alarm at +1450 s")
    )
    stage.expect(
        room.id,
        rule=Rule.HEAT_ANOMALY,
        alert_class=AlertClass.PREALARM,
        within=2100,
        why=why("late heat: +6 °C by +1500 s, +35 °C by +1920 s"),
    )
    stage.expect(
        room.id,
        rule=Rule.HEAT_FIXED,
        within=2100,
        why=why("flaming from +1800 s, the ceiling passes 57 °C at about +1900 s"),
    )
    stage.expect(
        f"building:{b.id}",
        rule=Rule.CONFIRMED_FIRE,
        within=2100,
        why=why(
            "the corridor's pre-alarm (about +1250 s) while the room is in alarm; both "
            "detectors at fire level by about +1910 s"
        ),
    )
    stage.forbid(
        "nothing meets a fire rule in the first 15 minutes (< 2.4 %/m, +1.5 °C)",
        alert_class=AlertClass.FIRE,
        until=on + 900,
    )
    stage.forbid_trouble()


def ebike_charging(stage: Stage) -> None:
    """An e-bike charging in a corridor overnight: the battery warms for fifteen minutes (a hot
    spot in the camera's view), then goes into thermal runaway: flames and smoke."""
    q = stage.quarter
    b = stage.pick_building(
        lambda b, ds: (
            b.rented and any(d.model == "smoke" for d in ds) and bool(q.cameras_covering(b.id))
        )
    )
    corridor = stage.devices(b, "smoke")[0]
    camera = stage.camera_for(b)
    on = stage.onset
    x, y = stage.in_view(camera, b.id)
    size = _apparent_size(camera, b)
    battery = Curve(
        [
            (0, 30),
            (300, 40),
            (600, 52),
            (780, 58),
            (840, 62),
            (900, 70),
            (905, 150),
            (915, 300),
            (1200, 320),
        ]
    )
    radius = Curve([(0, 1), (900, 1), (915, 1.5), (960, 3), (1200, 4)])

    def spots(tau: float) -> tuple[HotSpot, ...]:
        if tau < 0:
            return ()
        return (HotSpot(x, y, radius(tau) * size, battery(tau), plume=tau >= 905),)

    stage.camera(camera, spots=spots, fast=(on + 540, on + 1100))
    stage.event(on + 930, camera, "smoke_detected", {"x": round(x), "y": round(y) - 4})
    stage.event(on + 940, camera, "fire_detected", {"x": round(x), "y": round(y)})
    smoke = Curve([(900, 0), (930, 2), (945, 4), (960, 9), (1000, 20), (1200, 30)])
    heat = Curve([(900, 0), (960, 8), (1020, 25), (1080, 45), (1200, 90)])
    stage.detector(corridor, smoke=smoke, heat=heat, fast=(on + 880, stage.end))
    stage.event(on + 950, corridor, "alarm", {"chamber": "optical"})
    stage.bystanders(b)

    def why(text: str) -> str:
        return f"e-bike charging in {b.id}: {text}"

    stage.expect(
        camera.id,
        rule=Rule.CAMERA_HOTSPOT,
        within=1000,
        why=why("the battery passes 55 °C (25 °C over the night roofs) at +690 s"),
    )
    stage.expect(
        camera.id,
        rule=Rule.CAMERA_SUDDEN_RISE,
        within=1000,
        why=why("thermal runaway: 70 to 300 °C between +900 and +915 s"),
    )
    stage.expect(
        camera.id,
        rule=Rule.CAMERA_SMOKE,
        alert_class=AlertClass.PREALARM,
        within=1000,
        why=why("the camera's analytics report smoke at +930 s"),
    )
    stage.expect(
        camera.id,
        rule=Rule.CAMERA_FIRE,
        alert_class=AlertClass.FIRE,
        within=1000,
        why=why("the camera's analytics report fire at +940 s"),
    )
    stage.expect(
        corridor.id,
        rule=Rule.SMOKE_ALARM,
        within=1020,
        why=why("the corridor detector alarms at +950 s"),
    )
    stage.expect(
        f"building:{b.id}",
        rule=Rule.CONFIRMED_FIRE,
        within=1050,
        why=why("camera fire at +940 s and the detector's alarm at +950 s"),
    )
    stage.forbid_trouble()
