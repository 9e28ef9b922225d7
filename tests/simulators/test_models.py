"""The device models behave like the quarter's devices over a day, and speak the contract."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from contract.codec import Limits, check_kind, decode
from contract.kinds import Kind
from contract.messages import Decoded
from simulators.environment import GUANGZHOU, Curve
from simulators.live import LiveTraffic
from simulators.models.camera import ThermalCamera
from simulators.models.electrical import ElectricalMonitor
from simulators.models.smoke import INSTALLED_AT, SmokeDetector
from simulators.topology import Quarter

DAY = datetime(2025, 6, 12, tzinfo=GUANGZHOU)

# Every kind that speaks MQTT: a video camera sends nothing, and a fire panel's components
# and transmission devices speak GB/T 26875.3 (gateways/, firewatch/demo_gateways.py).
MQTT_KINDS = set(Kind) - {Kind.VIDEO_CAMERA, Kind.PANEL, Kind.TRANSMITTER}


def at(hour: float, days: int = 0) -> float:
    return (DAY + timedelta(days=days, hours=hour)).timestamp()


def test_residual_current_follows_the_evening_load_within_100_to_200_ma() -> None:
    rng = random.Random(1)
    for n in range(1, 30):
        monitor = ElectricalMonitor.for_device(f"EF-{n:04d}", 7)
        night = monitor.values(at(4), rng)
        evening = monitor.values(at(20), rng)
        assert 95 <= night["residual_current_ma"] < evening["residual_current_ma"] <= 205
        assert night["cable_temp_c"] < evening["cable_temp_c"] < 70
        assert night["current_a"] < evening["current_a"]


def test_detectors_drift_with_dust_but_never_reach_a_prealarm_on_their_own() -> None:
    rng = random.Random(2)
    for n in range(1, 30):
        detector = SmokeDetector.for_device(f"SD-{n:04d}", "smoke", 7)
        year = [
            detector.values(at(12, days=d), rng)["obscuration_pct_per_m"]
            for d in range(0, 1500, 30)
        ]
        assert max(year) < 1.0
        late, early = INSTALLED_AT + 300 * 86400, INSTALLED_AT + 10 * 86400
        assert detector.dust_pct_per_m(late) > detector.dust_pct_per_m(early) + 0.05
        assert detector.battery_pct(at(0, days=1000)) > 20
    assert "obscuration_pct_per_m" not in SmokeDetector.for_device("HD-1", "heat", 7).values(
        at(12), rng
    )


def test_roofs_warm_in_the_sun_and_nothing_in_a_quiet_scene_looks_like_fire() -> None:
    camera = ThermalCamera("TC-01", 7)
    night, noon = camera.frame(at(4)), camera.frame(at(13.5))
    assert camera.region_values(noon)["avg_temp_c"] > camera.region_values(night)["avg_temp_c"] + 5
    assert max(float(camera.frame(at(h)).max()) for h in range(24)) < 50
    assert (camera.frame(at(9)) == camera.frame(at(9))).all()  # deterministic per moment


def test_a_curve_interpolates_and_holds_its_ends() -> None:
    curve = Curve([(0, 0), (10, 5), (20, 5)])
    assert (curve(-5), curve(5), curve(15), curve(99)) == (0, 2.5, 5, 5)
    assert curve.scaled(2, delay=10)(15) == 5


def test_live_traffic_speaks_the_contract_for_every_kind(quarter: Quarter) -> None:
    devices = [d for d in quarter.devices if d.building in ("B-049", "B-030")]
    # Video cameras are registered (quarter.video_cameras) and say nothing: no traffic of theirs.
    assert {d.kind for d in devices} == MQTT_KINDS
    assert {d.kind for d in quarter.video_cameras} == {Kind.VIDEO_CAMERA}
    traffic = LiveTraffic(devices, seed=7)
    now = datetime.now(GUANGZHOU)
    channels = set()
    for n in range(len(devices) * 6):
        topic, payload = traffic.next_message(now.timestamp() + n)
        message = decode(topic, payload, now=now + timedelta(seconds=n), limits=Limits())
        assert isinstance(message, Decoded), message
        assert check_kind(message, quarter.device(message.device_id).kind) is None
        channels.add(message.channel.value)
    assert channels == {"reading", "status", "frame"}
