"""Operators' dispatch routes on the real database: dispatch (and its overrides), what it
became, revoking it, the 119 call, a site's automatic dispatch setting, and every refusal."""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from dispatch import loop
from registry.errors import Conflict
from settings import Settings
from tests.api.dispatch_helpers import PNG, actions, dispatch_fire, token_for
from tests.conftest import Registry
from tests.dispatch.grid import Grid, fire, make_grid
from tests.tokens import auth, token

Who = dict[str, str]


@pytest.fixture()
def people(database_url: str, site: str) -> dict[str, Who]:
    return {
        role: auth(token(database_url, f"{role}-{site}", role))
        for role in ("operator", "viewer", "technician", "admin")
    }


@pytest.fixture()
def grid(database_url: str, db: psycopg.Connection[Any], site: str) -> Grid:
    return make_grid(database_url, db, site)


def test_an_operator_dispatches_and_follows_the_dispatch(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    sent = dispatch_fire(client, people["operator"], registry=registry, db=db, site=site, grid=grid)
    d = sent.dispatch
    wang = grid.workers[0]
    assert (d["incident_id"], d["zone"], d["state"], d["automatic"]) == (
        sent.incident,
        grid.zone,
        "notifying",
        False,
    )
    assert d["created_by"] == f"operator-{site}"
    assert [(n["person_id"], n["level"], n["step"]) for n in d["notices"]] == [
        (wang, 0, "dispatch")
    ]
    assert d["notices"][0]["channels"] == 2
    notified = datetime.fromisoformat(d["notified_at"])
    assert datetime.fromisoformat(d["accept_due_at"]) == notified + timedelta(seconds=60)
    assert sorted(q["channel_id"] for q in d["deliveries"]) == sorted(grid.channels[wang])
    assert {q["state"] for q in d["deliveries"]} == {"pending"}
    assert "channel_config" not in d["deliveries"][0]  # robots' secrets stay in the store

    listed = client.get(f"/api/v1/incidents/{sent.incident}/dispatches", headers=people["viewer"])
    assert listed.status_code == 200, listed.text
    body = listed.json()
    assert [i["id"] for i in body["items"]] == [sent.id]
    assert body["call_119"]["pending"] is False
    steps = body["milestones"]
    assert steps["dispatched"] is not None and steps["accepted"] is None
    assert steps["seconds"]["dispatched"] > 0  # the fire was detected two minutes before
    assert actions(client, people["viewer"], sent.incident)[-2:] == [
        (f"operator-{site}", "dispatch"),
        ("engine", "notify"),
    ]


def test_the_operator_may_choose_the_person_or_the_zone(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    li = grid.workers[1]
    sent = dispatch_fire(
        client,
        people["operator"],
        registry=registry,
        db=db,
        site=site,
        grid=grid,
        body={"person_id": li},
    )
    assert [n["person_id"] for n in sent.dispatch["notices"]] == [li]

    db.execute("INSERT INTO zones (id) VALUES (%s)", (f"{site}-EMPTY",))
    other = fire(registry, db, site, f"{site}-B9")
    url = f"/api/v1/incidents/{other}/dispatch"
    nobody = client.post(url, json={"zone": f"{site}-EMPTY"}, headers=people["operator"])
    assert nobody.status_code == 409
    assert "nobody is on call" in nobody.json()["detail"]
    no_zone = client.post(url, headers=people["operator"])  # building B9 is in no zone
    assert no_zone.status_code == 409
    assert "no zone" in no_zone.json()["detail"]
    elsewhere = client.post(url, json={"zone": grid.zone}, headers=people["operator"])
    assert elsewhere.status_code == 201, elsewhere.text
    assert elsewhere.json()["zone"] == grid.zone


def test_revoking_closes_the_dispatch_and_its_links(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    sent = dispatch_fire(client, people["operator"], registry=registry, db=db, site=site, grid=grid)
    queued = sorted(q["id"] for q in sent.dispatch["deliveries"])
    assert len(queued) == 2
    # A sender is sending the first one right now: the revoke does not wait for it.
    with psycopg.connect(db.info.dsn) as sending:
        sending.execute("SELECT 1 FROM deliveries WHERE id = %s FOR UPDATE", (queued[0],))
        revoked = client.post(f"/api/v1/dispatches/{sent.id}/revoke", headers=people["operator"])
    assert revoked.status_code == 200, revoked.text
    body = revoked.json()
    assert (body["state"], body["revoked_by"]) == ("revoked", f"operator-{site}")
    assert body["closed_at"] is not None and body["accept_due_at"] is None
    assert all(n["revoked_at"] is not None for n in body["notices"])
    # Queued messages are not sent after all (review finding); the one in flight is left to
    # its sender, which cancels it if it comes back pending (tests/dispatch/test_sender.py).
    states = {q["id"]: (q["state"], q["last_error"]) for q in body["deliveries"]}
    assert states == {
        queued[0]: ("pending", None),
        queued[1]: ("cancelled", f"cancelled: dispatch revoked by operator-{site}"),
    }
    assert next(q for q in body["deliveries"] if q["id"] == queued[1])["cancelled_at"]
    configs = dict(
        db.execute("SELECT id, channel_config FROM deliveries WHERE id = ANY(%s)", (queued,))
    )
    assert configs[queued[1]] == {} and configs[queued[0]]["url"]  # the one in flight keeps its
    again = client.post(f"/api/v1/dispatches/{sent.id}/revoke", headers=people["operator"])
    assert again.status_code == 409
    assert actions(client, people["viewer"], sent.incident)[-1] == (
        f"operator-{site}",
        "revoke",
    )
    # A new dispatch may follow the revoked one.
    redo = client.post(f"/api/v1/incidents/{sent.incident}/dispatch", headers=people["operator"])
    assert redo.status_code == 201, redo.text


def test_a_real_fire_asks_for_the_119_call_until_it_is_recorded(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    sent = dispatch_fire(client, people["operator"], registry=registry, db=db, site=site, grid=grid)
    link = token_for(db, sent.id, grid.workers[0])
    for body in ({"step": "accept"}, {"step": "verdict", "verdict": "real_fire"}):
        assert client.post(f"/api/v1/field/{link}/steps", json=body).status_code == 200
    url = f"/api/v1/incidents/{sent.incident}"
    call = client.get(f"{url}/dispatches", headers=people["viewer"]).json()["call_119"]
    assert call["pending"] is True and call["requested_at"] is not None
    incident = client.get(url, headers=people["viewer"]).json()["incident"]
    assert incident["call_119_pending"] is True

    recorded = client.post(
        f"{url}/call-119",
        json={"confirmed": True, "note": "119 已接警"},
        headers=people["operator"],
    )
    assert recorded.status_code == 200, recorded.text
    assert recorded.json() | {"at": None, "requested_at": None} == {
        "pending": False,
        "requested_at": None,
        "at": None,
        "by": f"operator-{site}",
        "confirmed": True,
        "note": "119 已接警",
    }
    assert client.get(url, headers=people["viewer"]).json()["incident"]["call_119_pending"] is False
    twice = client.post(f"{url}/call-119", json={"confirmed": True}, headers=people["operator"])
    assert twice.status_code == 409
    steps = actions(client, people["viewer"], sent.incident)
    assert (f"field:{grid.workers[0]}", "verdict") in steps
    assert steps[-1] == (f"operator-{site}", "call_119")


def test_an_operator_sees_the_photos_from_the_field(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    sent = dispatch_fire(client, people["operator"], registry=registry, db=db, site=site, grid=grid)
    link = token_for(db, sent.id, grid.workers[0])
    posted = client.post(
        f"/api/v1/field/{link}/photo", content=PNG, headers={"Content-Type": "image/png"}
    )
    assert posted.status_code == 201, posted.text
    (photo,) = client.get(
        f"/api/v1/incidents/{sent.incident}/dispatches", headers=people["viewer"]
    ).json()["items"][0]["photos"]
    assert (photo["content_type"], photo["size"]) == ("image/png", len(PNG))
    got = client.get(photo["url"], headers=people["viewer"])
    assert (got.status_code, got.headers["content-type"], got.content) == (200, "image/png", PNG)
    assert client.get(photo["url"]).status_code == 401
    missing = client.get(f"/api/v1/dispatches/{sent.id}/photos/999999999", headers=people["viewer"])
    assert missing.status_code == 404


def test_admins_choose_automatic_dispatch_per_site(
    client: TestClient, db: psycopg.Connection[Any], site: str, people: dict[str, Who]
) -> None:
    url = f"/api/v1/sites/{site}/dispatch-settings"
    assert client.get(url, headers=people["admin"]).json()["auto_dispatch_fire"] is False
    put = client.put(url, json={"auto_dispatch_fire": True}, headers=people["admin"])
    assert put.status_code == 200, put.text
    assert (put.json()["auto_dispatch_fire"], put.json()["updated_by"]) == (True, f"admin-{site}")
    assert client.get(url, headers=people["admin"]).json()["auto_dispatch_fire"] is True
    audit = db.execute(
        "SELECT actor, action, detail FROM audit_log WHERE subject_type = 'site'"
        " AND subject_id = %s",
        (site,),
    ).fetchall()
    assert audit == [
        (f"admin-{site}", "dispatch_settings", {"auto_dispatch_fire": True, "before": False})
    ]
    for role in ("operator", "viewer", "technician"):
        assert client.get(url, headers=people[role]).status_code == 403
        assert (
            client.put(url, json={"auto_dispatch_fire": False}, headers=people[role]).status_code
            == 403
        )
    assert client.get(url).status_code == 401
    for bad in ({}, {"auto_dispatch_fire": "sometimes"}, {"auto_dispatch_fire": True, "x": 1}):
        assert client.put(url, json=bad, headers=people["admin"]).status_code == 422, bad
    assert (
        client.get(
            "/api/v1/sites/Not_A_Site/dispatch-settings", headers=people["admin"]
        ).status_code
        == 422
    )


def test_refusals_are_clear_and_leave_no_trace(
    client: TestClient,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
) -> None:
    incident = fire(registry, db, site, grid.building)
    url = f"/api/v1/incidents/{incident}"
    op = people["operator"]
    assert client.post(f"{url}/dispatch").status_code == 401
    for role in ("viewer", "technician"):
        assert client.post(f"{url}/dispatch", headers=people[role]).status_code == 403
        assert (
            client.post(
                f"{url}/call-119", json={"confirmed": True}, headers=people[role]
            ).status_code
            == 403
        )
    for bad, field in (
        ({"zone": "no spaces allowed"}, "zone"),
        ({"person_id": "x" * 65}, "person_id"),
        ({"person_id": f"{site}-nobody"}, "person_id"),  # not on call in the zone
        ({"extra": 1}, "extra"),
    ):
        answer = client.post(f"{url}/dispatch", json=bad, headers=op)
        assert answer.status_code == 422, (bad, answer.text)
        assert field in {str(p) for e in answer.json()["detail"] for p in e["loc"]}
    bodies: list[dict[str, Any]] = [
        {},
        {"confirmed": "perhaps"},
        {"confirmed": True, "note": "x" * 501},
    ]
    for body in bodies:
        assert client.post(f"{url}/call-119", json=body, headers=op).status_code == 422, body
    assert (
        client.post(
            f"{url}/dispatch",
            content=b"{not json",
            headers={**op, "Content-Type": "application/json"},
        ).status_code
        == 422
    )
    for path, body in (("dispatch", {}), ("call-119", {"confirmed": True})):
        missing = client.post(f"/api/v1/incidents/999999999/{path}", json=body, headers=op)
        assert missing.status_code == 404, path
    assert client.get("/api/v1/incidents/999999999/dispatches", headers=op).status_code == 404
    assert client.post("/api/v1/dispatches/999999999/revoke", headers=op).status_code == 404
    assert client.post("/api/v1/dispatches/0/revoke", headers=op).status_code == 422
    assert client.get(f"{url}/dispatches", headers=op).json()["items"] == []

    first = client.post(f"{url}/dispatch", headers=op)
    assert first.status_code == 201
    second = client.post(f"{url}/dispatch", headers=op)
    assert second.status_code == 409
    assert f"open dispatch {first.json()['id']}" in second.json()["detail"]

    resolved = client.post(f"{url}/resolve", json={"cause": "false_alarm"}, headers=op)
    assert resolved.status_code == 200, resolved.text
    client.post(f"/api/v1/dispatches/{first.json()['id']}/revoke", headers=op)
    closed = client.post(f"{url}/dispatch", headers=op)
    assert closed.status_code == 409
    assert "resolved" in closed.json()["detail"]
    assert len(client.get(f"{url}/dispatches", headers=op).json()["items"]) == 1


@pytest.mark.parametrize(
    ("env", "api_host", "public_url", "link"),
    [
        ("production", "0.0.0.0", None, None),
        ("production", "10.1.2.3", None, None),
        ("production", "127.0.0.1", "http://firewatch.example", None),
        ("production", "0.0.0.0", "https://fw.example.cn", "https://fw.example.cn/field/"),
        ("production", "127.0.0.1", None, "http://127.0.0.1:8000/field/"),
        ("production", "::1", None, "http://[::1]:8000/field/"),
        ("development", "0.0.0.0", None, "http://0.0.0.0:8000/field/"),
    ],
)
def test_production_links_go_out_over_https_or_stay_on_this_machine(
    settings: Settings,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    people: dict[str, Who],
    env: str,
    api_host: str,
    public_url: str | None,
    link: str | None,
) -> None:
    """Review finding: unset FIREWATCH_PUBLIC_URL sent phones http://0.0.0.0:8000 links (or
    tokens in clear text across the network) in production."""
    configured = settings.model_copy(
        update={"env": env, "api_host": api_host, "api_port": 8000, "public_url": public_url}
    )
    incident = fire(registry, db, site, grid.building)
    with TestClient(create_app(configured)) as client:
        made = client.post(
            f"/api/v1/incidents/{incident}/dispatch", json={}, headers=people["operator"]
        )
    queued = db.execute(
        "SELECT q.message->>'link' FROM deliveries q JOIN dispatches d ON d.id = q.dispatch_id"
        " WHERE d.incident_id = %s",
        (incident,),
    ).fetchall()
    if link is None:
        assert made.status_code == 409, made.text
        assert "FIREWATCH_PUBLIC_URL" in made.json()["detail"]
        assert queued == []
        refused = threading.Event()
        with pytest.raises(Conflict, match="FIREWATCH_PUBLIC_URL"):  # nor starts the loop
            asyncio.run(asyncio.wait_for(loop.run(configured, refused), timeout=5))
    else:
        assert made.status_code == 201, made.text
        assert queued and all(row[0].startswith(link) for row in queued)
