"""Bulk import and export: the topology's own file, CSV, dry runs, all-or-nothing errors."""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from firewatch.testing import own_database
from registry.device_import import MAX_IMPORT_BYTES
from settings import Settings
from simulators.topology import build_quarter
from tests.api.registry_helpers import Api

CSV = {"Content-Type": "text/csv"}


def _devices(site: str, count: int, building: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{site}-SD{i}",
            "kind": "smoke",
            "site": site,
            "building": building,
            "floor": 1 + i % 6,
            "room": "hall",
        }
        for i in range(count)
    ]


def test_the_quarter_as_simulate_topology_writes_it_imports_whole(
    settings: Settings,
) -> None:
    """A database of its own: the quarter's ids (SD-0001, B-001) are fixed. Its speed is
    bench/registry_import.py's to measure, not a timed test's."""
    quarter = build_quarter(seed=7, site="zilai")
    data = orjson.dumps(quarter.document())
    total = len(quarter.devices) + len(quarter.video_cameras)  # 3,031 and 122
    with (
        own_database("fw_import") as url,
        TestClient(create_app(settings.model_copy(update={"database_url": url}))) as client,
    ):
        api = Api(client, url, "zilai")
        tech = api.as_("technician")
        dry = tech.post(
            "/api/v1/devices/import",
            params={"dry_run": True},
            content=data,
            headers={"Content-Type": "application/json"},
        )
        assert dry.status_code == 200, dry.text[:2000]
        assert len(dry.json()["created"]) == total and dry.json()["credentials"] == []
        assert tech.get("/api/v1/devices").json()["total"] == 0
        response = tech.post(
            "/api/v1/devices/import", content=data, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text[:2000]
        report = response.json()
        assert (len(report["created"]), report["buildings_created"]) == (total, 320)
        assert {c["device_id"] for c in report["credentials"]} == set(report["created"])
        camera = tech.get("/api/v1/devices/TC-01").json()
        assert camera["config"]["covers"] == quarter.device("TC-01").config["covers"]
        assert tech.get("/api/v1/buildings/B-001").json()["device_count"] == len(
            quarter.in_building("B-001")
        ) + sum(c.building == "B-001" for c in quarter.video_cameras)
        again = tech.post(
            "/api/v1/devices/import", content=data, headers={"Content-Type": "application/json"}
        ).json()
        assert (again["created"], again["updated"], again["unchanged"]) == ([], [], total)
        exported = tech.get("/api/v1/devices/export", params={"format": "json"})
        assert exported.status_code == 200
        document = orjson.loads(exported.content)
        assert document["devices"] == [
            {k: v for k, v in d.items() if v is not None}
            for d in sorted(quarter.document()["devices"], key=lambda d: d["id"])
        ]
        assert document["buildings"] == sorted(
            quarter.document()["buildings"], key=lambda b: b["id"]
        )
        as_csv = tech.get("/api/v1/devices/export", params={"format": "csv"})
        assert as_csv.headers["content-type"].startswith("text/csv")
        reimport = tech.post("/api/v1/devices/import", content=as_csv.content, headers=CSV)
        assert reimport.status_code == 200 and reimport.json()["unchanged"] == total


def test_csv_upserts_by_id_and_audits_the_changed_rows(api: Api) -> None:
    building = api.building()
    existing = api.device("SD0", building=building, room="old room")
    text = (
        "id,kind,site,building,floor,room,lat,lon,zone,heartbeat_s,config\n"
        f"{api.site}-SD0,smoke,{api.site},{building},2,new room,23.1,113.2,G-1,,\n"
        f"{api.site}-TC1,thermal_camera,{api.site},{building},9,roof,,,,,"
        f'"{{""covers"": [""{building}""], ""model"": ""thermal_dome""}}"\n'
        "\n"
    )
    response = api.as_("technician").post(
        "/api/v1/devices/import",
        content=text.encode(),
        headers=CSV,
        params={"status": "commissioning"},
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert (report["created"], report["updated"]) == ([f"{api.site}-TC1"], [existing["id"]])
    assert [c["device_id"] for c in report["credentials"]] == [f"{api.site}-TC1"]
    tech = api.as_("technician")
    updated = tech.get(f"/api/v1/devices/{existing['id']}").json()
    assert (updated["room"], updated["floor"], updated["status"]) == ("new room", 2, "active")
    camera = tech.get(f"/api/v1/devices/{api.site}-TC1").json()
    assert (camera["status"], camera["heartbeat_s"]) == ("commissioning", 60)
    assert camera["config"] == {"covers": [building], "model": "thermal_dome"}
    audit = tech.get(f"/api/v1/devices/{existing['id']}/audit").json()
    assert audit[0]["action"] == "import_update" and audit[0]["actor"] == f"technician-{api.site}"


def test_all_or_nothing_with_row_field_and_reason(api: Api, db: psycopg.Connection[Any]) -> None:
    building = api.building()
    api.device("EF0", kind="electrical")
    gone = api.device("SD9")
    api.as_("technician").delete(f"/api/v1/devices/{gone['id']}")
    s = api.site
    rows = [
        {"id": f"{s}-SD1", "kind": "smoke", "site": s, "building": building},  # fine
        {"id": f"{s}-SD2", "kind": "smoke", "site": s, "floor": 900},
        {"id": f"{s}-SD1", "kind": "smoke", "site": s},
        {"id": f"{s}-SD3", "kind": "toaster", "site": s},
        {"id": f"{s}-SD4", "kind": "smoke", "site": s, "colour": "red"},
        {"id": f"{s}-SD5", "kind": "smoke", "site": s, "config": {"rules": {"fixed_c": 1}}},
        {"id": f"{s}-EF0", "kind": "smoke", "site": s},
        {"id": gone["id"], "kind": "smoke", "site": s},
        {"id": f"{s}-SD6", "kind": "smoke", "site": s, "building": "nowhere"},
        {"id": f"{s}-TC1", "kind": "thermal_camera", "site": s, "config": {"covers": ["nowhere"]}},
        "not an object",
        {"id": "bad id", "kind": "smoke", "site": s},
    ]
    response = api.as_("technician").post("/api/v1/devices/import", json={"devices": rows})
    assert response.status_code == 422
    report = response.json()
    assert report["ok"] is False and report["created"] == [] and report["credentials"] == []
    found = {(e["row"], e["field"]) for e in report["errors"]}
    assert found == {
        (2, "floor"),
        (3, "id"),
        (4, "kind"),
        (5, "colour"),
        (6, "config.rules.fixed_c"),
        (7, "kind"),
        (8, "id"),
        (9, "building"),
        (10, "config.covers"),
        (11, None),
        (12, "id"),
    }
    reasons = {e["row"]: e["reason"] for e in report["errors"]}
    assert "row 1" in reasons[3] and "never changes" in reasons[7] and "final" in reasons[8]
    assert db.execute("SELECT count(*) FROM devices WHERE id = %s", (f"{s}-SD1",)).fetchone() == (
        0,
    )


@pytest.mark.parametrize(
    ("content", "content_type", "reason"),
    [
        (b"{not json", "application/json", "not valid JSON"),
        (b'{"devices": {}}', "application/json", "must be a list"),
        (b'{"devices": [], "cameras": []}', "application/json", "unknown section"),
        (b'"just a string"', "application/json", "must be an object"),
        (b"", "text/csv", "empty file"),
        (b"id,kind,site,colour\n", "text/csv", "unknown column 'colour'"),
        (b"id,kind\n", "text/csv", "missing column 'site'"),
        (b"id,id,kind,site\n", "text/csv", "twice"),
        (b"id,kind,site\n\xff\xfe,smoke,x\n", "text/csv", "not UTF-8"),
        (b'id,kind,site\n"unclosed,smoke,x\n', "text/csv", "line"),
        (b"<devices/>", "application/xml", "text/csv or application/json"),
    ],
)
def test_a_file_that_cannot_be_read_is_a_422_for_the_file(
    api: Api, content: bytes, content_type: str, reason: str
) -> None:
    response = api.as_("technician").post(
        "/api/v1/devices/import", content=content, headers={"Content-Type": content_type}
    )
    assert response.status_code == 422, response.text
    [error] = response.json()["errors"]
    assert error["section"] == "file" and reason in error["reason"], error


def test_csv_row_errors_name_the_line(api: Api) -> None:
    s = api.site
    text = (
        f"id,kind,site,floor,config\n{s}-A,smoke,{s},1,\n{s}-B,smoke,{s},x,\n"
        f"{s}-C,smoke,{s}\n{s}-D,smoke,{s},1,{{not json\n"
    )
    report = (
        api.as_("technician")
        .post("/api/v1/devices/import", content=text.encode(), headers=CSV)
        .json()
    )
    assert {(e["row"], e["field"]) for e in report["errors"]} == {
        (3, "floor"),
        (4, None),
        (5, "config"),
    }


def test_an_oversize_import_is_a_413(api: Api) -> None:
    response = api.as_("technician").post(
        "/api/v1/devices/import", content=b" " * (MAX_IMPORT_BYTES + 1), headers=CSV
    )
    assert response.status_code == 413 and "MiB" in response.json()["detail"]


def test_buildings_and_zones_come_in_the_same_file(api: Api) -> None:
    s = api.site
    document: dict[str, list[Any]] = {
        "zones": [{"id": f"{s}-G1", "contact_name": "Chen Wei", "contact_phone": "123"}],
        "buildings": [
            {
                "id": f"{s}-B1",
                "name": "No. 1",
                "zone": f"{s}-G1",
                "rented": True,
                "footprint": [[113.2, 23.1], [113.3, 23.1], [113.3, 23.2]],
            },
            {"id": f"{s}-B2", "lat": 100},
        ],
        "devices": _devices(s, 3, f"{s}-B1"),
    }
    tech = api.as_("technician")
    bad = tech.post("/api/v1/devices/import", json=document)
    assert bad.status_code == 422
    assert [(e["section"], e["row"], e["field"]) for e in bad.json()["errors"]] == [
        ("buildings", 2, "lat")
    ]
    document["buildings"].pop()
    good = tech.post("/api/v1/devices/import", json=document)
    assert good.status_code == 200, good.text
    assert (good.json()["zones_written"], good.json()["buildings_created"]) == (1, 1)
    assert tech.get(f"/api/v1/zones/{s}-G1").json()["contact_name"] == "Chen Wei"
    assert tech.get(f"/api/v1/buildings/{s}-B1").json()["device_count"] == 3


def test_export_csv_round_trips_through_a_spreadsheet_reader(api: Api) -> None:
    building = api.building()
    api.device(
        "SD1", building=building, name='Lane 3, "the old shop"', config={"rules": {"fixed_c": 68}}
    )
    text = api.as_("viewer").get("/api/v1/devices/export", params={"format": "csv"}).text
    mine = [r for r in csv.DictReader(io.StringIO(text)) if r["site"] == api.site]
    assert mine[0]["name"] == 'Lane 3, "the old shop"'
    assert orjson.loads(mine[0]["config"]) == {"rules": {"fixed_c": 68}}


def test_only_technicians_and_admins_import_everyone_exports(api: Api) -> None:
    body = {"devices": _devices(api.site, 1, api.building())}
    for role in ("operator", "viewer"):
        assert api.as_(role).post("/api/v1/devices/import", json=body).status_code == 403
        assert api.as_(role).get("/api/v1/devices/export").status_code == 200
    assert api.as_("admin").post("/api/v1/devices/import", json=body).status_code == 200
    assert api.client.post("/api/v1/devices/import", json=body).status_code == 401
    assert api.client.get("/api/v1/devices/export").status_code == 401
    bad = api.as_("viewer").get("/api/v1/devices/export", params={"format": "xml"})
    assert bad.status_code == 422


def test_a_device_keeping_a_building_from_before_buildings_existed_reimports(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    s = api.site
    db.execute(
        "INSERT INTO devices (id, kind, site, heartbeat_s, building) VALUES (%s, 'smoke', %s,"
        " 3600, %s)",
        (f"{s}-OLD", s, f"{s}-legacy"),
    )
    row = {"id": f"{s}-OLD", "kind": "smoke", "site": s, "building": f"{s}-legacy"}
    tech = api.as_("technician")
    same = tech.post("/api/v1/devices/import", json=[{**row, "room": "hall"}])
    assert same.status_code == 200 and same.json()["updated"] == [f"{s}-OLD"]
    moved = tech.post("/api/v1/devices/import", json=[{**row, "building": f"{s}-other"}])
    assert moved.status_code == 422 and moved.json()["errors"][0]["field"] == "building"


def _full_device(api: Api) -> dict[str, Any]:
    building = api.building()
    return api.device(
        "SD1",
        building=building,
        name="hall",
        floor=3,
        room="kitchen",
        lat=23.1,
        lon=113.2,
        zone="G-1",
        heartbeat_s=120,
        config={"rules": {"fixed_c": 68}},
    )


_KEPT = ("name", "building", "floor", "lat", "lon", "zone", "heartbeat_s", "config")


def test_a_partial_csv_changes_only_its_cells_and_audits_old_and_new(api: Api) -> None:
    device = _full_device(api)
    s, tech = api.site, api.as_("technician")
    text = f"id,kind,site,room,lat,zone\n{device['id']},smoke,{s},office,,-\n"
    response = tech.post("/api/v1/devices/import", content=text.encode(), headers=CSV)
    assert response.status_code == 200, response.text
    assert response.json()["updated"] == [device["id"]]
    after = tech.get(f"/api/v1/devices/{device['id']}").json()
    assert after["room"] == "office" and after["zone"] is None  # '-' clears
    assert {k: after[k] for k in _KEPT if k != "zone"} == {
        k: device[k] for k in _KEPT if k != "zone"
    }
    [entry] = [
        e
        for e in tech.get(f"/api/v1/devices/{device['id']}/audit").json()
        if e["action"] == "import_update"
    ]
    assert entry["detail"] == {"room": ["kitchen", "office"], "zone": ["G-1", None]}


def test_a_partial_json_row_changes_only_its_keys_and_null_clears(api: Api) -> None:
    device = _full_device(api)
    tech = api.as_("technician")
    row = {"id": device["id"], "kind": "smoke", "site": api.site, "floor": 4, "lon": None}
    response = tech.post("/api/v1/devices/import", json=[row])
    assert response.status_code == 200, response.text
    after = tech.get(f"/api/v1/devices/{device['id']}").json()
    assert (after["floor"], after["lon"]) == (4, None)
    assert {k: after[k] for k in _KEPT if k not in ("floor", "lon")} == {
        k: device[k] for k in _KEPT if k not in ("floor", "lon")
    }
    audit = tech.get(f"/api/v1/devices/{device['id']}/audit").json()
    assert audit[0]["detail"] == {"floor": [3, 4], "lon": [113.2, None]}
    cleared = tech.post(
        "/api/v1/devices/import", json=[{**row, "heartbeat_s": None, "config": {}}]
    ).json()
    assert cleared["updated"] == [device["id"]]
    after = tech.get(f"/api/v1/devices/{device['id']}").json()
    assert (after["heartbeat_s"], after["config"]) == (3600, {})  # back to the kind's default


def test_a_site_never_changes_on_import(api: Api) -> None:
    device = api.device("SD1")
    response = api.as_("technician").post(
        "/api/v1/devices/import", json=[{"id": device["id"], "kind": "smoke", "site": "elsewhere"}]
    )
    assert response.status_code == 422
    [error] = response.json()["errors"]
    assert error["field"] == "site" and "never changes" in error["reason"]


def test_csv_export_quotes_formula_cells_and_imports_them_back_unchanged(api: Api) -> None:
    building = api.building()
    device = api.device("SD1", building=building, name="=HYPERLINK(1)", room="-", floor=-1)
    tech = api.as_("technician")
    text = tech.get("/api/v1/devices/export", params={"format": "csv"}).text
    [mine] = [r for r in csv.DictReader(io.StringIO(text)) if r["id"] == device["id"]]
    assert (mine["name"], mine["room"], mine["floor"]) == ("'=HYPERLINK(1)", "'-", "-1")
    again = tech.post("/api/v1/devices/import", content=text.encode(), headers=CSV).json()
    assert again["ok"] and device["id"] not in again["updated"], again["errors"][:3]
    after = tech.get(f"/api/v1/devices/{device['id']}").json()
    assert (after["name"], after["room"], after["floor"]) == ("=HYPERLINK(1)", "-", -1)


def test_two_imports_of_the_same_devices_in_opposite_orders_take_turns(
    api: Api, database_url: str, db: psycopg.Connection[Any]
) -> None:
    """The first holds its transaction open; the second waits for it, then updates."""
    import asyncio

    from registry.device_import import parse
    from registry.import_service import import_registry
    from store.audit import Actor

    s = api.site
    rows = [{"id": f"{s}-SD{i}", "kind": "smoke", "site": s, "room": "a"} for i in range(50)]
    api.as_("technician").post("/api/v1/devices/import", json=rows)
    first = parse(orjson.dumps([{**r, "room": "b"} for r in rows]), "json")
    second = parse(orjson.dumps([{**r, "room": "c"} for r in reversed(rows)]), "json")

    async def go() -> tuple[Any, Any]:
        one = await psycopg.AsyncConnection.connect(database_url)
        two = await psycopg.AsyncConnection.connect(database_url)
        async with one, two:
            actor = Actor("test")
            report_one = await import_registry(
                one, first, status="active", dry_run=False, actor=actor
            )
            waiting = asyncio.create_task(
                import_registry(two, second, status="active", dry_run=False, actor=actor)
            )
            for _ in range(100):  # until the second import waits for the first
                await asyncio.sleep(0.05)
                cur = db.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = %s"
                    " AND wait_event_type = 'Lock'",
                    (two.info.backend_pid,),
                )
                if cur.fetchone() == (1,):
                    break
            else:
                raise AssertionError("the second import never waited for the first")
            await one.commit()
            report_two = await asyncio.wait_for(waiting, timeout=10)
            await two.commit()
        return report_one, report_two

    report_one, report_two = asyncio.run(go())
    assert report_one.ok and report_two.ok
    assert len(report_one.updated) == len(report_two.updated) == 50
    rooms = db.execute("SELECT DISTINCT room FROM devices WHERE site = %s", (s,)).fetchall()
    assert rooms == [("c",)]


def test_the_database_refuses_an_update_whose_kind_or_site_differs(
    api: Api, database_url: str
) -> None:
    """The guard below the import's own checks: such a row is reported, never applied."""
    import asyncio

    from store.registry_bulk import DeviceFieldChanges, update_devices_bulk

    device = api.device("SD1", room="hall")
    gone = api.device("SD2", room="hall")
    api.as_("technician").delete(f"/api/v1/devices/{gone['id']}")

    async def go() -> list[str]:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            return await update_devices_bulk(
                conn,
                [
                    DeviceFieldChanges(device["id"], "electrical", api.site, {"room": "x"}),
                    DeviceFieldChanges(device["id"], "smoke", "elsewhere", {"room": "x"}),
                    DeviceFieldChanges(gone["id"], "smoke", api.site, {"room": "x"}),
                ],
            )

    assert asyncio.run(go()) == []
    room = api.as_("viewer").get(f"/api/v1/devices/{device['id']}").json()["room"]
    assert room == "hall"
