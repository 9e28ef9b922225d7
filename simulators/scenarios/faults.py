"""Trouble and supervisory signals: a device going silent, a building's power cut, tamper."""

from __future__ import annotations

from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from simulators.scenarios.base import Stage
from simulators.topology import haversine_m


def device_offline(stage: Stage) -> None:
    """A monitor with a failing radio: it loses one message in six, then goes silent."""
    b = stage.pick_building(lambda b, ds: sum(d.kind is Kind.ELECTRICAL for d in ds) >= 2)
    failing = next(d for d in stage.quarter.in_building(b.id) if d.kind is Kind.ELECTRICAL)
    stage.monitor(failing, silent_from=stage.onset, loss=1 / 6)
    stage.bystanders(b)
    others = tuple(d.id for d in stage.quarter.in_building(b.id) if d.id != failing.id)
    why = f"{failing.id} in {b.id} goes silent"
    stage.expect(
        failing.id,
        rule=Rule.OFFLINE,
        alert_class=AlertClass.TROUBLE,
        within=1500,
        why=f"{why}: two 300 s heartbeats missed plus a margin",
    )
    stage.forbid(f"{why}: one silent device is no mass offline", rule=Rule.COMM_FAULT)
    stage.forbid(
        f"{why}: the rest of the building keeps reporting", rule=Rule.OFFLINE, subjects=others
    )
    stage.forbid(f"{why}: no fire", alert_class=AlertClass.FIRE)


def power_cut(stage: Stage) -> None:
    """The building's mains and its radio gateway go down together: every device in it falls
    silent at once; the next-door building, on another feeder, carries on."""
    b = stage.pick_building(
        lambda b, ds: sum(d.kind is Kind.ELECTRICAL for d in ds) >= 2 and len(ds) >= 8
    )
    neighbour = min(
        (n for n in stage.quarter.buildings if n.id not in (b.id, "B-001")),
        key=lambda n: haversine_m(n.lat, n.lon, b.lat, b.lon),
    )
    stage.bystanders(b, silent_from=stage.onset)
    stage.bystanders(neighbour)
    dark = tuple(d.id for d in stage.quarter.in_building(b.id))
    lit = tuple(d.id for d in stage.quarter.in_building(neighbour.id))
    why = f"power cut in {b.id}"
    stage.expect(
        f"building:{b.id}",
        rule=Rule.COMM_FAULT,
        alert_class=AlertClass.TROUBLE,
        within=8400,
        why=f"{why}: all {len(dark)} devices silent from the onset; "
        "the last to be missed are detectors with hourly heartbeats",
    )
    stage.forbid(
        f"{why}: the building's silence is rolled up into one communication fault; devices "
        "with short heartbeats may be reported offline before the rest falls silent, but "
        "not one alert per device",
        rule=Rule.OFFLINE,
        subjects=dark,
        max_count=len(dark) // 2,
    )
    stage.forbid(
        f"{why}: {neighbour.id} next door keeps reporting",
        alert_class=AlertClass.TROUBLE,
        subjects=(*lit, f"building:{neighbour.id}"),
    )
    stage.forbid(f"{why}: no fire", alert_class=AlertClass.FIRE)


def tamper(stage: Stage) -> None:
    """A tenant takes a detector off its base to stop it chirping; later someone bags the
    thermal camera on the roof."""
    q = stage.quarter
    b = stage.pick_building(
        lambda b, ds: any(d.model == "smoke" for d in ds) and bool(q.cameras_covering(b.id))
    )
    detector = stage.devices(b, "smoke")[0]
    camera = stage.camera_for(b)
    on = stage.onset
    stage.detector(detector)
    stage.event(on, detector, "tamper", {"switch": "removed from base"})
    stage.camera(camera, cover_from=on + 300)
    stage.event(on + 302, camera, "tamper", {"cause": "lens covered"})
    stage.bystanders(b)
    stage.bystanders(q.building(camera.building))
    stage.expect(
        detector.id,
        rule=Rule.TAMPER,
        alert_class=AlertClass.SUPERVISORY,
        within=60,
        why=f"{detector.id} reports its base switch at the onset",
    )
    stage.expect(
        camera.id,
        rule=Rule.TAMPER,
        alert_class=AlertClass.SUPERVISORY,
        within=60,
        onset=on + 300,
        why=f"{camera.id} reports its lens covered at +302 s",
    )
    stage.forbid("tamper is supervisory, no fire", alert_class=AlertClass.FIRE)
    stage.forbid_trouble()
