"""The quarter: its figures, its coverage, its import format, its determinism."""

from __future__ import annotations

import math
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson

from contract.kinds import Kind
from registry.schemas import DeviceCreate
from simulators.topology import Quarter, build_quarter, load_quarter

ROOT = Path(__file__).resolve().parents[2]

# Every kind that speaks MQTT: a video camera sends nothing, and a fire panel's components
# and transmission devices speak GB/T 26875.3 (gateways/, firewatch/demo_gateways.py).
MQTT_KINDS = set(Kind) - {Kind.VIDEO_CAMERA, Kind.PANEL, Kind.TRANSMITTER}


def _distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine, written out again here rather than trusting the module under test."""
    r = 6371.0088e3
    dphi, dl = math.radians(lat2 - lat1), math.radians(lon2 - lon1)
    a = (
        math.sin(dphi / 2) ** 2
        + math.cos(math.radians(lat1)) * math.cos(math.radians(lat2)) * math.sin(dl / 2) ** 2
    )
    return 2 * r * math.asin(math.sqrt(a))


def test_the_quarter_has_the_issues_figures(quarter: Quarter) -> None:
    models = Counter(d.model for d in quarter.devices)
    assert 250 <= len(quarter.buildings) <= 500
    assert models["smoke"] == 1000
    assert models["electrical"] == 457
    assert models["thermal_dome"] == 14
    assert len(quarter.devices) >= 3000
    assert {d.kind for d in quarter.devices} == MQTT_KINDS
    lat = sum(b.lat for b in quarter.buildings) / len(quarter.buildings)
    lon = sum(b.lon for b in quarter.buildings) / len(quarter.buildings)
    assert abs(lat - 23.10) < 0.005 and abs(lon - 113.27) < 0.005
    rented = {b.id for b in quarter.buildings if b.rented}
    in_rented = sum(d.building in rented for d in quarter.devices if d.model == "electrical")
    assert in_rented / 457 >= 0.8 > len(rented) / len(quarter.buildings)
    assert all(quarter.in_building(b.id) for b in quarter.buildings)
    assert len({d.id for d in quarter.devices}) == len(quarter.devices)


def test_each_camera_covers_exactly_the_buildings_within_500_m(quarter: Quarter) -> None:
    cameras = [d for d in quarter.devices if d.kind is Kind.THERMAL_CAMERA]
    for camera in cameras:
        within = {
            b.id
            for b in quarter.buildings
            if _distance_m(camera.lat, camera.lon, b.lat, b.lon) <= 500
        }
        assert set(camera.config["covers"]) == within
        assert 0 < len(within) < len(quarter.buildings)  # a camera sees part of the quarter
    assert all(quarter.cameras_covering(b.id) for b in quarter.buildings)


def test_the_import_document_holds_registry_rows(quarter: Quarter) -> None:
    doc = quarter.document()
    assert set(doc) == {"buildings", "devices"}
    for building in doc["buildings"]:
        assert set(building) == {"id", "name", "address", "lat", "lon", "zone", "rented"}
    for row in doc["devices"]:
        assert set(row) == set(DeviceCreate.model_fields)
        DeviceCreate.model_validate(row)
    ids = [r["id"] for r in doc["devices"]]
    assert {"SD-0001", "EF-0001", "TC-01", "MS-0001", "HD-0001", "MC-0001", "VC-001"} <= set(ids)
    assert doc["buildings"][0]["id"] == "B-001"


def test_the_same_seed_gives_the_same_quarter_and_another_seed_another() -> None:
    one, two = build_quarter(seed=11).document(), build_quarter(seed=11).document()
    assert orjson.dumps(one) == orjson.dumps(two)
    assert orjson.dumps(one) != orjson.dumps(build_quarter(seed=12).document())


def test_a_scaled_up_quarter_keeps_every_kind_and_its_coverage() -> None:
    big = load_quarter(seed=7, site="zilai", devices=10_000)
    assert len(big.devices) == 10_000
    assert {d.kind for d in big.devices} == MQTT_KINDS
    camera = next(d for d in reversed(big.devices) if d.kind is Kind.THERMAL_CAMERA)
    for building_id in camera.config["covers"][:50]:
        b = big.building(building_id) if building_id in {x.id for x in big.buildings} else None
        if b is not None:
            assert _distance_m(camera.lat, camera.lon, b.lat, b.lon) <= 500


def test_the_console_script_writes_the_topology(tmp_path: Path) -> None:
    out = tmp_path / "quarter.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "firewatch",
            "simulate",
            "topology",
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "320 buildings, 3031 devices and 122 video cameras" in result.stdout
    doc = orjson.loads(out.read_bytes())
    assert len(doc["devices"]) == 3031 + 122


def test_the_quarter_registers_122_video_cameras_with_streams_and_presets_nearby(
    quarter: Quarter,
) -> None:
    cameras = quarter.video_cameras
    assert len(cameras) == 122 and len({c.id for c in cameras}) == 122
    assert {c.kind for c in cameras} == {Kind.VIDEO_CAMERA}
    assert not {c.id for c in cameras} & {d.id for d in quarter.devices}  # none publishes
    doc_ids = {r["id"] for r in quarter.document()["devices"]}
    assert {c.id for c in cameras} <= doc_ids
    buildings = {b.id: b for b in quarter.buildings}
    domes = [c for c in cameras if c.config.get("ptz")]
    assert 30 <= len(domes) < len(cameras)  # PTZ domes and fixed cameras both
    for camera in cameras:
        DeviceCreate.model_validate(camera.registry_row())
        host = buildings[camera.building]
        assert _distance_m(camera.lat, camera.lon, host.lat, host.lon) < 30
        assert camera.config["stream"].startswith(("rtsp://", "https://"))
        for preset in camera.config.get("presets", ()):
            for shown in preset["buildings"]:
                b = buildings[shown]
                assert _distance_m(camera.lat, camera.lon, b.lat, b.lon) <= camera.config["range_m"]
    for dome in domes:
        presets = dome.config["presets"]
        assert presets and len({p["number"] for p in presets}) == len(presets)
        # Its nearest building has the first preset.
        nearest = min(
            buildings.values(), key=lambda b: _distance_m(dome.lat, dome.lon, b.lat, b.lon)
        )
        assert presets[0]["buildings"] == [nearest.id]
    # Cameras are spread over the quarter: many buildings have one within range.
    seen = {b for c in domes for p in c.config["presets"] for b in p["buildings"]}
    assert len(seen) >= 100


def test_thermal_domes_have_presets_on_buildings_they_cover(quarter: Quarter) -> None:
    for camera in (d for d in quarter.devices if d.kind is Kind.THERMAL_CAMERA):
        presets = camera.config["presets"]
        assert presets and all(p["number"] >= 1 for p in presets)
        assert {b for p in presets for b in p["buildings"]} <= set(camera.config["covers"])


def test_video_cameras_are_the_same_for_a_seed_and_another_seed_moves_them() -> None:
    one = build_quarter(seed=11).video_cameras
    assert one == build_quarter(seed=11).video_cameras
    assert [c.building for c in one] != [c.building for c in build_quarter(seed=12).video_cameras]


def test_a_cut_quarter_keeps_video_presets_on_its_own_buildings() -> None:
    small = load_quarter(seed=7, site="zilai", devices=500)
    used = {b.id for b in small.buildings}
    assert small.video_cameras and all(c.building in used for c in small.video_cameras)
    shown = {
        b for c in small.video_cameras for p in c.config.get("presets", ()) for b in p["buildings"]
    }
    assert shown and shown <= used
