"""Video linkage through the API on the real database: the cameras an incident lists and
their order, a PTZ move through a local ISAPI camera requiring digest authentication, the
video check as a timeline step that wakes the live stream, cameras' logins never read back,
and every bad input answered with its own 4xx (or 502/504 for the camera's fault)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from contract.alarms import AlertClass, Rule
from settings import Settings
from store.notify import CHANNEL
from tests.api.alert_helpers import raise_alert
from tests.api.registry_helpers import Api
from tests.dispatch.isapi_camera import FakeCamera, closed_port, fake_camera, silent_camera

LAT, LON = 23.1, 113.27
M = 1 / 111_320  # a metre north, in degrees of latitude


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    """The app with a short camera timeout, so a silent camera costs the tests a second."""
    with TestClient(create_app(settings.model_copy(update={"camera_timeout_s": 1.0}))) as c:
        yield c


@pytest.fixture()
def camera() -> Iterator[FakeCamera]:
    with fake_camera() as found:
        yield found


def _dome(api: Api, suffix: str, *, url: str, shows: list[str], metres: float) -> str:
    config = {
        "model": "ptz_dome",
        "stream": "rtsp://10.20.0.15:554/Streaming/Channels/{channel}01",
        "presets": [
            {"name": "lane view", "number": 9, "buildings": [*shows, f"{api.site}-B2"]},
            {"name": "the door", "number": 2, "buildings": shows},
            {"name": "next door", "number": 3, "buildings": [f"{api.site}-B2"]},
        ],
        "ptz": {"driver": "isapi", "url": url, "channel": 1},
    }
    return str(
        api.device(suffix, kind="video_camera", lat=LAT + metres * M, lon=LON, config=config)["id"]
    )


def _login(api: Api, camera_id: str, password: str = "Circle of Life") -> None:
    response = api.as_("technician").put(
        f"/api/v1/cameras/{camera_id}/credentials",
        json={"username": "firewatch", "password": password},
    )
    assert response.status_code == 200, response.text


def _fire(api: Api, db: psycopg.Connection[Any], building: str) -> int:
    smoke = api.device(f"SD-{building[-2:]}", building=building)["id"]
    alert = raise_alert(
        db, smoke, Rule.SMOKE_ALARM, AlertClass.FIRE, site=api.site, building=building
    )
    incident = api.as_("viewer").get(f"/api/v1/alerts/{alert}").json()["alert"]["incident_id"]
    assert isinstance(incident, int)
    return incident


@pytest.fixture()
def place(api: Api) -> str:
    api.building("B2", lat=LAT + 300 * M, lon=LON)
    return api.building("B1", lat=LAT, lon=LON)


def _timeline(api: Api, incident: int) -> list[dict[str, Any]]:
    detail = api.as_("viewer").get(f"/api/v1/incidents/{incident}").json()
    return [e for e in detail["timeline"] if e["source"] == "incident"]


def test_an_incident_lists_its_cameras_presets_first_then_the_nearest_in_range(
    api: Api, db: psycopg.Connection[Any], place: str
) -> None:
    far_preset = _dome(api, "VC-FAR", url="http://10.0.0.1", shows=[place], metres=120)
    near_preset = _dome(api, "VC-NEAR", url="http://10.0.0.2", shows=[place], metres=40)
    fixed = api.device(
        "VC-FIX",
        kind="video_camera",
        lat=LAT + 30 * M,
        lon=LON,
        config={"stream": "https://video.x.local/player?c={camera}&p={preset}", "range_m": 60},
    )["id"]
    api.device("VC-OUT", kind="video_camera", lat=LAT + 80 * M, lon=LON, config={"range_m": 60})
    thermal = api.device(
        "TC1",
        kind="thermal_camera",
        lat=LAT + 20 * M,
        lon=LON,
        config={"stream": "https://video.x.local/hls/{camera}/index.m3u8"},
    )["id"]  # no preset on the building, but within a thermal dome's default 500 m
    gone = _dome(api, "VC-GONE", url="http://10.0.0.3", shows=[place], metres=10)
    api.as_("technician").delete(f"/api/v1/devices/{gone}")
    incident = _fire(api, db, place)
    _login(api, near_preset, password="never-shown-7")

    response = api.as_("viewer").get(f"/api/v1/incidents/{incident}/cameras")
    assert response.status_code == 200, response.text
    cameras = response.json()
    assert [(c["camera_id"], c["why"]) for c in cameras] == [
        (near_preset, "preset"),
        (far_preset, "preset"),
        (thermal, "nearby"),
        (fixed, "nearby"),
    ]
    near = cameras[0]
    assert near["distance_m"] == pytest.approx(40, abs=0.5)
    assert near["preset"] == {"name": "the door", "number": 2, "buildings": [place]}
    assert near["stream"] == {
        "url": "rtsp://10.20.0.15:554/Streaming/Channels/101",
        "type": "rtsp",
    }
    assert near["can_move"] is True and len(near["presets"]) == 3
    by_id = {c["camera_id"]: c for c in cameras}
    assert by_id[fixed]["stream"] == {
        "url": f"https://video.x.local/player?c={fixed}&p=",
        "type": "web",
    }
    assert by_id[fixed]["preset"] is None and by_id[fixed]["can_move"] is False
    assert by_id[thermal]["stream"]["type"] == "hls"
    assert "never-shown-7" not in response.text and "password" not in response.text
    limited = api.as_("viewer").get(f"/api/v1/incidents/{incident}/cameras", params={"limit": 1})
    assert [c["camera_id"] for c in limited.json()] == [near_preset]


def test_the_camera_list_refuses_what_it_cannot_answer(api: Api, place: str) -> None:
    viewer = api.as_("viewer")
    assert viewer.get("/api/v1/incidents/999999999/cameras").status_code == 404
    assert viewer.get("/api/v1/incidents/0/cameras").status_code == 422
    assert viewer.get("/api/v1/incidents/1/cameras", params={"limit": 0}).status_code == 422
    assert api.client.get("/api/v1/incidents/1/cameras").status_code == 401


def test_goto_moves_the_camera_to_its_preset_on_the_building_and_logs_the_step(
    api: Api, db: psycopg.Connection[Any], place: str, camera: FakeCamera
) -> None:
    dome = _dome(api, "VC1", url=camera.url, shows=[place], metres=40)
    _login(api, dome)
    incident = _fire(api, db, place)
    operator = api.as_("operator")
    moved = operator.post(f"/api/v1/incidents/{incident}/cameras/{dome}/goto")
    assert moved.status_code == 200, moved.text
    body = moved.json()
    assert (body["camera_id"], body["preset"]["number"], body["preset"]["name"]) == (
        dome,
        2,
        "the door",
    )
    assert camera.moves == [(1, 2)]
    path = "/ISAPI/PTZCtrl/channels/1/presets/2/goto"
    assert [(s.method, s.path, s.body, s.authorized) for s in camera.seen] == [
        ("PUT", path, b"", False),
        ("PUT", path, b"", True),
    ]
    chosen = operator.post(f"/api/v1/incidents/{incident}/cameras/{dome}/goto", json={"preset": 9})
    assert chosen.status_code == 200 and camera.moves == [(1, 2), (1, 9)]
    steps = [e for e in _timeline(api, incident) if e["action"] == "camera_goto"]
    assert [(e["actor"], e["detail"]) for e in steps] == [
        (f"operator-{api.site}", {"camera": dome, "preset": 2, "name": "the door"}),
        (f"operator-{api.site}", {"camera": dome, "preset": 9, "name": "lane view"}),
    ]
    assert steps[0]["id"] == body["log_id"]


def test_goto_refusals_name_what_is_missing(
    api: Api, db: psycopg.Connection[Any], place: str, camera: FakeCamera
) -> None:
    dome = _dome(api, "VC1", url=camera.url, shows=[place], metres=40)
    elsewhere = _dome(api, "VC2", url=camera.url, shows=[f"{api.site}-B2"], metres=50)
    fixed = api.device("VC3", kind="video_camera", config={"range_m": 60})["id"]
    unmoved = api.device("VC4", kind="video_camera", config={"ptz": {"url": camera.url}})["id"]
    smoke = api.device("SD9", building=place)["id"]
    incident = _fire(api, db, place)
    operator = api.as_("operator")
    url = f"/api/v1/incidents/{incident}/cameras"

    def refusal(camera_id: str, body: Any = None, who: str = "operator") -> tuple[int, str]:
        response = api.as_(who).post(f"{url}/{camera_id}/goto", json=body)
        return response.status_code, str(response.json()["detail"])

    code, text = refusal(dome)
    assert (code, "no login" in text and f"/api/v1/cameras/{dome}/credentials" in text) == (
        409,
        True,
    )
    _login(api, dome)
    _login(api, elsewhere)
    assert refusal(fixed) == (
        409,
        f"camera {fixed} cannot be moved: it has no PTZ control (config.ptz)",
    )
    assert refusal(unmoved) == (409, f"camera {unmoved} has no presets (config.presets)")
    code, text = refusal(elsewhere)
    assert code == 409 and f"no preset on {place}" in text and "3 (next door)" in text
    code, text = refusal(dome, {"preset": 7})
    assert code == 409 and "no preset 7" in text and "2 (the door)" in text
    assert refusal(smoke)[0] == 404  # a detector is no camera
    assert refusal("VC-nobody")[0] == 404
    assert operator.post(f"/api/v1/incidents/999999999/cameras/{dome}/goto").status_code == 404
    for bad in ({"preset": 0}, {"preset": "three"}, {"preset": 1001}, {"speed": 3}, [1]):
        code, _ = refusal(dome, bad)
        assert code == 422, bad
    bad_id = operator.post(f"{url}/bad%20id/goto")
    assert bad_id.status_code == 422
    assert refusal(dome, who="viewer")[0] == 403
    assert refusal(dome, who="technician")[0] == 403
    retired = _dome(api, "VC5", url=camera.url, shows=[place], metres=60)
    _login(api, retired)
    api.as_("technician").delete(f"/api/v1/devices/{retired}")
    assert refusal(retired) == (409, f"camera {retired} is decommissioned")
    assert camera.moves == []  # nothing refused reached the camera
    resolved = operator.post(f"/api/v1/incidents/{incident}/resolve", json={"cause": "false_alarm"})
    assert resolved.status_code == 200, resolved.text
    assert refusal(dome) == (409, f"incident {incident} is resolved")


def test_a_camera_that_fails_is_a_502_or_504_that_blocks_nothing(
    api: Api, db: psycopg.Connection[Any], place: str, camera: FakeCamera
) -> None:
    incident = _fire(api, db, place)
    operator = api.as_("operator")
    refused = _dome(api, "VC-REFUSE", url=closed_port(), shows=[place], metres=10)
    wrong = _dome(api, "VC-WRONG", url=camera.url, shows=[place], metres=20)
    for camera_id in (refused, wrong):
        _login(api, camera_id, password="Circle of Life" if camera_id == refused else "nope")
    answer = operator.post(f"/api/v1/incidents/{incident}/cameras/{refused}/goto")
    assert answer.status_code == 502 and "could not be reached" in answer.json()["detail"]
    answer = operator.post(f"/api/v1/incidents/{incident}/cameras/{wrong}/goto")
    assert answer.status_code == 502 and "refused the login" in answer.json()["detail"]
    with silent_camera() as url:
        silent = _dome(api, "VC-SILENT", url=url, shows=[place], metres=30)
        _login(api, silent)
        results: dict[str, Any] = {}

        def move() -> None:
            started = time.monotonic()
            results["answer"] = operator.post(f"/api/v1/incidents/{incident}/cameras/{silent}/goto")
            results["took"] = time.monotonic() - started

        mover = threading.Thread(target=move)
        mover.start()
        time.sleep(0.2)  # the move is waiting on the camera now
        started = time.monotonic()
        meanwhile = api.as_("viewer").get(f"/api/v1/incidents/{incident}")
        assert meanwhile.status_code == 200 and time.monotonic() - started < 0.5
        mover.join(timeout=10)
    answer = results["answer"]
    assert answer.status_code == 504, answer.text
    assert f"camera {silent} did not answer" in answer.json()["detail"]
    assert results["took"] < 3.0
    assert not [e for e in _timeline(api, incident) if e["action"] == "camera_goto"]


def test_the_video_check_is_a_timeline_step_that_wakes_the_stream(
    api: Api, db: psycopg.Connection[Any], database_url: str, place: str
) -> None:
    dome = _dome(api, "VC1", url="http://10.0.0.1", shows=[place], metres=40)
    incident = _fire(api, db, place)
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        response = api.as_("operator").post(
            f"/api/v1/incidents/{incident}/video-check",
            json={"camera_id": dome, "result": "smoke_seen", "note": "smoke at the 3F window"},
        )
        assert response.status_code == 201, response.text
        heard = [n.payload for n in listener.notifies(timeout=2, stop_after=1)]
    check = response.json()
    assert (check["incident_id"], check["camera_id"], check["result"], check["note"]) == (
        incident,
        dome,
        "smoke_seen",
        "smoke at the 3F window",
    )
    assert check["actor"] == f"operator-{api.site}"
    assert heard and f'"incident":{incident}' in heard[0] and '"change":"video_check"' in heard[0]
    [step] = [e for e in _timeline(api, incident) if e["action"] == "video_check"]
    assert step["id"] == check["id"] and step["actor"] == check["actor"]
    assert step["detail"] == {
        "camera": dome,
        "result": "smoke_seen",
        "note": "smoke at the 3F window",
    }
    assert step["from_state"] == step["to_state"] == "active_unack"  # a step, not a change
    bare = api.as_("admin").post(
        f"/api/v1/incidents/{incident}/video-check",
        json={"camera_id": dome, "result": "view_blocked"},
    )
    assert bare.status_code == 201 and bare.json()["note"] is None


def test_the_video_check_refuses_bad_input(
    api: Api, db: psycopg.Connection[Any], place: str
) -> None:
    dome = _dome(api, "VC1", url="http://10.0.0.1", shows=[place], metres=40)
    smoke = api.device("SD9")["id"]
    incident = _fire(api, db, place)
    url = f"/api/v1/incidents/{incident}/video-check"
    operator = api.as_("operator")
    good = {"camera_id": dome, "result": "nothing_seen"}
    for bad in (
        {"camera_id": dome, "result": "flames"},
        {"result": "fire_seen"},
        {"camera_id": dome},
        {**good, "extra": 1},
        {**good, "note": "x" * 2001},
        {**good, "note": "nul\u0000"},
        {**good, "camera_id": "bad id"},
    ):
        assert operator.post(url, json=bad).status_code == 422, bad
    assert operator.post(
        url, content=b"{", headers={"Content-Type": "application/json"}
    ).status_code in (400, 422)
    assert operator.post(url, json={**good, "camera_id": smoke}).status_code == 404
    assert operator.post(url, json={**good, "camera_id": "VC-none"}).status_code == 404
    assert operator.post("/api/v1/incidents/999999999/video-check", json=good).status_code == 404
    assert api.as_("viewer").post(url, json=good).status_code == 403
    assert api.as_("technician").post(url, json=good).status_code == 403
    assert api.client.post(url, json=good).status_code == 401
    assert not [e for e in _timeline(api, incident) if e["action"] == "video_check"]
    operator.post(f"/api/v1/incidents/{incident}/resolve", json={"cause": "real_fire"})
    late = operator.post(url, json=good)
    assert late.status_code == 409 and "resolved" in late.json()["detail"]


def test_a_cameras_login_is_set_shown_without_its_password_and_forgotten(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    dome = api.device("VC1", kind="video_camera")["id"]
    smoke = api.device("SD1")["id"]
    tech = api.as_("technician")
    url = f"/api/v1/cameras/{dome}/credentials"
    assert tech.get(url).status_code == 404
    saved = tech.put(url, json={"username": "firewatch", "password": "pa55 word!"})
    assert saved.status_code == 200
    assert saved.json()["camera_id"] == dome and saved.json()["username"] == "firewatch"
    assert saved.json()["updated_by"] == f"technician-{api.site}"
    for answer in (
        saved,
        tech.get(url),
        tech.get(f"/api/v1/devices/{dome}"),
        tech.get(f"/api/v1/devices/{dome}/audit"),
        tech.get("/api/v1/devices/export", params={"format": "json"}),
    ):
        assert answer.status_code == 200 and "pa55 word!" not in answer.text
    stored = db.execute(
        "SELECT username, password FROM camera_credentials WHERE device_id = %s", (dome,)
    ).fetchone()
    assert stored == ("firewatch", "pa55 word!")  # kept for the digest answer
    audit = tech.get(f"/api/v1/devices/{dome}/audit").json()
    assert any(
        e["action"] == "set_camera_login" and e["detail"] == {"username": "firewatch"}
        for e in audit
    )
    for bad in (
        {"username": "a b", "password": "x"},
        {"username": "u"},
        {"username": "u", "password": "x", "realm": "r"},
    ):
        assert tech.put(url, json=bad).status_code == 422, bad
    for password in ("", "tab\there", "x" * 129):
        refused = tech.put(url, json={"username": "u", "password": password})
        assert refused.status_code == 422
        assert refused.json()["detail"][0]["loc"] == ["body", "password"]
        assert password not in str(refused.json()["detail"][0].get("input")) or not password
    assert (
        tech.put(
            f"/api/v1/cameras/{smoke}/credentials", json={"username": "u", "password": "p"}
        ).status_code
        == 404
    )
    assert (
        tech.put(
            "/api/v1/cameras/VC-none/credentials", json={"username": "u", "password": "p"}
        ).status_code
        == 404
    )
    for role in ("operator", "viewer"):
        assert api.as_(role).put(url, json={"username": "u", "password": "p"}).status_code == 403
        assert api.as_(role).get(url).status_code == 403
    assert tech.delete(url).status_code == 204
    assert tech.get(url).status_code == 404 and tech.delete(url).status_code == 404


def test_a_login_is_not_sent_to_a_camera_address_on_another_host(
    api: Api, db: psycopg.Connection[Any], place: str, camera: FakeCamera
) -> None:
    """Review finding: a PTZ address moved to another host got the stored login's digest
    answers. Moved, the camera must be given its login again; within its host it keeps it."""
    dome = _dome(api, "VC1", url=camera.url, shows=[place], metres=40)
    _login(api, dome)
    incident = _fire(api, db, place)
    operator, tech = api.as_("operator"), api.as_("technician")
    goto = f"/api/v1/incidents/{incident}/cameras/{dome}/goto"

    def ptz(url: str) -> None:
        config = tech.get(f"/api/v1/devices/{dome}").json()["config"]
        patched = tech.patch(
            f"/api/v1/devices/{dome}",
            json={"config": {**config, "ptz": {**config["ptz"], "url": url}}},
        )
        assert patched.status_code == 200, patched.text

    ptz(camera.url.replace("127.0.0.1", "localhost"))
    refused = operator.post(goto)
    assert refused.status_code == 409, refused.text
    assert "set its login again" in refused.json()["detail"]
    assert camera.seen == []  # nothing went to the camera, let alone a digest answer
    ptz(camera.url + "/")  # back on the login's host: another path is the same camera
    assert operator.post(goto).status_code == 200
    ptz(camera.url.replace("127.0.0.1", "localhost"))
    _login(api, dome)  # given again for the new host
    assert operator.post(goto).status_code == 200
    assert camera.moves == [(1, 2), (1, 2)]
