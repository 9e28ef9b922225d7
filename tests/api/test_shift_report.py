"""The shift report over a shift whose every figure is known."""

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

START = datetime(2026, 11, 28, 20, 0, tzinfo=UTC)
END = START + timedelta(hours=12)


def _alert(
    db: psycopg.Connection[Any],
    device: str,
    rule: Rule,
    cls: AlertClass,
    site: str,
    *,
    at_min: int,
    ack_s: float | None = None,
    resolve_s: float | None = None,
    cause: str | None = None,
    by: str = "op",
) -> int:
    """An alert stored ``at_min`` minutes into the shift, acknowledged and resolved after the
    given seconds by an operator."""
    alert = raise_alert(db, device, rule, cls, site=site)
    created = START + timedelta(minutes=at_min)
    db.execute(
        "UPDATE alerts SET created_at = %s, acked_at = %s, acked_by = %s,"
        " resolved_at = %s, resolved_by = %s, cause = %s,"
        " state = CASE WHEN %s::float8 IS NULL THEN state ELSE 'resolved' END WHERE id = %s",
        (
            created,
            created + timedelta(seconds=ack_s) if ack_s is not None else None,
            by if ack_s is not None else None,
            created + timedelta(seconds=resolve_s) if resolve_s is not None else None,
            by if resolve_s is not None else None,
            cause,
            resolve_s,
            alert,
        ),
    )
    return alert


def test_shift_figures(
    client: TestClient,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    a, b, c = (registry.add(f"{site}-{n}", Kind.SMOKE) for n in ("A", "B", "C"))
    _alert(
        db,
        a,
        Rule.SMOKE_ALARM,
        AlertClass.FIRE,
        site,
        at_min=10,
        ack_s=20,
        resolve_s=600,
        cause="false_alarm",
    )
    _alert(
        db,
        a,
        Rule.HEAT_FIXED,
        AlertClass.FIRE,
        site,
        at_min=60,
        ack_s=40,
        resolve_s=1200,
        cause="real_fire",
    )
    _alert(
        db,
        b,
        Rule.SMOKE_ALARM,
        AlertClass.FIRE,
        site,
        at_min=90,
        ack_s=90,
        resolve_s=300,
        cause="false_alarm",
    )
    _alert(
        db, b, Rule.HEAT_ANOMALY, AlertClass.PREALARM, site, at_min=100, resolve_s=60, cause="test"
    )
    handover = _alert(db, c, Rule.LOW_BATTERY, AlertClass.TROUBLE, site, at_min=200)
    _alert(db, c, Rule.SMOKE_ALARM, AlertClass.FIRE, site, at_min=-30)  # before the shift
    operator = auth(token(database_url, f"op-{site}", "operator"))
    client.post(
        f"/api/v1/alerts/{handover}/comment",
        json={"text": "battery ordered <script>"},
        headers=operator,
    )

    params = {"from": START.isoformat(), "to": END.isoformat()}
    got = client.get("/api/v1/reports/shift", params=params, headers=operator)
    assert got.status_code == 200, got.text
    report = got.json()
    assert report["alerts"] == {
        "total": 5,
        "by_class": {"fire": 3, "prealarm": 1, "supervisory": 0, "trouble": 1},
        "escalated": 0,
    }
    assert report["time_to_ack"]["fire"] == {"count": 3, "median_s": 40.0, "worst_s": 90.0}
    assert report["time_to_ack"]["trouble"] == {"count": 0, "median_s": None, "worst_s": None}
    assert report["time_to_resolve"]["fire"] == {"count": 3, "median_s": 600.0, "worst_s": 1200.0}
    assert report["verdicts"] == {"false_alarm": 2, "real_fire": 1, "test": 1}
    assert report["false_alarm_ratio"] == pytest.approx(2 / 3, abs=0.001)
    assert report["noisiest"][:2] == [{"subject": a, "alerts": 2}, {"subject": b, "alerts": 2}]
    items = {(h["subject"], h["rule"]) for h in report["handover"]}
    assert items == {(c, "low_battery"), (c, "smoke_alarm")}
    assert report["handover"][0]["class"] == "fire"  # the worst first
    battery = next(h for h in report["handover"] if h["rule"] == "low_battery")
    assert battery["last_comment"] == "battery ordered <script>"
    assert report["devices_offline"]["count"] == 3  # registered, never heard

    page = client.get(
        "/api/v1/reports/shift", params={**params, "format": "html"}, headers=operator
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "battery ordered &lt;script&gt;" in page.text and "67%" in page.text
    assert "<script" not in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_shift_report_refuses_bad_windows(client: TestClient, database_url: str, site: str) -> None:
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    for params, code, said in (
        ({"from": END.isoformat(), "to": START.isoformat()}, 400, "before"),
        ({"from": (END - timedelta(days=8)).isoformat(), "to": END.isoformat()}, 400, "7 days"),
        ({"from": "2026-11-28T20:00:00", "to": END.isoformat()}, 400, "time zone"),
        ({"to": "0001-01-01T00:00:00Z"}, 400, "between 2000 and 2100"),
        ({"format": "pdf"}, 422, "format"),
    ):
        bad = client.get("/api/v1/reports/shift", params=params, headers=viewer)
        assert bad.status_code == code and said in bad.text, (params, bad.text)
    assert client.get("/api/v1/reports/shift").status_code == 401
