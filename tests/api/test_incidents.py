"""Operators' incident routes against the real database: the list and its filters, one incident
with its merged timeline, and every action cascading to the signals, audited with the person.
Incidents are made as ingest makes them: engine decisions applied by the store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from tests.api.alert_helpers import raise_alert
from tests.conftest import Registry
from tests.tokens import auth, token

Who = dict[str, str]


@pytest.fixture()
def people(database_url: str, site: str) -> dict[str, Who]:
    return {
        role: auth(token(database_url, f"{role}-{site}", role))
        for role in ("operator", "viewer", "technician")
    } | {"operator2": auth(token(database_url, f"operator2-{site}", "operator"))}


def _fire(
    registry: Registry, db: psycopg.Connection[Any], site: str, building: str, at: datetime
) -> tuple[int, int]:
    """A smoke alarm and, a minute later, another detector's heat alarm in one building: one
    incident, confirmed. Returns the two alerts' ids."""
    smoke = registry.add(f"{building}-SD", kind=Kind.SMOKE)
    heat = registry.add(f"{building}-HD", kind=Kind.SMOKE)
    first = raise_alert(
        db, smoke, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, building=building, at=at
    )
    second = raise_alert(
        db,
        heat,
        Rule.HEAT_FIXED,
        AlertClass.FIRE,
        site=site,
        building=building,
        at=at + timedelta(minutes=1),
    )
    return first, second


def _incident_of(client: TestClient, who: Who, alert_id: int) -> int:
    found = client.get(f"/api/v1/alerts/{alert_id}", headers=who).json()["alert"]["incident_id"]
    assert isinstance(found, int)
    return found


def _alert(client: TestClient, who: Who, alert_id: int) -> dict[str, Any]:
    body: dict[str, Any] = client.get(f"/api/v1/alerts/{alert_id}", headers=who).json()
    return body


