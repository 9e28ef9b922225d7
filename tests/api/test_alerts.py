"""Operators' alert routes against the real database: list, detail, every action and its rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from alerts.signals import Change
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from store.timeseries import PartitionKeeper
from tests.api.alert_helpers import raise_alert
from tests.conftest import Registry
from tests.tokens import auth, token


@pytest.fixture()
def people(database_url: str, site: str) -> dict[str, dict[str, str]]:
    return {
        role: auth(token(database_url, f"{role}-{site}", role))
        for role in ("operator", "viewer", "technician", "admin")
    } | {"operator2": auth(token(database_url, f"operator2-{site}", "operator"))}


def _post(client: TestClient, path: str, who: dict[str, str], body: Any = None) -> Any:
    return client.post(path, json=body, headers=who)


def test_fire_alarm_from_ack_to_resolution_is_audited_with_each_person(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    device = registry.add(f"{site}-SD1", kind=Kind.SMOKE)
    alert = raise_alert(db, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site)
    url = f"/api/v1/alerts/{alert}"
    op, op2 = people["operator"], people["operator2"]

    acked = _post(client, f"{url}/ack", op)
    assert acked.status_code == 200, acked.text
    assert acked.json()["state"] == "active_ack"
    assert acked.json()["acked_by"] == f"operator-{site}"

    shelved = _post(client, f"{url}/shelve", op, {"minutes": 30, "reason": "noisy"})
    assert shelved.status_code == 409
    assert "fire alarms cannot be shelved" in shelved.json()["detail"]

    assert _post(client, f"{url}/claim", op).json()["claimed_by"] == f"operator-{site}"
    taken = _post(client, f"{url}/claim", op2)
    assert taken.status_code == 409
    assert f"claimed by operator-{site}" in taken.json()["detail"]
    assert "take_over" in taken.json()["detail"]
    over = _post(client, f"{url}/claim", op2, {"take_over": True})
    assert over.json()["claimed_by"] == f"operator2-{site}"

    noted = _post(client, f"{url}/comment", people["technician"], {"text": "on my way"})
    assert noted.status_code == 200
    resolved = _post(client, f"{url}/resolve", op2, {"cause": "real_fire", "note": "put out"})
    assert resolved.status_code == 200
    body = resolved.json()
    assert (body["state"], body["cause"], body["resolved_by"], body["resolution_note"]) == (
        "resolved",
        "real_fire",
        f"operator2-{site}",
        "put out",
    )
    assert body["resolved_at"] is not None

    again = _post(client, f"{url}/resolve", op, {"cause": "real_fire"})
    assert again.status_code == 409
    assert "cannot resolve an alert that is resolved" in again.json()["detail"]

    detail = client.get(url, headers=people["viewer"]).json()
    steps = [(e["actor"], e["action"], e["from_state"], e["to_state"]) for e in detail["log"]]
    assert steps == [
        ("engine", "raise", None, "active_unack"),
        (f"operator-{site}", "ack", "active_unack", "active_ack"),
        (f"operator-{site}", "claim", "active_ack", "active_ack"),
        (f"operator2-{site}", "claim", "active_ack", "active_ack"),
        (f"technician-{site}", "comment", "active_ack", "active_ack"),
        (f"operator2-{site}", "resolve", "active_ack", "resolved"),
    ]
    assert detail["log"][3]["detail"] == {"previous_claim": f"operator-{site}"}
    assert detail["log"][4]["detail"] == {"note": "on my way"}


def test_a_shelved_prealarm_comes_back_as_its_condition_demands(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    device = registry.add(f"{site}-EM1", kind=Kind.ELECTRICAL)
    alert = raise_alert(db, device, Rule.LEAKAGE, AlertClass.PREALARM, site=site)
    before = datetime.now(UTC)
    shelved = _post(
        client,
        f"/api/v1/alerts/{alert}/shelve",
        people["operator"],
        {"minutes": 45, "reason": "electrician at work"},
    )
    assert shelved.status_code == 200, shelved.text
    until = datetime.fromisoformat(shelved.json()["shelved_until"])
    assert timedelta(minutes=44) < until - before < timedelta(minutes=46)
    assert shelved.json()["shelve_reason"] == "electrician at work"

    back = _post(client, f"/api/v1/alerts/{alert}/unshelve", people["operator"])
    assert (back.json()["state"], back.json()["shelved_until"]) == ("active_unack", None)
    twice = _post(client, f"/api/v1/alerts/{alert}/unshelve", people["operator"])
    assert twice.status_code == 409
    assert "only a shelved alert can be unshelved" in twice.json()["detail"]

    # Returned to normal while shelved: unshelving has nothing left to say.
    _post(
        client,
        f"/api/v1/alerts/{alert}/shelve",
        people["operator"],
        {"minutes": 5, "reason": "again"},
    )
    raise_alert(db, device, Rule.LEAKAGE, AlertClass.PREALARM, site=site, change=Change.CLEAR)
    gone = _post(client, f"/api/v1/alerts/{alert}/unshelve", people["operator"])
    assert gone.json()["state"] == "resolved"


def test_roles_and_bad_requests_get_clear_errors(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    device = registry.add(f"{site}-SD2", kind=Kind.SMOKE)
    alert = raise_alert(db, device, Rule.HEAT_ANOMALY, AlertClass.PREALARM, site=site)
    url = f"/api/v1/alerts/{alert}"
    assert client.post(f"{url}/ack").status_code == 401
    for role in ("viewer", "technician"):
        denied = _post(client, f"{url}/ack", people[role])
        assert denied.status_code == 403
        assert "operator" in denied.json()["detail"]
    assert _post(client, f"{url}/comment", people["viewer"], {"text": "x"}).status_code == 403

    missing = _post(client, "/api/v1/alerts/999999999/ack", people["operator"])
    assert (missing.status_code, missing.json()["detail"]) == (404, "no alert 999999999")
    assert client.get("/api/v1/alerts/999999999", headers=people["viewer"]).status_code == 404
    assert client.get("/api/v1/alerts/0", headers=people["viewer"]).status_code == 422

    for path, body, field in (
        ("shelve", {"minutes": 0, "reason": "too short a time"}, "minutes"),
        ("shelve", {"minutes": 24 * 60 + 1, "reason": "more than a day"}, "minutes"),
        ("shelve", {"minutes": 10}, "reason"),
        ("resolve", {"cause": "aliens"}, "cause"),
        ("resolve", {"cause": "other", "extra": 1}, "extra"),
        ("comment", {"text": ""}, "text"),
        ("ack", {"note": "x" * 2001}, "note"),
    ):
        bad = _post(client, f"{url}/{path}", people["operator"], body)
        assert bad.status_code == 422, (path, body, bad.text)
        assert field in {str(part) for e in bad.json()["detail"] for part in e["loc"]}
    detail = client.get(url, headers=people["viewer"]).json()
    assert [e["action"] for e in detail["log"]] == ["raise"], "a refused action left a trace"
    assert detail["alert"]["state"] == "active_unack"


def test_the_list_filters_and_pages(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    a = registry.add(f"{site}-A", kind=Kind.SMOKE)
    b = registry.add(f"{site}-B", kind=Kind.ELECTRICAL)
    fire = raise_alert(db, a, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, at=t0)
    leak = raise_alert(
        db,
        b,
        Rule.LEAKAGE,
        AlertClass.PREALARM,
        site=site,
        building=f"{site}-B-002",
        at=t0 + timedelta(hours=1),
    )
    low = raise_alert(
        db, a, Rule.LOW_BATTERY, AlertClass.TROUBLE, site=site, at=t0 + timedelta(hours=2)
    )
    _post(client, f"/api/v1/alerts/{low}/resolve", people["operator"], {"cause": "maintenance"})

    def ids(**params: Any) -> list[int]:
        got = client.get("/api/v1/alerts", params=params, headers=people["viewer"])
        assert got.status_code == 200, got.text
        return [x["id"] for x in got.json() if x["site"] == site]

    assert ids() == [low, leak, fire]
    assert ids(open=True) == [leak, fire]
    assert ids(**{"class": "fire"}) == [fire]
    assert ids(state="resolved") == [low]
    assert ids(building=f"{site}-B-002") == [leak]
    assert ids(device=a) == [low, fire]
    assert ids(**{"from": (t0 + timedelta(minutes=30)).isoformat()}) == [low, leak]
    assert ids(to=(t0 + timedelta(minutes=90)).isoformat()) == [leak, fire]
    assert ids(device=a, limit=1) == [low]
    assert ids(device=a, before=low) == [fire]
    bad = client.get("/api/v1/alerts", params={"class": "panic"}, headers=people["viewer"])
    assert bad.status_code == 422
    for name in ("device", "building"):  # PostgreSQL text cannot hold NUL: a 422, not a 500
        nul = client.get("/api/v1/alerts", params={name: "\x00SD"}, headers=people["viewer"])
        assert nul.status_code == 422, nul.text
        assert nul.json()["detail"][0]["loc"] == ["query", name]


def test_detail_carries_the_readings_around_the_alert(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    device = registry.add(f"{site}-SD3", kind=Kind.SMOKE)
    raised = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    PartitionKeeper(db).ensure(db, {raised.date(), (raised - timedelta(minutes=20)).date()})
    for minutes, value in ((-15, 20.0), (-5, 24.0), (0, 61.5), (10, 70.0), (25, 30.0)):
        db.execute(
            "INSERT INTO readings (ts, device_id, metric, value, seq, received_at)"
            " VALUES (%s, %s, 'temperature_c', %s, %s, now())",
            (raised + timedelta(minutes=minutes), device, value, 100 + minutes),
        )
    alert = raise_alert(db, device, Rule.HEAT_FIXED, AlertClass.FIRE, site=site, at=raised)
    detail = client.get(f"/api/v1/alerts/{alert}", headers=people["viewer"]).json()
    (series,) = detail["readings"]
    assert series["metric"] == "temperature_c"
    assert [p["v"] for p in series["points"]] == [24.0, 61.5, 70.0]
    assert detail["alert"]["rule"] == "heat_fixed" and detail["alert"]["family"] == "heat"
    assert detail["alert"]["incident_id"] is not None  # a device's fire is an incident's signal


def test_operators_do_not_see_what_technicians_test(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, dict[str, str]],
) -> None:
    device = registry.add(f"{site}-SD7", kind=Kind.SMOKE)
    quiet = raise_alert(
        db, device, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, suppressed="commissioning"
    )
    loud = raise_alert(db, device, Rule.LOW_BATTERY, AlertClass.TROUBLE, site=site)

    def ids(**params: Any) -> list[int]:
        got = client.get("/api/v1/alerts", params=params, headers=people["operator"]).json()
        return [a["id"] for a in got if a["device_id"] == device]

    assert ids(open=True) == [loud]
    assert ids() == [loud]
    assert ids(state="suppressed") == [quiet]  # asked for by name
    technician = client.get(f"/api/v1/devices/{device}/alerts", headers=people["technician"])
    assert {a["id"] for a in technician.json()} == {quiet, loud}
