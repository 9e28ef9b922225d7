"""A video camera sends nothing: the engine never reports it offline, and it does not count
among a building's devices when many fall silent together."""

from __future__ import annotations

from contract.alarms import Rule
from contract.kinds import KIND_SPECS, Kind
from tests.alerts.test_rules import device, engine_with, reading, run, ts


def test_a_video_camera_heard_once_is_never_offline_however_long_it_is_silent() -> None:
    camera = device("VC1", Kind.VIDEO_CAMERA)
    smoke = device("S1", heartbeat_s=60)
    engine = engine_with(camera, smoke)
    engine.remember_heard({"VC1": ts(0), "S1": ts(0)})
    decisions = engine.tick(ts(30 * 86400))
    engine.commit()
    assert [(d.subject, d.rule) for d in decisions] == [("S1", Rule.OFFLINE)]
    assert not KIND_SPECS[Kind.VIDEO_CAMERA].telemetry and KIND_SPECS[Kind.SMOKE].telemetry


def test_video_cameras_do_not_hide_a_buildings_mass_silence() -> None:
    """Five of ten devices silent would be a communication fault; five silent detectors and
    five video cameras in one building are five of five devices that can fall silent."""
    detectors = [device(f"S{i}", heartbeat_s=60) for i in range(5)]
    cameras = [device(f"VC{i}", Kind.VIDEO_CAMERA) for i in range(6)]
    engine = engine_with(*detectors, *cameras)
    run(engine, [reading(d.id, 0, temperature_c=20.0) for d in detectors])
    engine.remember_heard({c.id: ts(0) for c in cameras})
    decisions = engine.tick(ts(600))
    assert [(d.subject, d.rule) for d in decisions] == [("building:B1", Rule.COMM_FAULT)]
    assert decisions[0].detail["devices_in_building"] == 5