def test_two_detectors_in_one_building_are_one_confirmed_incident_with_its_signals(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    t0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
    first, second = _fire(registry, db, site, f"{site}-B1", t0)
    got = client.get("/api/v1/incidents", headers=people["viewer"])
    assert got.status_code == 200, got.text
    (incident,) = got.json()["items"]
    assert got.json()["next_before"] is None
    assert (incident["building"], incident["site"], incident["class"], incident["state"]) == (
        f"{site}-B1",
        site,
        "fire",
        "active_unack",
    )
    assert incident["confirmed"] is True
    assert incident["confirmed_at"] == "2026-03-01T12:01:00Z"
    assert incident["opened_at"] == "2026-03-01T12:00:00Z"
    assert [s["alert_id"] for s in incident["signals"]] == [first, second]
    smoke, heat = incident["signals"]
    assert (smoke["device_id"], smoke["rule"], smoke["family"], smoke["class"]) == (
        f"{site}-B1-SD",
        "smoke_alarm",
        "smoke",
        "fire",
    )
    assert (heat["first_at"], heat["last_at"], heat["count"], heat["peak"]) == (
        "2026-03-01T12:01:00Z",
        "2026-03-01T12:01:00Z",
        1,
        61.5,
    )
    assert incident["counts"] == {
        "signals": 2,
        "open_signals": 2,
        "devices": 2,
        "by_class": {"fire": 2},
    }
    # A fire incident is never shelved; an unacknowledged one can be acknowledged.
    assert incident["allowed"] == ["ack", "claim", "comment", "resolve"]
    assert _incident_of(client, people["viewer"], first) == incident["id"]


def test_the_list_filters_and_pages(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    t0 = datetime(2026, 3, 2, 8, tzinfo=UTC)
    fire_alert, _ = _fire(registry, db, site, f"{site}-B1", t0)
    fire = _incident_of(client, people["viewer"], fire_alert)
    leak_alert = raise_alert(
        db,
        registry.add(f"{site}-EM", kind=Kind.ELECTRICAL),
        Rule.LEAKAGE,
        AlertClass.PREALARM,
        site=site,
        building=f"{site}-B2",
        at=t0 + timedelta(hours=1),
    )
    leak = _incident_of(client, people["viewer"], leak_alert)
    tamper_alert = raise_alert(
        db,
        registry.add(f"{site}-SD9", kind=Kind.SMOKE),
        Rule.TAMPER,
        AlertClass.SUPERVISORY,
        site=site,
        building=f"{site}-B3",
        at=t0 + timedelta(hours=2),
    )
    tamper = _incident_of(client, people["viewer"], tamper_alert)
    done = client.post(
        f"/api/v1/incidents/{tamper}/resolve", json={"cause": "test"}, headers=people["operator"]
    )
    assert done.status_code == 200, done.text
    # Another site's incident is not on this site's list unless asked for.
    other = raise_alert(
        db,
        registry.add(f"{site}-X", kind=Kind.SMOKE, site=f"{site}x"),
        Rule.SMOKE_ALARM,
        AlertClass.FIRE,
        site=f"{site}x",
        building=f"{site}-BX",
        at=t0,
    )

    def ids(**params: Any) -> list[int]:
        got = client.get("/api/v1/incidents", params=params, headers=people["viewer"])
        assert got.status_code == 200, got.text
        return [i["id"] for i in got.json()["items"]]

    assert ids() == [tamper, leak, fire]
    assert ids(open=True) == [leak, fire]
    assert ids(**{"class": "prealarm"}) == [leak]
    assert ids(state="resolved") == [tamper]
    assert ids(building=f"{site}-B2") == [leak]
    assert ids(**{"from": (t0 + timedelta(minutes=30)).isoformat()}) == [tamper, leak]
    assert ids(to=(t0 + timedelta(minutes=90)).isoformat()) == [leak, fire]
    assert ids(site=f"{site}x") == [_incident_of(client, people["viewer"], other)]

    first = client.get("/api/v1/incidents", params={"limit": 2}, headers=people["viewer"]).json()
    assert [i["id"] for i in first["items"]] == [tamper, leak]
    assert first["next_before"] == leak
    rest = client.get(
        "/api/v1/incidents",
        params={"limit": 2, "before": first["next_before"]},
        headers=people["viewer"],
    ).json()
    assert ([i["id"] for i in rest["items"]], rest["next_before"]) == ([fire], None)

    for params in ({"class": "panic"}, {"state": "suppressed"}, {"limit": 0}, {"before": 0}):
        bad = client.get("/api/v1/incidents", params=params, headers=people["viewer"])
        assert bad.status_code == 422, (params, bad.text)
        assert bad.json()["detail"][0]["loc"][0] == "query"
    assert client.get("/api/v1/incidents").status_code == 401


def test_detail_has_one_timeline_of_the_incident_and_its_signals(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    first, second = _fire(registry, db, site, f"{site}-B1", datetime.now(UTC))
    incident = _incident_of(client, people["viewer"], first)
    acked = client.post(f"/api/v1/incidents/{incident}/ack", headers=people["operator"])
    assert acked.status_code == 200, acked.text

    got = client.get(f"/api/v1/incidents/{incident}", headers=people["viewer"])
    assert got.status_code == 200, got.text
    body = got.json()
    assert body["incident"]["id"] == incident and len(body["incident"]["signals"]) == 2
    timeline = body["timeline"]
    assert [e["id"] for e in timeline] == sorted(e["id"] for e in timeline)
    op = f"operator-{site}"
    steps = [(e["source"], e["alert_id"], e["action"], e["actor"]) for e in timeline]
    assert steps == [
        ("alert", first, "raise", "engine"),
        ("incident", None, "open", "engine"),
        ("alert", second, "raise", "engine"),
        ("incident", None, "confirm", "engine"),
        ("alert", first, "ack", op),
        ("alert", second, "ack", op),
        ("incident", None, "ack", op),
    ]
    assert (timeline[0]["device_id"], timeline[0]["rule"]) == (f"{site}-B1-SD", "smoke_alarm")
    assert timeline[3]["detail"]["signals"] == [second]

    missing = client.get("/api/v1/incidents/999999999", headers=people["viewer"])
    assert (missing.status_code, missing.json()["detail"]) == (404, "no incident 999999999")
    assert client.get("/api/v1/incidents/0", headers=people["viewer"]).status_code == 422
    assert client.get("/api/v1/incidents/x", headers=people["viewer"]).status_code == 422


def test_each_action_cascades_to_the_signals_and_is_audited_with_the_person(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    first, second = _fire(registry, db, site, f"{site}-B1", datetime.now(UTC))
    incident = _incident_of(client, people["viewer"], first)
    url = f"/api/v1/incidents/{incident}"
    op, op2 = f"operator-{site}", f"operator2-{site}"

    acked = client.post(f"{url}/ack", json={"note": "seen"}, headers=people["operator"])
    assert acked.status_code == 200, acked.text
    body = acked.json()
    assert (body["state"], body["acked_by"], body["allowed"]) == (
        "active_ack",
        op,
        ["claim", "comment", "resolve"],
    )
    assert {s["state"] for s in body["signals"]} == {"active_ack"}
    for alert_id in (first, second):
        alert = _alert(client, people["viewer"], alert_id)
        assert (alert["alert"]["state"], alert["alert"]["acked_by"]) == ("active_ack", op)
        step = alert["log"][-1]
        assert (step["action"], step["actor"], step["detail"]) == (
            "ack",
            op,
            {"note": "seen", "incident": incident},
        )

    again = client.post(f"{url}/ack", headers=people["operator"])
    assert again.status_code == 409
    assert again.json()["detail"] == (
        f"cannot ack incident {incident}, which is active_ack; allowed: claim, comment, resolve"
    )
    shelved = client.post(
        f"{url}/shelve", json={"minutes": 30, "reason": "noisy"}, headers=people["operator"]
    )
    assert shelved.status_code == 409
    assert "an incident with a fire signal cannot be shelved" in shelved.json()["detail"]

    claimed = client.post(f"{url}/claim", headers=people["operator"])
    assert claimed.json()["claimed_by"] == op
    taken = client.post(f"{url}/claim", headers=people["operator2"])
    assert taken.status_code == 409
    assert taken.json()["detail"] == (
        f"incident {incident} is claimed by {op}; send take_over=true to take it over"
    )
    over = client.post(f"{url}/claim", json={"take_over": True}, headers=people["operator2"])
    assert over.json()["claimed_by"] == op2
    assert _alert(client, people["viewer"], second)["alert"]["claimed_by"] == op2

    logged = len(_alert(client, people["viewer"], first)["log"])
    noted = client.post(f"{url}/comment", json={"text": "crew sent"}, headers=people["technician"])
    assert noted.status_code == 200, noted.text
    assert len(_alert(client, people["viewer"], first)["log"]) == logged, "a comment cascaded"

    resolved = client.post(
        f"{url}/resolve",
        json={"cause": "real_fire", "note": "put out"},
        headers=people["operator2"],
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["state"], body["cause"], body["resolved_by"], body["resolution_note"]) == (
        "resolved",
        "real_fire",
        op2,
        "put out",
    )
    assert body["allowed"] == ["comment"] and body["counts"]["open_signals"] == 0
    for alert_id in (first, second):
        alert = _alert(client, people["viewer"], alert_id)["alert"]
        assert (alert["state"], alert["cause"], alert["resolved_by"]) == (
            "resolved",
            "real_fire",
            op2,
        )
    late = client.post(f"{url}/resolve", json={"cause": "other"}, headers=people["operator"])
    assert late.status_code == 409
    assert late.json()["detail"].endswith("which is resolved; allowed: comment")

    timeline = client.get(url, headers=people["viewer"]).json()["timeline"]
    mine = [
        (e["action"], e["actor"], e["from_state"], e["to_state"], e["detail"])
        for e in timeline
        if e["source"] == "incident" and e["actor"] != "engine"
    ]
    assert mine == [
        (
            "ack",
            op,
            "active_unack",
            "active_ack",
            {"class": "fire", "note": "seen", "alerts": [first, second]},
        ),
        ("claim", op, "active_ack", "active_ack", {"class": "fire", "alerts": [first, second]}),
        (
            "claim",
            op2,
            "active_ack",
            "active_ack",
            {"class": "fire", "previous_claim": op, "alerts": [first, second]},
        ),
        (
            "comment",
            f"technician-{site}",
            "active_ack",
            "active_ack",
            {"class": "fire", "note": "crew sent"},
        ),
        (
            "resolve",
            op2,
            "active_ack",
            "resolved",
            {"class": "fire", "cause": "real_fire", "note": "put out", "alerts": [first, second]},
        ),
    ]


def test_a_prealarm_incident_is_shelved_and_unshelved_with_its_signals(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    building = f"{site}-B1"
    leak = raise_alert(
        db,
        registry.add(f"{site}-EM1", kind=Kind.ELECTRICAL),
        Rule.LEAKAGE,
        AlertClass.PREALARM,
        site=site,
        building=building,
    )
    warm = raise_alert(
        db,
        registry.add(f"{site}-HD1", kind=Kind.SMOKE),
        Rule.HEAT_ANOMALY,
        AlertClass.PREALARM,
        site=site,
        building=building,
    )
    incident = _incident_of(client, people["viewer"], leak)
    assert _incident_of(client, people["viewer"], warm) == incident
    url = f"/api/v1/incidents/{incident}"
    before = datetime.now(UTC)
    shelved = client.post(
        f"{url}/shelve",
        json={"minutes": 45, "reason": "electrician at work"},
        headers=people["operator"],
    )
    assert shelved.status_code == 200, shelved.text
    body = shelved.json()
    assert (body["state"], body["shelve_reason"]) == ("shelved", "electrician at work")
    until = datetime.fromisoformat(body["shelved_until"])
    assert timedelta(minutes=44) < until - before < timedelta(minutes=46)
    assert body["allowed"] == ["claim", "comment", "resolve", "unshelve"]
    for alert_id in (leak, warm):
        alert = _alert(client, people["viewer"], alert_id)
        assert (alert["alert"]["state"], alert["alert"]["shelved_until"]) == (
            "shelved",
            body["shelved_until"],
        )
        step = alert["log"][-1]
        assert (step["action"], step["actor"], step["detail"]) == (
            "shelve",
            f"operator-{site}",
            {"minutes": 45, "reason": "electrician at work", "incident": incident},
        )

    back = client.post(f"{url}/unshelve", headers=people["operator"])
    assert back.status_code == 200, back.text
    assert (back.json()["state"], back.json()["shelved_until"]) == ("active_unack", None)
    assert {s["state"] for s in back.json()["signals"]} == {"active_unack"}
    twice = client.post(f"{url}/unshelve", headers=people["operator"])
    assert twice.status_code == 409
    assert "allowed: ack, claim, comment, resolve, shelve" in twice.json()["detail"]


def test_an_action_on_one_signal_moves_its_incident(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    first, second = _fire(registry, db, site, f"{site}-B1", datetime.now(UTC))
    incident = _incident_of(client, people["viewer"], first)
    url = f"/api/v1/incidents/{incident}"
    op = f"operator-{site}"

    assert client.post(f"/api/v1/alerts/{first}/ack", headers=people["operator"]).is_success
    half = client.get(url, headers=people["viewer"]).json()["incident"]
    assert (half["state"], half["acked_by"]) == ("active_unack", None)  # one still calls
    assert client.post(f"/api/v1/alerts/{second}/ack", headers=people["operator"]).is_success
    whole = client.get(url, headers=people["viewer"]).json()
    assert (whole["incident"]["state"], whole["incident"]["acked_by"]) == ("active_ack", op)
    last = whole["timeline"][-1]
    assert (last["source"], last["action"], last["actor"], last["to_state"]) == (
        "incident",
        "update",
        op,
        "active_ack",
    )

    for alert_id in (first, second):
        done = client.post(
            f"/api/v1/alerts/{alert_id}/resolve",
            json={"cause": "false_alarm", "note": "steam"},
            headers=people["operator"],
        )
        assert done.status_code == 200, done.text
    gone = client.get(url, headers=people["viewer"]).json()["incident"]
    assert (gone["state"], gone["cause"], gone["resolved_by"], gone["resolution_note"]) == (
        "resolved",
        "false_alarm",
        op,
        "steam",
    )


def test_roles_and_bad_bodies_get_clear_errors(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    people: dict[str, Who],
) -> None:
    alert = raise_alert(
        db,
        registry.add(f"{site}-SD1", kind=Kind.SMOKE),
        Rule.SMOKE_PREALARM,
        AlertClass.PREALARM,
        site=site,
    )
    incident = _incident_of(client, people["viewer"], alert)
    url = f"/api/v1/incidents/{incident}"
    assert client.post(f"{url}/ack").status_code == 401
    for role in ("viewer", "technician"):
        denied = client.post(f"{url}/ack", headers=people[role])
        assert denied.status_code == 403
        assert "operator" in denied.json()["detail"]
    assert (
        client.post(f"{url}/comment", json={"text": "x"}, headers=people["viewer"]).status_code
        == 403
    )

    missing = client.post("/api/v1/incidents/999999999/ack", headers=people["operator"])
    assert (missing.status_code, missing.json()["detail"]) == (404, "no incident 999999999")

    for path, body, field in (
        ("shelve", {"minutes": 0, "reason": "too short a time"}, "minutes"),
        ("shelve", {"minutes": 24 * 60 + 1, "reason": "more than a day"}, "minutes"),
        ("shelve", {"minutes": 10}, "reason"),
        ("resolve", {"cause": "aliens"}, "cause"),
        ("resolve", {"cause": "other", "extra": 1}, "extra"),
        ("comment", {"text": ""}, "text"),
        ("ack", {"note": "x" * 2001}, "note"),
        ("claim", {"take_over": "maybe"}, "take_over"),
    ):
        bad = client.post(f"{url}/{path}", json=body, headers=people["operator"])
        assert bad.status_code == 422, (path, body, bad.text)
        assert field in {str(part) for e in bad.json()["detail"] for part in e["loc"]}
    detail = client.get(url, headers=people["viewer"]).json()
    assert [e["action"] for e in detail["timeline"]] == ["raise", "open"], (
        "a refused action left a trace"
    )
    assert detail["incident"]["state"] == "active_unack"
