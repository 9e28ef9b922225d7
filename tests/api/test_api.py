"""The minimal API against the real database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from api.app import create_app
from contract.alarms import Rule
from contract.families import family
from settings import Settings
from tests.tokens import auth, token


def test_health_and_readiness(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"ready": True, "checks": {"database": "ok", "broker": "ok"}}


def test_readiness_names_the_broker_when_it_is_down(settings: Settings) -> None:
    down = settings.model_copy(update={"mqtt_url": "mqtt://127.0.0.1:1"})
    with TestClient(create_app(down)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "broker": "down"}


def test_api_requires_a_valid_token(client: TestClient, site: str) -> None:
    missing = client.get("/api/v1/alerts")
    assert missing.status_code == 401
    assert "Bearer" in missing.json()["detail"]
    wrong = client.get("/api/v1/alerts", headers=auth("fw_not-a-token"))
    assert wrong.status_code == 401
    assert "unknown" in wrong.json()["detail"]


def test_technician_registers_a_device_viewer_may_not(
    client: TestClient, database_url: str, site: str, db: psycopg.Connection[Any]
) -> None:
    tech = token(database_url, f"tech-{site}", "technician")
    viewer = token(database_url, f"viewer-{site}", "viewer")
    db.execute("INSERT INTO buildings (id) VALUES (%s)", (f"{site}-B7",))  # registered first
    body = {
        "id": f"{site}-SD1",
        "kind": "smoke",
        "site": site,
        "building": f"{site}-B7",
        "floor": 3,
    }
    forbidden = client.post("/api/v1/devices", json=body, headers=auth(viewer))
    assert forbidden.status_code == 403
    assert "technician" in forbidden.json()["detail"]

    created = client.post("/api/v1/devices", json=body, headers=auth(tech))
    assert created.status_code == 201, created.text
    device = created.json()
    assert (device["id"], device["kind"], device["status"], device["heartbeat_s"]) == (
        f"{site}-SD1",
        "smoke",
        "active",
        3600,
    )
    again = client.post("/api/v1/devices", json=body, headers=auth(tech))
    assert again.status_code == 409

    bad = client.post(
        "/api/v1/devices", json={**body, "id": "has space", "kind": "toaster"}, headers=auth(tech)
    )
    assert bad.status_code == 422
    fields = {tuple(e["loc"]) for e in bad.json()["detail"]}
    assert fields == {("body", "id"), ("body", "kind")}


def test_alerts_are_listed_newest_first(
    client: TestClient, database_url: str, site: str, db: psycopg.Connection[Any]
) -> None:
    viewer = token(database_url, f"v-{site}", "viewer")
    db.execute(
        "INSERT INTO devices (id, kind, site, heartbeat_s) VALUES (%s, 'smoke', %s, 3600)",
        (f"{site}-D", site),
    )
    for minute, rule in ((1, Rule.SMOKE_ALARM), (2, Rule.HEAT_FIXED)):
        db.execute(
            "INSERT INTO alerts (device_id, subject, rule, family, class, state, raised_at,"
            " received_at, last_at, site)"
            " VALUES (%s, %s, %s, %s, 'fire', 'active_unack', %s, now(), %s, %s)",
            (
                f"{site}-D",
                f"{site}-D",
                rule,
                family(rule),
                datetime(2026, 1, 1, 0, minute, tzinfo=UTC),
                datetime(2026, 1, 1, 0, minute, tzinfo=UTC),
                site,
            ),
        )
    response = client.get("/api/v1/alerts", params={"open": True}, headers=auth(viewer))
    assert response.status_code == 200
    mine = [a for a in response.json() if a["device_id"] == f"{site}-D"]
    assert [a["rule"] for a in mine] == ["heat_fixed", "smoke_alarm"]
    assert mine[0]["class"] == "fire" and mine[0]["count"] == 1
    assert mine[0]["raised_at"] == "2026-01-01T00:02:00Z"


def test_openapi_documents_the_routes(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/healthz", "/readyz", "/api/v1/devices", "/api/v1/alerts"} <= set(paths)
    assert {"/api/v1/incidents", "/api/v1/incidents/{incident_id}/ack"} <= set(paths)
