"""Shared by the dispatch and field API tests: a dispatched fire, and the field links its
notices carried, read back from the queued messages as a phone would receive them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from tests.conftest import Registry
from tests.dispatch.grid import Grid, fire

# An image of each type: the first bytes are what the API checks.
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(64)
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + bytes(64)


@dataclass(frozen=True, slots=True)
class Dispatched:
    incident: int
    dispatch: dict[str, Any]

    @property
    def id(self) -> int:
        return int(self.dispatch["id"])


def dispatch_fire(
    client: TestClient,
    operator: dict[str, str],
    *,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    grid: Grid,
    body: dict[str, Any] | None = None,
) -> Dispatched:
    incident = fire(registry, db, site, grid.building)
    made = client.post(f"/api/v1/incidents/{incident}/dispatch", json=body or {}, headers=operator)
    assert made.status_code == 201, made.text
    return Dispatched(incident, made.json())


def token_for(db: psycopg.Connection[Any], dispatch_id: int, person: str) -> str:
    """The token in the link the person's message carried."""
    row = db.execute(
        "SELECT DISTINCT message->>'link' FROM deliveries WHERE dispatch_id = %s"
        " AND person_id = %s",
        (dispatch_id, person),
    ).fetchone()
    assert row is not None, f"no message to {person}"
    return str(row[0]).rsplit("/field/", 1)[1]


def actions(client: TestClient, who: dict[str, str], incident: int) -> list[tuple[str, str]]:
    """(actor, action) of each incident timeline step, as the operator's screen lists them."""
    detail = client.get(f"/api/v1/incidents/{incident}", headers=who).json()
    return [(e["actor"], e["action"]) for e in detail["timeline"] if e["source"] == "incident"]
