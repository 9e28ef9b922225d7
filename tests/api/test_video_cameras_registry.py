"""Video cameras in the registry: their config (stream, presets, PTZ control, range) checked
with the offending key named, thermal domes' presets too, the buildings presets show held to
the registry, never offline, and carried by bulk import and export (JSON and CSV) unchanged."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.api.registry_helpers import Api

CSV = {"Content-Type": "text/csv"}
JSON = {"Content-Type": "application/json"}


def _dome(building: str, **extra: Any) -> dict[str, Any]:
    return {
        "model": "ptz_dome",
        "stream": "rtsp://10.20.0.15:554/Streaming/Channels/{channel}01",
        "presets": [
            {"name": "lane door", "number": 1, "buildings": [building]},
            {"name": "lane view", "number": 9, "buildings": [building]},
        ],
        "ptz": {"driver": "isapi", "url": "http://10.20.0.15", "channel": 1},
        "range_m": 150,
        **extra,
    }


def test_a_video_camera_registers_with_its_presets_and_is_never_offline(api: Api) -> None:
    building = api.building("B1", lat=23.1, lon=113.27)
    camera = api.device("VC1", kind="video_camera", building=building, config=_dome(building))
    assert camera["heartbeat_s"] == 86400 and camera["config"] == _dome(building)
    again = api.as_("viewer").get(f"/api/v1/devices/{camera['id']}").json()
    assert again["online"] is True  # never heard, and never offline for it
    overview = api.as_("viewer").get("/api/v1/overview", params={"site": api.site}).json()
    assert overview["devices"]["by_kind"]["video_camera"]["offline"] == 0
    assert overview["devices"]["by_kind"]["video_camera"]["online"] == 1
    kinds = {k["kind"]: k for k in api.as_("viewer").get("/api/v1/device-kinds").json()}
    video = kinds["video_camera"]
    assert (video["telemetry"], video["metrics"], video["events"]) == (False, [], [])
    keys = {c["key"]: c for c in video["config"]}
    assert set(keys) == {"model", "stream", "presets", "ptz", "range_m"}
    assert (keys["range_m"]["default"], keys["range_m"]["max"]) == (150.0, 2000.0)
    thermal = {c["key"] for c in kinds["thermal_camera"]["config"]}
    assert {"covers", "presets", "stream", "ptz", "range_m"} <= thermal
    assert kinds["smoke"]["telemetry"] is True


@pytest.mark.parametrize(
    ("config", "field", "words"),
    [
        ({"stream": "rtsp://admin:12345@10.0.0.1/live"}, "stream", "holds a login"),
        ({"stream": "rtsp://10.0.0.1/{channel}/{user}"}, "stream", "unknown field 'user'"),
        ({"stream": "rtsp://10.0.0.1/{"}, "stream", "not a template"),
        ({"stream": "ftp://10.0.0.1/live"}, "stream", "rtsp://, rtsps://, http://"),
        ({"stream": "rtsp://10.0.0.1:port/live"}, "stream", "not a URL"),
        ({"presets": [{"name": "a", "number": 0, "buildings": ["X"]}]}, "presets.0.number", ""),
        ({"presets": [{"name": "a", "number": 1, "buildings": []}]}, "presets.0.buildings", ""),
        (
            {"presets": [{"name": "a", "number": 1, "buildings": ["X"], "zoom": 2}]},
            "presets.0.zoom",
            "unknown key",
        ),
        (
            {
                "presets": [
                    {"name": "a", "number": 4, "buildings": ["X"]},
                    {"name": "b", "number": 4, "buildings": ["X"]},
                ]
            },
            "presets",
            "preset number 4 appears twice",
        ),
        ({"presets": {"name": "a"}}, "presets", "list"),
        ({"ptz": {"url": "http://admin:pw@10.0.0.1"}}, "ptz.url", "no login"),
        ({"ptz": {"url": "http://10.0.0.1", "driver": "onvif"}}, "ptz.driver", "isapi"),
        ({"ptz": {"url": "http://10.0.0.1", "channel": 0}}, "ptz.channel", ""),
        ({"range_m": 5000}, "range_m", "between 10 and 2000"),
        ({"range_m": "far"}, "range_m", "metres"),
        ({"rules": {"fixed_c": 60}}, "rules", "video_camera devices have no 'rules'"),
        ({"covers": ["X"]}, "covers", "video_camera devices have no 'covers'"),
    ],
)
def test_a_wrong_camera_config_is_a_422_naming_the_key(
    api: Api, config: dict[str, Any], field: str, words: str
) -> None:
    body = {"id": f"{api.site}-VC1", "kind": "video_camera", "site": api.site, "config": config}
    response = api.as_("technician").post("/api/v1/devices", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["ctx"]["field"] == field and words in error["msg"]


def test_a_smoke_detector_has_no_presets_and_a_thermal_dome_has(api: Api) -> None:
    building = api.building("B1")
    smoke = {"id": f"{api.site}-SD1", "kind": "smoke", "site": api.site}
    refused = api.as_("technician").post(
        "/api/v1/devices", json={**smoke, "config": {"presets": []}}
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["ctx"]["field"] == "presets"
    dome = api.device(
        "TC1", kind="thermal_camera", config={"covers": [building], **_dome(building)}
    )
    assert dome["config"]["presets"][1]["number"] == 9


def test_the_buildings_a_preset_shows_must_be_registered_and_stay(api: Api) -> None:
    shown = api.building("B1")
    tech = api.as_("technician")
    body = {
        "id": f"{api.site}-VC1",
        "kind": "video_camera",
        "site": api.site,
        "config": {"presets": [{"name": "x", "number": 2, "buildings": [shown, "nowhere"]}]},
    }
    refused = tech.post("/api/v1/devices", json=body)
    assert refused.status_code == 422
    [error] = refused.json()["detail"]
    assert error["loc"] == ["body", "config", "presets", "0", "buildings"]
    assert "'nowhere' is not registered" in error["msg"]
    camera = api.device("VC2", kind="video_camera", config=_dome(shown))
    blocked = tech.delete(f"/api/v1/buildings/{shown}")
    assert blocked.status_code == 409 and "preset" in blocked.json()["detail"]
    tech.delete(f"/api/v1/devices/{camera['id']}")  # decommissioned: no longer holds it
    assert tech.delete(f"/api/v1/buildings/{shown}").status_code == 204


def test_bulk_import_and_export_carry_video_cameras_unchanged(api: Api) -> None:
    site, tech = api.site, api.as_("technician")
    b1, b2 = f"{site}-B1", f"{site}-B2"
    fixed = {"model": "bullet", "stream": "https://video.x.local/live/{camera}.m3u8"}
    document: dict[str, list[dict[str, Any]]] = {
        "buildings": [{"id": b1, "lat": 23.1, "lon": 113.27}, {"id": b2}],
        "devices": [
            {
                "id": f"{site}-VC1",
                "kind": "video_camera",
                "site": site,
                "building": b1,
                "lat": 23.1001,
                "lon": 113.2701,
                "config": _dome(b1, presets=[{"name": "two", "number": 3, "buildings": [b1, b2]}]),
            },
            {"id": f"{site}-VC2", "kind": "video_camera", "site": site, "config": fixed},
        ],
    }
    report = tech.post("/api/v1/devices/import", content=orjson.dumps(document), headers=JSON)
    assert report.status_code == 200, report.text
    assert sorted(report.json()["created"]) == [f"{site}-VC1", f"{site}-VC2"]
    exported = orjson.loads(tech.get("/api/v1/devices/export", params={"format": "json"}).content)
    mine = {d["id"]: d for d in exported["devices"] if d["site"] == site}
    for sent in document["devices"]:
        assert mine[sent["id"]]["config"] == sent["config"]
        assert mine[sent["id"]]["kind"] == "video_camera"
        assert mine[sent["id"]]["heartbeat_s"] == 86400
    as_csv = tech.get("/api/v1/devices/export", params={"format": "csv"})
    lines = [line for line in as_csv.text.splitlines()[1:] if f"{site}-VC" in line]
    back = tech.post(
        "/api/v1/devices/import",
        content=(as_csv.text.splitlines()[0] + "\r\n" + "\r\n".join(lines) + "\r\n").encode(),
        headers=CSV,
    )
    assert back.status_code == 200, back.text
    assert (back.json()["created"], back.json()["updated"], back.json()["unchanged"]) == (
        [],
        [],
        2,
    )
    # A preset on a building the file does not hold nor the registry knows: a row error.
    stray = {
        "devices": [
            {
                "id": f"{site}-VC3",
                "kind": "video_camera",
                "site": site,
                "config": {"presets": [{"name": "n", "number": 1, "buildings": ["gone"]}]},
            }
        ]
    }
    refused = tech.post("/api/v1/devices/import", content=orjson.dumps(stray), headers=JSON)
    assert refused.status_code == 422 and not refused.json()["ok"]
    [error] = refused.json()["errors"]
    assert (error["field"], error["reason"]) == (
        "config.presets.0.buildings",
        "building 'gone' is not registered",
    )
