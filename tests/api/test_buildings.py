"""Buildings and zones: CRUD, validation, what refuses a delete, and roles."""

from __future__ import annotations

import pytest

from tests.api.registry_helpers import Api

RING = [[113.2656, 23.0970], [113.2657, 23.0970], [113.2657, 23.0971], [113.2656, 23.0971]]


def test_a_building_with_its_footprint_round_trips(api: Api) -> None:
    tech = api.as_("technician")
    building_id = f"{api.site}-B1"
    created = tech.post(
        "/api/v1/buildings",
        json={
            "id": building_id,
            "name": "No. 12",
            "address": "No. 12, Zilai Fang",
            "lat": 23.097,
            "lon": 113.2656,
            "zone": f"{api.site}-G1",
            "rented": True,
            "footprint": RING,
        },
    )
    assert created.status_code == 201, created.text
    read = api.as_("viewer").get(f"/api/v1/buildings/{building_id}").json()
    assert read["footprint"] == RING and read["rented"] and read["device_count"] == 0
    assert tech.post("/api/v1/buildings", json={"id": building_id}).status_code == 409
    page = api.as_("viewer").get("/api/v1/buildings", params={"zone": f"{api.site}-G1"}).json()
    assert [b["id"] for b in page["items"]] == [building_id] and page["total"] == 1


def test_patch_changes_only_what_is_sent(api: Api) -> None:
    building_id = api.building(address="old")
    tech = api.as_("technician")
    patched = tech.patch(f"/api/v1/buildings/{building_id}", json={"name": "new", "rented": True})
    assert patched.status_code == 200
    assert (patched.json()["name"], patched.json()["address"], patched.json()["rented"]) == (
        "new",
        "old",
        True,
    )
    assert tech.patch(f"/api/v1/buildings/{api.site}-none", json={}).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"id": "has space"},
        {"lat": 91},
        {"lon": -181},
        {"footprint": [[0, 0], [1, 1]]},
        {"footprint": [[200, 0], [1, 1], [2, 2]]},
        {"colour": "red"},
        {"name": "a\u0000"},
    ],
)
def test_bad_buildings_are_422(api: Api, body: dict[str, object]) -> None:
    response = api.as_("technician").post("/api/v1/buildings", json={"id": "B-x", **body})
    assert response.status_code == 422, response.text


def test_a_building_with_devices_or_cameras_on_it_stays(api: Api) -> None:
    inside, watched = api.building("B1"), api.building("B2")
    device = api.device("SD1", building=inside)
    camera = api.device("TC1", kind="thermal_camera", config={"covers": [watched]})
    tech = api.as_("technician")
    for building_id in (inside, watched):
        refused = tech.delete(f"/api/v1/buildings/{building_id}")
        assert refused.status_code == 409 and "first" in refused.json()["detail"]
    tech.delete(f"/api/v1/devices/{device['id']}")
    tech.delete(f"/api/v1/devices/{camera['id']}")
    assert tech.delete(f"/api/v1/buildings/{inside}").status_code == 204
    assert tech.delete(f"/api/v1/buildings/{watched}").status_code == 204
    assert tech.get(f"/api/v1/buildings/{inside}").status_code == 404
    assert tech.delete(f"/api/v1/buildings/{inside}").status_code == 404


def test_zones_hold_the_grid_contact(api: Api) -> None:
    tech = api.as_("technician")
    url = f"/api/v1/zones/{api.site}-G1"
    created = tech.put(
        url,
        json={"name": "Grid 1", "contact_name": "Chen Wei", "contact_phone": "+86 20 8123 4567"},
    )
    assert created.status_code == 201
    replaced = tech.put(url, json={"contact_name": "Li Na"})
    assert replaced.status_code == 200 and replaced.json()["name"] is None
    api.building(zone=f"{api.site}-G1")
    zone = api.as_("viewer").get(url).json()
    assert (zone["contact_name"], zone["building_count"]) == ("Li Na", 1)
    assert any(z["id"] == f"{api.site}-G1" for z in api.as_("viewer").get("/api/v1/zones").json())
    assert tech.put(url, json={"colour": "red"}).status_code == 422
    assert tech.delete(url).status_code == 204
    assert tech.get(url).status_code == 404 and tech.delete(url).status_code == 404


@pytest.mark.parametrize("role", ["operator", "viewer"])
def test_only_technicians_and_admins_change_places(api: Api, role: str) -> None:
    building_id = api.building()
    who = api.as_(role)
    assert who.get(f"/api/v1/buildings/{building_id}").status_code == 200
    for response in (
        who.post("/api/v1/buildings", json={"id": f"{api.site}-B9"}),
        who.patch(f"/api/v1/buildings/{building_id}", json={"name": "x"}),
        who.delete(f"/api/v1/buildings/{building_id}"),
        who.put(f"/api/v1/zones/{api.site}-G1", json={}),
        who.delete(f"/api/v1/zones/{api.site}-G1"),
    ):
        assert response.status_code == 403 and "technician" in response.json()["detail"]
    assert (
        api.as_("admin").post("/api/v1/buildings", json={"id": f"{api.site}-A"}).status_code == 201
    )
    for url in ("/api/v1/buildings", "/api/v1/zones", f"/api/v1/buildings/{building_id}"):
        assert api.client.get(url).status_code == 401


def test_building_writes_are_audited(api: Api, db: object) -> None:
    import psycopg

    assert isinstance(db, psycopg.Connection)
    building_id = api.building()
    api.as_("technician").patch(f"/api/v1/buildings/{building_id}", json={"name": "x"})
    rows = db.execute(
        "SELECT actor, action FROM audit_log WHERE subject_type = 'building' AND subject_id = %s"
        " ORDER BY id",
        (building_id,),
    ).fetchall()
    assert rows == [(f"technician-{api.site}", "create"), (f"technician-{api.site}", "update")]
