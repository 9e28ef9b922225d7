"""What the dispatch loop keeps small and fast (review finding): the automatic-dispatch query on
its own index, deliveries and the field's data deleted after their retention by the loop
itself, a bounded batch at a time, and the dispatch rows kept for the monthly report."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from dispatch import loop
from firewatch.testing import wait_until
from settings import Settings
from store.database import connect_async
from store.dispatches import _AUTO
from tests.api.dispatch_helpers import JPEG, token_for
from tests.conftest import Registry
from tests.dispatch.grid import Grid, fire, make_grid
from tests.tokens import auth, token

FIELD_TABLES = ("field_photos", "field_answers", "dispatch_notices", "field_links")


def test_the_automatic_dispatch_query_has_its_index(db: psycopg.Connection[Any], site: str) -> None:
    """It runs every tick: with sequential scans priced out, the plan must find an index
    that holds exactly the open confirmed fires."""
    with db.transaction():
        db.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            str(row[0])
            for row in db.execute("EXPLAIN " + _AUTO, {"site": site, "limit": 20}).fetchall()
        )
    assert "incidents_auto_dispatch" in plan, plan


@pytest.fixture()
def grid(database_url: str, db: psycopg.Connection[Any], site: str) -> Grid:
    return make_grid(database_url, db, site)


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _answered(
    client: TestClient,
    operator: dict[str, str],
    *,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    building: str,
) -> int:
    """A fire in ``building`` dispatched, answered from the field with a photo, resolved;
    returns the dispatch's id."""
    incident = fire(registry, db, site, building)
    made = client.post(f"/api/v1/incidents/{incident}/dispatch", json={}, headers=operator)
    assert made.status_code == 201, made.text
    dispatch_id = int(made.json()["id"])
    link = token_for(db, dispatch_id, grid.workers[0])
    assert client.post(f"/api/v1/field/{link}/steps", json={"step": "accept"}).status_code == 200
    photo = client.post(
        f"/api/v1/field/{link}/photo", content=JPEG, headers={"Content-Type": "image/jpeg"}
    )
    assert photo.status_code == 201, photo.text
    resolved = client.post(
        f"/api/v1/incidents/{incident}/resolve", json={"cause": "false_alarm"}, headers=operator
    )
    assert resolved.status_code == 200, resolved.text
    return dispatch_id


def _held(db: psycopg.Connection[Any], dispatch_id: int) -> dict[str, int]:
    counts = {
        table: db.execute(
            f"SELECT count(*) FROM {table} WHERE {column} = %s", (dispatch_id,)
        ).fetchone()
        for table, column in (
            *((t, "dispatch_id") for t in (*FIELD_TABLES, "deliveries")),
            ("dispatches", "id"),
        )
    }
    return {table: int(found[0]) for table, found in counts.items() if found is not None}


def _age(db: psycopg.Connection[Any], dispatch_id: int, *, days: int) -> None:
    """The dispatch's incident resolved, and its deliveries sent, ``days`` ago."""
    db.execute(
        "UPDATE incidents SET resolved_at = now() - make_interval(days => %s)"
        " WHERE id = (SELECT incident_id FROM dispatches WHERE id = %s)",
        (days, dispatch_id),
    )
    db.execute(
        "UPDATE deliveries SET state = 'sent', attempts = 1, channel_config = '{}',"
        " sent_at = now() - make_interval(days => %s) WHERE dispatch_id = %s",
        (days, dispatch_id),
    )


def test_the_loop_deletes_what_is_past_retention_and_keeps_the_rest(
    client: TestClient,
    database_url: str,
    db: psycopg.Connection[Any],
    registry: Registry,
    site: str,
    grid: Grid,
    settings: Settings,
) -> None:
    operator = auth(token(database_url, f"operator-{site}", "operator"))
    buildings = [grid.building]
    for n in (2, 3):
        db.execute(
            "INSERT INTO buildings (id, name, zone) VALUES (%s, %s, %s)",
            (f"{site}-B{n}", f"{n}号楼", grid.zone),
        )
        buildings.append(f"{site}-B{n}")
    old, older, recent = (
        _answered(client, operator, db=db, registry=registry, site=site, grid=grid, building=b)
        for b in buildings
    )
    kept = {d: _held(db, d) for d in (old, older, recent)}
    assert all(n > 0 for counts in kept.values() for n in counts.values()), kept
    _age(db, old, days=settings.field_retention_days + 1)
    _age(db, older, days=settings.field_retention_days + 2)
    _age(db, recent, days=settings.delivery_retention_days - 1)

    # A bounded run: one dispatch's field data, one delivery.
    async def once() -> tuple[int, int]:
        async with await connect_async(database_url) as conn:
            return await loop.maintain(conn, now=datetime.now(UTC), settings=settings, limit=1)

    assert asyncio.run(once()) == (1, 1)
    assert _held(db, older)["field_links"] == 0 and _held(db, old)["field_links"] > 0

    # The loop itself prunes the rest when it starts.
    stop = threading.Event()
    running = threading.Thread(target=asyncio.run, args=(loop.run(settings, stop),), daemon=True)
    running.start()
    try:
        wait_until(
            lambda: _held(db, old)["field_links"] == 0 and _held(db, old)["deliveries"] == 0,
            timeout=10,
            what="the loop's retention",
        )
    finally:
        stop.set()
        running.join(timeout=10)
    for gone in (old, older):
        assert _held(db, gone) == {**{t: 0 for t in FIELD_TABLES}, "deliveries": 0, "dispatches": 1}
    assert _held(db, recent) == kept[recent]  # within both retentions
    verdicts = db.execute(
        "SELECT count(*) FROM dispatches WHERE id IN (%s, %s) AND accepted_at IS NOT NULL",
        (old, older),
    ).fetchone()
    assert verdicts == (2,)  # the times the monthly report reads are kept
