"""Incident events on the live stream over a real socket: interleaved with alert events in
log-id order, and replayed after a Last-Event-ID as alert events are."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import psycopg
import pytest

from api.app import create_app
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from firewatch.testing import serving
from settings import Settings
from tests.api.alert_helpers import raise_alert
from tests.api.test_alert_stream import Event, Listener
from tests.conftest import Registry
from tests.tokens import auth, token

BOTH = ("alert", "incident")


@pytest.fixture()
def base_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


def _steps(events: list[Event]) -> list[tuple[str, str, int]]:
    """(kind, change, alert or incident id) of each event."""
    return [(e["kind"], e["change"], e[e["kind"]]["id"]) for e in events]


def test_incident_events_come_in_order_with_alert_events_and_are_replayed(
    base_url: str,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    operator = auth(token(database_url, f"op-{site}", "operator"))
    op = f"op-{site}"
    building = f"{site}-B1"
    smoke, heat = (registry.add(f"{site}-{n}", Kind.SMOKE) for n in ("SD1", "SD2"))
    url = f"{base_url}/api/v1/alerts/stream"
    at = datetime.now(UTC)

    live = Listener(url, viewer, site, kinds=BOTH)
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
        at=at + timedelta(seconds=30),
    )
    raised = live.take(4)
    incident = raised[1]["incident"]["id"]
    assert _steps(raised) == [
        ("alert", "raise", first),
        ("incident", "open", incident),
        ("alert", "raise", second),
        ("incident", "confirm", incident),
    ]
    ids = [int(e["id"]) for e in raised]
    assert ids == sorted(ids) and len(set(ids)) == 4
    assert all(e["event_id"] == e["id"] for e in raised)
    confirmed = raised[3]
    assert (confirmed["actor"], confirmed["from_state"], confirmed["to_state"]) == (
        "engine",
        "active_unack",
        "active_unack",
    )
    summary = confirmed["incident"]
    assert (summary["building"], summary["class"], summary["confirmed"]) == (
        building,
        "fire",
        True,
    )
    assert [s["alert_id"] for s in summary["signals"]] == [first, second]
    assert summary["counts"]["signals"] == summary["counts"]["devices"] == 2

    acked = httpx2.post(f"{base_url}/api/v1/incidents/{incident}/ack", headers=operator)
    assert acked.status_code == 200, acked.text
    cascade = live.take(3)
    assert _steps(cascade) == [
        ("alert", "ack", first),
        ("alert", "ack", second),
        ("incident", "ack", incident),
    ]
    assert {e["actor"] for e in cascade} == {op}
    assert cascade[2]["incident"]["state"] == "active_ack"
    # Another site's fire is not this screen's, neither its alert nor its incident.
    stranger = registry.add(f"{site}-X", Kind.SMOKE, site=f"{site}x")
    raise_alert(
        db, stranger, Rule.SMOKE_ALARM, AlertClass.FIRE, site=f"{site}x", building=f"{site}-BX"
    )
    seen = cascade[2]["id"]
    live.close()

    # While nobody listens: a comment on the incident, one of its signals resolved alone (the
    # incident stays acknowledged: no incident event), then the incident resolved.
    incident_url = f"{base_url}/api/v1/incidents/{incident}"
    for response in (
        httpx2.post(f"{incident_url}/comment", headers=operator, json={"text": "crew sent"}),
        httpx2.post(
            f"{base_url}/api/v1/alerts/{first}/resolve", headers=operator, json={"cause": "other"}
        ),
        httpx2.post(f"{incident_url}/resolve", headers=operator, json={"cause": "real_fire"}),
    ):
        assert response.status_code == 200, response.text

    again = Listener(url, {**viewer, "Last-Event-ID": seen}, site, kinds=BOTH)
    missed = again.take(4)
    assert _steps(missed) == [
        ("incident", "comment", incident),
        ("alert", "resolve", first),
        ("alert", "resolve", second),
        ("incident", "resolve", incident),
    ]
    assert missed[3]["incident"]["state"] == "resolved"
    assert missed[3]["incident"]["cause"] == "real_fire"
    assert int(missed[0]["id"]) > int(seen)
    assert live.foreign == again.foreign == 0
    again.close()
