"""The device resource: CRUD, filters and pages, config validation, lifecycle, replacement,
audit, the technician's alert view, and who may do what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from registry.lifecycle import TRANSITIONS
from store.device_lifecycle import end_due_maintenance
from tests.api.registry_helpers import Api
from tests.tokens import auth


def _locs(response: Any) -> set[tuple[str, ...]]:
    return {tuple(str(p) for p in e["loc"]) for e in response.json()["detail"]}


def test_register_returns_the_broker_password_once_and_stores_only_its_hash(
    api: Api, db: psycopg.Connection[Any], site: str
) -> None:
    building = api.building()
    device = api.device("SD1", building=building, floor=2, room="corridor")
    assert device["status"] == "active" and device["heartbeat_s"] == 3600
    password = device["mqtt_password"]
    assert len(password) >= 24
    stored = db.execute(
        "SELECT password_hash FROM device_credentials WHERE device_id = %s", (device["id"],)
    ).fetchone()
    assert stored is not None and password not in stored[0] and stored[0].startswith("$7$")
    again = api.as_("technician").get(f"/api/v1/devices/{device['id']}")
    assert again.status_code == 200 and "mqtt_password" not in again.json()
    assert again.json()["building"] == building


def test_a_device_may_start_in_commissioning(api: Api) -> None:
    assert api.device("SD1", status="commissioning")["status"] == "commissioning"
    refused = api.as_("technician").post(
        "/api/v1/devices",
        params={"status": "maintenance"},
        json={"id": f"{api.site}-SD2", "kind": "smoke", "site": api.site},
    )
    assert refused.status_code == 422 and ("query", "status") in _locs(refused)


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"rules": {"fixed_c": 500}}, "rules.fixed_c"),
        ({"rules": {"fixd_c": 60}}, "rules.fixd_c"),
        ({"rules": {"fixed_c": "hot"}}, "rules.fixed_c"),
        ({"rules": 5}, "rules"),
        ({"colour": "red"}, "colour"),
        ({"covers": ["B-1"]}, "covers"),
        ({"thermal": {"alarm_c": 60}}, "thermal"),
        ({"model": ""}, "model"),
    ],
)
def test_a_wrong_config_is_a_422_naming_the_field(
    api: Api, config: dict[str, Any], field: str
) -> None:
    body = {"id": f"{api.site}-SD1", "kind": "smoke", "site": api.site, "config": config}
    response = api.as_("technician").post("/api/v1/devices", json=body)
    assert response.status_code == 422, response.text
    [error] = response.json()["detail"]
    assert error["loc"] == ["body", "config"]
    assert error["ctx"]["field"] == field and field in error["msg"]


@pytest.mark.parametrize(
    ("thermal", "field"),
    [
        ({"alarm_c": 40}, "thermal.alarm_c"),
        ({"alarm": 60}, "thermal.alarm"),
        ({"dwell_s": True}, "thermal.dwell_s"),
    ],
)
def test_camera_thresholds_are_checked_by_the_camera_analysis(
    api: Api, thermal: dict[str, Any], field: str
) -> None:
    building = api.building()
    body = {
        "id": f"{api.site}-TC1",
        "kind": "thermal_camera",
        "site": api.site,
        "config": {"covers": [building], "thermal": thermal},
    }
    response = api.as_("technician").post("/api/v1/devices", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"][0]["ctx"]["field"] == field


def test_a_camera_covers_registered_buildings_only(api: Api) -> None:
    building = api.building()
    camera = api.device(
        "TC1",
        kind="thermal_camera",
        building=building,
        config={"covers": [building], "thermal": {"alarm_c": 60}},
    )
    assert camera["config"]["covers"] == [building]
    body = {
        "id": f"{api.site}-TC2",
        "kind": "thermal_camera",
        "site": api.site,
        "config": {"covers": [building, "nowhere"]},
    }
    response = api.as_("technician").post("/api/v1/devices", json=body)
    assert response.status_code == 422
    assert _locs(response) == {("body", "config", "covers")}
    assert "nowhere" in response.json()["detail"][0]["msg"]


def test_unknown_fields_bad_values_and_unknown_buildings_are_422(api: Api) -> None:
    tech = api.as_("technician")
    base = {"id": f"{api.site}-SD1", "kind": "smoke", "site": api.site}
    for extra, loc in (
        ({"colour": "red"}, ("body", "colour")),
        ({"floor": 999}, ("body", "floor")),
        ({"lat": 91}, ("body", "lat")),
        ({"kind": "toaster"}, ("body", "kind")),
        ({"site": "Upper"}, ("body", "site")),
        ({"heartbeat_s": 0}, ("body", "heartbeat_s")),
        ({"name": "x\u0000y"}, ("body", "name")),
        ({"building": "nowhere"}, ("body", "building")),
    ):
        response = tech.post("/api/v1/devices", json={**base, **extra})
        assert response.status_code == 422, (extra, response.text)
        assert loc in _locs(response), (extra, response.text)
    assert (
        tech.post(
            "/api/v1/devices", content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 422
    )


def test_a_second_registration_of_an_id_is_a_409(api: Api) -> None:
    api.device("SD1")
    again = api.as_("technician").post(
        "/api/v1/devices", json={"id": f"{api.site}-SD1", "kind": "smoke", "site": api.site}
    )
    assert again.status_code == 409 and "already registered" in again.json()["detail"]


def test_list_filters_sorts_and_pages_with_the_total(api: Api, db: psycopg.Connection[Any]) -> None:
    one, two = api.building("B1"), api.building("B2")
    for i in range(5):
        api.device(f"SD{i}", building=one, zone="G-1", name=f"kitchen {i}" if i % 2 else None)
    api.device("EF1", kind="electrical", building=two, zone="G-2")
    api.device("EF2", kind="electrical", building=two, status="commissioning")
    db.execute(
        "INSERT INTO device_status (device_id, last_seen, last_received_at, last_seq)"
        " VALUES (%s, now(), now(), 1)",
        (f"{api.site}-EF1",),
    )
    viewer = api.as_("viewer")

    def ids(**params: Any) -> tuple[list[str], int]:
        response = viewer.get("/api/v1/devices", params={"site": api.site, **params})
        assert response.status_code == 200, response.text
        body = response.json()
        return [d["id"].removeprefix(f"{api.site}-") for d in body["items"]], body["total"]

    assert ids() == (["EF1", "EF2", "SD0", "SD1", "SD2", "SD3", "SD4"], 7)
    assert ids(kind="electrical") == (["EF1", "EF2"], 2)
    assert ids(status="commissioning") == (["EF2"], 1)
    assert ids(building=one, limit=2) == (["SD0", "SD1"], 5)
    assert ids(building=one, limit=2, offset=4) == (["SD4"], 5)
    assert ids(building=one, limit=2, offset=10) == ([], 5)
    assert ids(zone="G-2") == (["EF1"], 1)
    assert ids(online=True) == (["EF1"], 1)
    assert ids(online=False)[1] == 6
    assert ids(q="KITCHEN") == (["SD1", "SD3"], 2)
    assert ids(q="%") == ([], 0)
    assert ids(sort="-id", limit=3) == (["SD4", "SD3", "SD2"], 7)
    assert ids(sort="kind", limit=2) == (["EF1", "EF2"], 7)
    online = viewer.get(f"/api/v1/devices/{api.site}-EF1").json()
    assert online["online"] is True and online["last_seen_at"] is not None
    for bad in (
        {"sort": "password"},
        {"limit": 0},
        {"limit": 5000},
        {"offset": -1},
        {"status": "lost"},
        {"kind": "toaster"},
        {"q": "a\u0000"},
    ):
        assert viewer.get("/api/v1/devices", params=bad).status_code == 422, bad


def test_patch_changes_only_what_is_sent_and_audits_old_and_new(api: Api) -> None:
    one, two = api.building("B1"), api.building("B2")
    device = api.device("SD1", building=one, floor=1, room="hall")
    tech = api.as_("technician")
    url = f"/api/v1/devices/{device['id']}"
    response = tech.patch(
        url, json={"building": two, "room": None, "config": {"rules": {"fixed_c": 68}}}
    )
    assert response.status_code == 200, response.text
    changed = response.json()
    assert (changed["building"], changed["floor"], changed["room"]) == (two, 1, None)
    assert changed["config"] == {"rules": {"fixed_c": 68}}
    assert changed["updated_at"] > device["updated_at"]
    assert tech.patch(url, json={"heartbeat_s": None}).json()["heartbeat_s"] == 3600
    [update, create] = tech.get(f"{url}/audit").json()
    assert create["action"] == "create" and update["action"] == "update"
    assert update["actor"] == f"technician-{api.site}"
    assert update["detail"]["building"] == [one, two] and update["detail"]["room"] == ["hall", None]
    bad = tech.patch(url, json={"config": {"rules": {"leakage_ma": 100}}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body",
        "config",
        "rules",
        "leakage_ma",
    ]
    assert tech.patch(url, json={"kind": "electrical"}).status_code == 422
    assert tech.patch(url, json={"status": "active"}).status_code == 422
    assert tech.patch(url, json={"building": "nowhere"}).status_code == 422
    assert tech.patch(f"/api/v1/devices/{api.site}-none", json={}).status_code == 404


def test_every_legal_transition_and_a_409_with_a_reason_for_the_rest(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    tech = api.as_("technician")
    until = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    statuses = list(TRANSITIONS)
    for n, current in enumerate(statuses):
        for m, wanted in enumerate(statuses):
            device_id = f"{api.site}-D{n}{m}"
            db.execute(
                "INSERT INTO devices (id, kind, site, heartbeat_s, status, maintenance_until)"
                " VALUES (%s, 'smoke', %s, 3600, %s, %s)",
                (
                    device_id,
                    api.site,
                    current,
                    datetime.now(UTC) + timedelta(hours=1) if current == "maintenance" else None,
                ),
            )
            body: dict[str, Any] = {"status": wanted, "reason": "walk test"}
            if wanted == "maintenance":
                body["until"] = until
            response = tech.post(f"/api/v1/devices/{device_id}/status", json=body)
            if wanted in TRANSITIONS[current]:
                assert response.status_code == 200, (current, wanted, response.text)
                assert response.json()["status"] == wanted
            else:
                assert response.status_code == 409, (current, wanted, response.text)
                assert response.json()["detail"]


def test_maintenance_needs_a_window_and_a_reason_and_ends_by_itself(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1")
    tech = api.as_("technician")
    url = f"/api/v1/devices/{device['id']}/status"
    soon = datetime.now(UTC) + timedelta(minutes=30)
    for body in (
        {"status": "maintenance", "reason": "x"},
        {"status": "maintenance", "until": soon.isoformat()},
        {"status": "maintenance", "reason": "x", "until": "2020-01-01T00:00:00Z"},
        {"status": "maintenance", "reason": "x", "until": "2025-06-01T12:00:00"},
        {"status": "active", "until": soon.isoformat()},
    ):
        assert tech.post(url, json=body).status_code == 422, body
    response = tech.post(
        url,
        json={
            "status": "maintenance",
            "until": soon.isoformat(),
            "reason": "replacing the chamber",
        },
    )
    assert response.status_code == 200
    assert response.json()["status_reason"] == "replacing the chamber"
    assert end_due_maintenance(db, now=soon - timedelta(seconds=1)) == []
    with db.transaction():
        ended = end_due_maintenance(db, now=soon + timedelta(seconds=1))
    assert device["id"] in ended
    after = tech.get(f"/api/v1/devices/{device['id']}").json()
    assert (after["status"], after["maintenance_until"], after["status_reason"]) == (
        "active",
        None,
        None,
    )
    last = tech.get(f"/api/v1/devices/{device['id']}/audit").json()[0]
    assert last["actor"] == "system"
    assert (last["detail"]["from"], last["detail"]["to"]) == ("maintenance", "active")


def test_delete_decommissions_keeps_history_and_is_idempotent(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1")
    tech = api.as_("technician")
    url = f"/api/v1/devices/{device['id']}"
    gone = tech.delete(url, params={"reason": "building demolished"})
    assert gone.status_code == 200 and gone.json()["status"] == "decommissioned"
    assert tech.delete(url).json()["status"] == "decommissioned"
    assert tech.get(url).status_code == 200
    assert len([a for a in tech.get(f"{url}/audit").json() if a["action"] == "status"]) == 1
    assert tech.patch(url, json={"room": "x"}).status_code == 409
    back = tech.post(f"{url}/status", json={"status": "active"})
    assert back.status_code == 409 and "final" in back.json()["detail"]
    assert tech.delete(f"/api/v1/devices/{api.site}-none").status_code == 404


def test_replacement_moves_the_place_to_the_new_id_and_links_both(api: Api) -> None:
    building = api.building()
    old = api.device(
        "SD1",
        building=building,
        floor=3,
        room="kitchen",
        lat=23.1,
        lon=113.2,
        zone="G-1",
        config={"rules": {"fixed_c": 68}},
    )
    tech = api.as_("technician")
    response = tech.post(
        f"/api/v1/devices/{old['id']}/replace",
        json={"new_id": f"{api.site}-SD9", "reason": "chamber fault"},
    )
    assert response.status_code == 201, response.text
    new, retired = response.json()["new"], response.json()["old"]
    assert new["mqtt_password"]
    for key in ("kind", "site", "building", "floor", "room", "lat", "lon", "zone", "config"):
        assert new[key] == old[key], key
    assert (new["replaces"], new["status"]) == (old["id"], "active")
    assert (retired["status"], retired["replaced_by"]) == ("decommissioned", new["id"])
    assert retired["status_reason"] == "chamber fault"
    again = tech.post(f"/api/v1/devices/{old['id']}/replace", json={"new_id": f"{api.site}-X"})
    assert again.status_code == 409 and new["id"] in again.json()["detail"]
    taken = tech.post(f"/api/v1/devices/{new['id']}/replace", json={"new_id": new["id"]})
    assert taken.status_code == 409
    assert tech.get(f"/api/v1/devices/{new['id']}").json()["status"] == "active"
    other = tech.post(
        f"/api/v1/devices/{new['id']}/replace",
        json={"new_id": f"{api.site}-EF1", "kind": "electrical"},
    )
    assert other.status_code == 201 and other.json()["new"]["config"] == {}
    assert other.json()["new"]["heartbeat_s"] == 300
    missing = tech.post(f"/api/v1/devices/{api.site}-none/replace", json={"new_id": "N1"})
    assert missing.status_code == 404


def test_commissioning_alerts_are_in_the_technician_view(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1", status="commissioning")
    db.execute(
        "INSERT INTO alerts (device_id, subject, family, rule, class, state, raised_at,"
        " received_at, last_at, suppressed_reason) VALUES (%s, %s, 'smoke', 'smoke_alarm', 'fire',"
        " 'suppressed',"
        " now(), now(), now(), 'commissioning')",
        (device["id"], device["id"]),
    )
    response = api.as_("technician").get(f"/api/v1/devices/{device['id']}/alerts")
    assert response.status_code == 200, response.text
    [alert] = response.json()
    assert (alert["state"], alert["suppressed_reason"]) == ("suppressed", "commissioning")
    assert api.as_("technician").get(f"/api/v1/devices/{api.site}-x/alerts").status_code == 404


def test_device_kinds_expose_defaults_and_the_engines_bounds(api: Api) -> None:
    kinds = {k["kind"]: k for k in api.as_("viewer").get("/api/v1/device-kinds").json()}
    assert set(kinds) == {
        "smoke",
        "electrical",
        "thermal_camera",
        "video_camera",
        "panel",
        "transmitter",
    }
    keys = {c["key"]: c for c in kinds["electrical"]["config"]}
    assert keys["rules.leakage_ma"] | {"description": ""} == {
        "key": "rules.leakage_ma",
        "type": "number",
        "default": 300.0,
        "min": 300.0,
        "max": 500.0,
        "description": "",
    }
    assert keys["rules.anomaly_rise_c"]["default"] == 10.0
    assert "covers" not in keys and "thermal.alarm_c" not in keys
    camera = {c["key"] for c in kinds["thermal_camera"]["config"]}
    assert {"covers", "thermal.alarm_c", "model"} <= camera
    assert kinds["thermal_camera"]["heartbeat_s"] == 60 and kinds["thermal_camera"]["frames"]


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_operators_and_viewers_read_but_never_write(api: Api, role: str) -> None:
    device = api.device("SD1")
    url = f"/api/v1/devices/{device['id']}"
    who = api.as_(role)
    assert who.get(url).status_code == 200
    assert who.get("/api/v1/devices").status_code == 200
    assert who.get(f"{url}/audit").status_code == 200
    for response in (
        who.post(
            "/api/v1/devices", json={"id": f"{api.site}-X", "kind": "smoke", "site": api.site}
        ),
        who.patch(url, json={"room": "x"}),
        who.delete(url),
        who.post(f"{url}/status", json={"status": "commissioning"}),
        who.post(f"{url}/replace", json={"new_id": f"{api.site}-Y"}),
    ):
        assert response.status_code == 403
        assert "technician" in response.json()["detail"] and role in response.json()["detail"]


def test_admins_may_do_what_technicians_do(api: Api) -> None:
    response = api.as_("admin").post(
        "/api/v1/devices", json={"id": f"{api.site}-A1", "kind": "smoke", "site": api.site}
    )
    assert response.status_code == 201


def test_every_route_wants_a_valid_token(client: TestClient, api: Api) -> None:
    device = api.device("SD1")
    for method, url in (
        ("GET", "/api/v1/devices"),
        ("GET", f"/api/v1/devices/{device['id']}"),
        ("PATCH", f"/api/v1/devices/{device['id']}"),
        ("DELETE", f"/api/v1/devices/{device['id']}"),
        ("POST", f"/api/v1/devices/{device['id']}/status"),
        ("POST", f"/api/v1/devices/{device['id']}/replace"),
        ("GET", f"/api/v1/devices/{device['id']}/audit"),
        ("GET", f"/api/v1/devices/{device['id']}/alerts"),
        ("GET", "/api/v1/device-kinds"),
        ("POST", "/api/v1/devices"),
    ):
        missing = client.request(method, url)
        assert missing.status_code == 401 and "Bearer" in missing.json()["detail"], url
        wrong = client.request(method, url, headers=auth("fw_nope"))
        assert wrong.status_code == 401 and "unknown" in wrong.json()["detail"], url


def test_maintenance_started_in_commissioning_returns_to_commissioning(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1", status="commissioning")
    tech = api.as_("technician")
    url = f"/api/v1/devices/{device['id']}/status"
    soon = datetime.now(UTC) + timedelta(minutes=30)
    window = {"status": "maintenance", "reason": "new chamber"}
    assert tech.post(url, json={**window, "until": soon.isoformat()}).status_code == 200
    later = soon + timedelta(minutes=30)  # extending keeps where it returns to
    assert tech.post(url, json={**window, "until": later.isoformat()}).status_code == 200
    with db.transaction():
        assert device["id"] in end_due_maintenance(db, now=later + timedelta(seconds=1))
    assert tech.get(f"/api/v1/devices/{device['id']}").json()["status"] == "commissioning"
    last = tech.get(f"/api/v1/devices/{device['id']}/audit").json()[0]
    assert (last["detail"]["from"], last["detail"]["to"]) == ("maintenance", "commissioning")


@pytest.mark.parametrize(
    ("body", "loc"),
    [
        (b'{"id": "X", "kind": "smoke", "site": "s", "lat": NaN}', "lat"),
        (b'{"id": "X", "kind": "smoke", "site": "s", "lon": Infinity}', "lon"),
        (
            b'{"id": "X", "kind": "smoke", "site": "s", "config": {"rules": {"fixed_c": NaN}}}',
            "config",
        ),
        (
            b'{"id": "X", "kind": "smoke", "site": "s",'
            b' "config": {"rules": {"fixed_c": -Infinity}}}',
            "config",
        ),
    ],
)
def test_nan_and_infinity_are_a_422_not_a_500(api: Api, body: bytes, loc: str) -> None:
    body = body.replace(b'"X"', f'"{api.site}-X"'.encode()).replace(
        b'"s"', f'"{api.site}"'.encode()
    )
    tech = api.as_("technician")
    response = tech.post(
        "/api/v1/devices", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422, response.text
    assert loc in {str(p) for e in response.json()["detail"] for p in e["loc"]}
    device = api.device("SD1")
    patched = tech.client.patch(
        f"/api/v1/devices/{device['id']}",
        content=b'{"lat": NaN, "config": {"rules": {"fixed_c": Infinity}}}',
        headers={**tech.headers, "Content-Type": "application/json"},
    )
    assert patched.status_code == 422, patched.text
    building = tech.client.post(
        "/api/v1/buildings",
        content=f'{{"id": "{api.site}-B", "footprint": [[NaN, 1], [2, 2], [3, 3]]}}'.encode(),
        headers={**tech.headers, "Content-Type": "application/json"},
    )
    assert building.status_code == 422, building.text


def test_a_replacement_camera_covers_registered_buildings_only(api: Api) -> None:
    building = api.building()
    old = api.device("TC1", kind="thermal_camera", building=building, config={"covers": [building]})
    tech = api.as_("technician")
    refused = tech.post(
        f"/api/v1/devices/{old['id']}/replace",
        json={"new_id": f"{api.site}-TC2", "config": {"covers": ["nowhere"]}},
    )
    assert refused.status_code == 422 and ("body", "config", "covers") in _locs(refused)
    assert tech.get(f"/api/v1/devices/{api.site}-TC2").status_code == 404
    assert tech.get(f"/api/v1/devices/{old['id']}").json()["status"] == "active"


def test_online_honours_the_devices_offline_margin(api: Api, db: psycopg.Connection[Any]) -> None:
    """The same rule as the control centre's: two heartbeats plus rules.offline_margin_s."""
    quick = api.device("EF1", kind="electrical", heartbeat_s=60)
    patient = api.device(
        "EF2", kind="electrical", heartbeat_s=60, config={"rules": {"offline_margin_s": 600}}
    )
    for device in (quick, patient):
        db.execute(
            "INSERT INTO device_status (device_id, last_seen, last_received_at, last_seq)"
            " VALUES (%s, now(), now() - interval '5 minutes', 1)",
            (device["id"],),
        )
    viewer = api.as_("viewer")
    assert viewer.get(f"/api/v1/devices/{quick['id']}").json()["online"] is False
    assert viewer.get(f"/api/v1/devices/{patient['id']}").json()["online"] is True
    online = viewer.get("/api/v1/devices", params={"site": api.site, "online": True}).json()
    assert [d["id"] for d in online["items"]] == [patient["id"]]
