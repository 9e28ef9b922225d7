"""Video linkage, pure: the order cameras are offered in, which preset shows a building, and
the stream address each camera's template gives."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dispatch.video import Place, Why, link, preset_for, stream_address, stream_type

LAT, LON = 23.1, 113.27
M = 1 / 111_320


def _camera(
    camera_id: str,
    metres: float | None,
    *,
    kind: str = "video_camera",
    presets: list[dict[str, Any]] | None = None,
    range_m: float | None = None,
) -> dict[str, Any]:
    config: dict[str, Any] = {}
    if presets is not None:
        config["presets"] = presets
    if range_m is not None:
        config["range_m"] = range_m
    return {
        "id": camera_id,
        "kind": kind,
        "lat": None if metres is None else LAT + metres * M,
        "lon": None if metres is None else LON,
        "config": config,
    }


def _on(building: str, number: int = 1) -> list[dict[str, Any]]:
    return [{"name": f"p{number}", "number": number, "buildings": [building]}]


def test_the_cameras_own_then_presets_nearest_first_then_nearby_within_range() -> None:
    place = Place(building="B1", lat=LAT, lon=LON, origin="TC-ORIGIN")
    cameras = [
        _camera("FAR-PRESET", 900, presets=_on("B1")),  # a preset counts whatever the range
        _camera("NEAR-PRESET", 90, presets=_on("B1", 4)),
        _camera("NO-POSITION", None, presets=_on("B1")),
        _camera("NEARBY", 30, range_m=60),
        _camera("OUT-OF-RANGE", 80, range_m=60),
        _camera("OTHER-PRESET", 10, presets=_on("B2")),  # sees B2; B1 is within its 150 m
        _camera("THERMAL", 400, kind="thermal_camera"),  # a thermal dome sees 500 m
        _camera("TC-ORIGIN", 700, kind="thermal_camera"),
    ]
    found = link(place, cameras, limit=20)
    assert [(f.camera["id"], f.why) for f in found] == [
        ("TC-ORIGIN", Why.ORIGIN),
        ("NEAR-PRESET", Why.PRESET),
        ("FAR-PRESET", Why.PRESET),
        ("NO-POSITION", Why.PRESET),
        ("OTHER-PRESET", Why.NEARBY),
        ("NEARBY", Why.NEARBY),
        ("THERMAL", Why.NEARBY),
    ]
    assert found[1].preset == {"name": "p4", "number": 4, "buildings": ["B1"]}
    assert found[1].distance_m is not None and math.isclose(found[1].distance_m, 90, rel_tol=2e-3)
    assert found[3].distance_m is None and found[4].preset is None
    assert [f.camera["id"] for f in link(place, cameras, limit=2)] == ["TC-ORIGIN", "NEAR-PRESET"]


def test_the_closest_view_of_a_building_is_its_preset() -> None:
    config = {
        "presets": [
            {"name": "lane", "number": 1, "buildings": ["B1", "B2", "B3"]},
            {"name": "door", "number": 7, "buildings": ["B1"]},
            {"name": "window", "number": 5, "buildings": ["B1"]},
        ]
    }
    assert preset_for(config, "B1") == {"name": "window", "number": 5, "buildings": ["B1"]}
    assert preset_for(config, "B3") == config["presets"][0]
    assert preset_for(config, "B9") is None and preset_for({}, "B1") is None


def test_a_stream_template_is_filled_in_and_typed() -> None:
    rtsp = stream_address(
        "rtsp://10.0.0.1:554/Streaming/Channels/{channel}01", camera="VC 1", channel=2, preset=3
    )
    assert rtsp == "rtsp://10.0.0.1:554/Streaming/Channels/201" and stream_type(rtsp) == "rtsp"
    web = stream_address(
        "https://v.local/play?cam={camera}&p={preset}&x={{literal}}",
        camera="VC/1&2",
        channel=1,
        preset=None,
    )
    assert web == "https://v.local/play?cam=VC%2F1%262&p=&x={literal}"
    assert stream_type(web) == "web"
    assert stream_type("https://v.local/hls/VC-1/index.m3u8") == "hls"


distances = st.one_of(st.none(), st.floats(min_value=0, max_value=3000))


@given(
    st.lists(
        st.tuples(distances, st.booleans(), st.sampled_from([None, 50.0, 150.0, 600.0])),
        max_size=25,
    ),
    st.integers(min_value=1, max_value=30),
)
def test_every_camera_offered_can_show_the_place_in_order(
    specs: list[tuple[float | None, bool, float | None]], limit: int
) -> None:
    place = Place(building="B1", lat=LAT, lon=LON)
    cameras = [
        _camera(f"C{i:02d}", metres, presets=_on("B1") if preset else None, range_m=range_m)
        for i, (metres, preset, range_m) in enumerate(specs)
    ]
    found = link(place, cameras, limit=limit)
    eligible, borderline = set(), set()
    for camera, (metres, preset, range_m) in zip(cameras, specs, strict=True):
        reach = 150.0 if range_m is None else range_m
        # Due north: the great-circle distance is the arc of the latitude difference.
        distance = None if metres is None else 6_371_008.8 * math.radians(metres * M)
        if preset or (distance is not None and distance < reach - 1e-6):
            eligible.add(camera["id"])
        elif distance is not None and abs(distance - reach) <= 1e-6:
            borderline.add(camera["id"])
    ids = [f.camera["id"] for f in found]
    assert len(ids) == len(set(ids)) and set(ids) <= eligible | borderline
    if limit >= len(eligible | borderline):
        assert eligible <= set(ids)
    else:
        assert len(ids) == limit
    whys = [f.why for f in found]
    assert whys == sorted(whys, key=[Why.ORIGIN, Why.PRESET, Why.NEARBY].index)
    for why in (Why.PRESET, Why.NEARBY):
        group = [f.distance_m for f in found if f.why is why]
        known = [d for d in group if d is not None]
        assert known == sorted(known) and group == known + [None] * (len(group) - len(known))
    for f in found:
        assert (f.preset is not None) == (f.why is Why.PRESET)
