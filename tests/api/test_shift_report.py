"""The shift report over a shift whose every figure is known: incidents and signals apart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from api.app import create_app
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from settings import Settings
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
    *,
    site: str,
    building: str,
    at_min: float,
    ack_s: float | None = None,
    resolve_s: float | None = None,
    cause: str | None = None,
    by: str = "op",
) -> int:
    """An alert raised (event time) and stored ``at_min`` minutes into the shift, acknowledged
    and resolved after the given seconds."""
    at = START + timedelta(minutes=at_min)
    alert = raise_alert(db, device, rule, cls, site=site, building=building, at=at)
    db.execute(
        "UPDATE alerts SET created_at = %s, acked_at = %s, acked_by = %s,"
        " resolved_at = %s, resolved_by = %s, cause = %s,"
        " state = CASE WHEN %s::float8 IS NULL THEN state ELSE 'resolved' END WHERE id = %s",
        (
            at,
            at + timedelta(seconds=ack_s) if ack_s is not None else None,
            by if ack_s is not None else None,
            at + timedelta(seconds=resolve_s) if resolve_s is not None else None,
            by if resolve_s is not None else None,
            cause,
            resolve_s,
            alert,
        ),
    )
    return alert


def _incident(
    db: psycopg.Connection[Any],
    alert: int,
    *,
    at_min: float,
    resolve_s: float | None = None,
    cause: str | None = None,
    by: str = "op",
) -> int:
    """The incident the alert opened, stored ``at_min`` minutes into the shift and resolved
    after the given seconds."""
    row = db.execute("SELECT incident_id FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row is not None and row[0] is not None, "the alert opened no incident"
    created = START + timedelta(minutes=at_min)
    db.execute(
        "UPDATE incidents SET created_at = %s, resolved_at = %s, resolved_by = %s, cause = %s,"
        " state = CASE WHEN %s::float8 IS NULL THEN state ELSE 'resolved' END WHERE id = %s",
        (
            created,
            created + timedelta(seconds=resolve_s) if resolve_s is not None else None,
            by if resolve_s is not None else None,
            cause,
            resolve_s,
            row[0],
        ),
    )
    return int(row[0])


def _log(
    db: psycopg.Connection[Any],
    incident: int,
    *,
    after_s: float,
    actor: str,
    action: str,
    to_state: str,
    detail: dict[str, Any] | None = None,
) -> None:
    """An incident log row ``after_s`` seconds after the incident was stored."""
    db.execute(
        "INSERT INTO incident_log (incident_id, at, actor, action, from_state, to_state, detail)"
        " SELECT id, created_at + make_interval(secs => %s), %s, %s, state, %s, %s"
        " FROM incidents WHERE id = %s",
        (after_s, actor, action, to_state, Jsonb(detail or {}), incident),
    )


def test_shift_figures(
    client: TestClient,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    a, b, c, d, e, f = (registry.add(f"{site}-{n}", Kind.SMOKE) for n in "ABCDEF")
    b1, b2, b3, b4, b5 = (f"{site}-B{n}" for n in range(1, 6))
    fire = AlertClass.FIRE
    # B1: two detectors within the window, one confirmed fire, acknowledged after 30 s (and
    # again after 900 s: the first acknowledgement counts), resolved as a real fire.
    first = _alert(
        db,
        a,
        Rule.SMOKE_ALARM,
        fire,
        site=site,
        building=b1,
        at_min=10,
        ack_s=20,
        resolve_s=1200,
        cause="real_fire",
    )
    _alert(
        db,
        b,
        Rule.HEAT_FIXED,
        fire,
        site=site,
        building=b1,
        at_min=10.5,
        ack_s=40,
        resolve_s=1170,
        cause="real_fire",
    )
    i1 = _incident(db, first, at_min=10, resolve_s=1200, cause="real_fire")
    _log(db, i1, after_s=30, actor="op", action="ack", to_state="active_ack")
    db.execute(
        "UPDATE incidents SET acked_at = created_at + interval '900 seconds' WHERE id = %s", (i1,)
    )
    # B2: a pre-alarm whose signal was acknowledged (the incident followed) after 90 s; the
    # engine's own step before that is no one's acknowledgement. A false alarm.
    pre = _alert(
        db,
        c,
        Rule.SMOKE_PREALARM,
        AlertClass.PREALARM,
        site=site,
        building=b2,
        at_min=60,
        ack_s=90,
        resolve_s=300,
        cause="false_alarm",
    )
    i2 = _incident(db, pre, at_min=60, resolve_s=300, cause="false_alarm")
    _log(db, i2, after_s=10, actor="engine", action="update", to_state="active_ack")
    _log(db, i2, after_s=90, actor="op", action="update", to_state="active_ack")
    # B3: a tamper still open, claimed and commented; a low battery beside it is no incident.
    tamper = _alert(db, d, Rule.TAMPER, AlertClass.SUPERVISORY, site=site, building=b3, at_min=100)
    i3 = _incident(db, tamper, at_min=100)
    db.execute("UPDATE incidents SET claimed_by = 'op' WHERE id = %s", (i3,))
    _log(
        db,
        i3,
        after_s=60,
        actor="op",
        action="comment",
        to_state="active_unack",
        detail={"note": "lock checked <b>"},
    )
    battery = _alert(
        db, d, Rule.LOW_BATTERY, AlertClass.TROUBLE, site=site, building=b3, at_min=110
    )
    # B4: a fire from before the shift, still open: handed over, not counted.
    old = _alert(db, e, Rule.SMOKE_ALARM, fire, site=site, building=b4, at_min=-30)
    i4 = _incident(db, old, at_min=-30)
    # B5: a pre-alarm that went back to normal by itself: counted, but no one's verdict.
    quiet = _alert(
        db,
        f,
        Rule.HEAT_ANOMALY,
        AlertClass.PREALARM,
        site=site,
        building=b5,
        at_min=150,
        resolve_s=60,
        cause="other",
        by="engine",
    )
    _incident(db, quiet, at_min=150, resolve_s=60, cause="other", by="engine")
    # Another site's fire in the shift is not this site's.
    stranger = _alert(
        db, a, Rule.SMOKE_ALARM, fire, site=f"x{site}", building=f"{site}-X", at_min=20
    )
    _incident(db, stranger, at_min=20, resolve_s=60, cause="false_alarm")

    operator = auth(token(database_url, f"op-{site}", "operator"))
    said = client.post(
        f"/api/v1/alerts/{battery}/comment",
        json={"text": "battery ordered <script>"},
        headers=operator,
    )
    assert said.status_code == 200, said.text

    params = {"from": START.isoformat(), "to": END.isoformat()}
    got = client.get("/api/v1/reports/shift", params=params, headers=operator)
    assert got.status_code == 200, got.text
    report = got.json()

    incidents = report["incidents"]
    assert (incidents["total"], incidents["confirmed"]) == (4, 1)
    assert incidents["by_class"] == {"fire": 1, "prealarm": 2, "supervisory": 1}
    assert incidents["time_to_ack"] == {
        "fire": {"count": 1, "median_s": 30.0, "worst_s": 30.0},
        "prealarm": {"count": 1, "median_s": 90.0, "worst_s": 90.0},
        "supervisory": {"count": 0, "median_s": None, "worst_s": None},
    }
    assert incidents["time_to_resolve"]["fire"] == {
        "count": 1,
        "median_s": 1200.0,
        "worst_s": 1200.0,
    }
    assert incidents["time_to_resolve"]["prealarm"] == {
        "count": 1,
        "median_s": 300.0,
        "worst_s": 300.0,
    }
    assert incidents["verdicts"] == {"false_alarm": 1, "real_fire": 1}
    assert incidents["false_alarm_ratio"] == 0.5
    assert [i["id"] for i in incidents["handover"]] == [i4, i3]  # the worst first
    handed = incidents["handover"][1]
    assert (handed["building"], handed["claimed_by"], handed["open_signals"]) == (b3, "op", 1)
    assert handed["last_comment"] == "lock checked <b>"

    signals = report["signals"]
    assert signals["total"] == 6 and signals["escalated"] == 0
    assert signals["by_class"] == {"fire": 2, "prealarm": 2, "supervisory": 1, "trouble": 1}
    assert signals["time_to_ack"]["fire"] == {"count": 2, "median_s": 30.0, "worst_s": 40.0}
    assert signals["time_to_ack"]["trouble"] == {"count": 0, "median_s": None, "worst_s": None}
    assert signals["time_to_resolve"]["fire"] == {"count": 2, "median_s": 1185.0, "worst_s": 1200.0}
    assert signals["time_to_resolve"]["prealarm"]["count"] == 1  # the engine's is no verdict
    assert signals["verdicts"] == {"false_alarm": 1, "real_fire": 2}
    assert signals["false_alarm_ratio"] == pytest.approx(1 / 3, abs=0.001)
    assert [(h["subject"], h["rule"]) for h in signals["handover"]] == [
        (e, "smoke_alarm"),
        (d, "tamper"),
        (d, "low_battery"),
    ]
    by_rule = {h["rule"]: h for h in signals["handover"]}
    assert by_rule["low_battery"]["last_comment"] == "battery ordered <script>"
    assert by_rule["low_battery"]["incident_id"] is None
    assert by_rule["tamper"]["incident_id"] == i3
    assert report["noisiest"][0] == {"subject": d, "alerts": 2}
    assert report["devices_offline"]["count"] == 6  # registered, never heard

    page = client.get(
        "/api/v1/reports/shift", params={**params, "format": "html"}, headers=operator
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "新增事件 4 起，其中多设备确认火警 1 起" in page.text and "误报率 50.0%" in page.text
    assert "新增信号（报警）6 条" in page.text and "误报率 33.3%" in page.text
    # Beijing time with its offset: the shift ran 20:00 to 08:00 UTC.
    span = "2026-11-29 04:00:00 +08:00 至 2026-11-29 16:00:00 +08:00（北京时间 UTC+08:00）"
    assert span in page.text
    # The fire handed over from before the shift was stored 30 min before it, 19:30 UTC.
    assert "<td>2026-11-29 03:30:00 +08:00</td>" in page.text
    assert "UTC<" not in page.text and "+00:00" not in page.text
    # Classes, states and rules in Chinese: the tamper and low battery still to hand over.
    for label in ("火警", "预警", "监管", "未确认", "设备被拆", "电量低", "真实火情 1"):
        assert label in page.text, label
    assert "battery ordered &lt;script&gt;" in page.text and "lock checked &lt;b&gt;" in page.text
    assert "<script" not in page.text and "<b>" not in page.text
    assert "http://" not in page.text and "https://" not in page.text
    assert '<html lang="zh-CN">' in page.text  # Chinese unless asked otherwise

    english = client.get(
        "/api/v1/reports/shift", params={**params, "format": "html", "lang": "en"}, headers=operator
    ).text
    assert '<html lang="en">' in english and "Open incidents to hand over" in english
    assert "New incidents: 4, of which 1 fires confirmed by several devices" in english
    assert "2026-11-29 04:00:00 +08:00 to 2026-11-29 16:00:00 +08:00 (Beijing time UTC+08:00)" in (
        english
    )
    assert "<td>2026-11-29 03:30:00 +08:00</td>" in english  # the site's clock in English too
    assert "值班" not in english and "误报" not in english
    french = client.get("/api/v1/reports/shift", params={"lang": "fr"}, headers=operator)
    assert french.status_code == 422 and "lang" in french.text


@pytest.mark.parametrize(
    ("month", "span"),
    [
        ("01", "2026-01-15 07:00:00 -05:00 至 2026-01-15 19:00:00 -05:00（{zone} UTC-05:00）"),
        ("07", "2026-07-15 08:00:00 -04:00 至 2026-07-15 20:00:00 -04:00（{zone} UTC-04:00）"),
    ],
)
def test_the_shift_report_is_on_the_configured_zone_with_its_summer_offset(
    settings: Settings, database_url: str, site: str, month: str, span: str
) -> None:
    zoned = settings.model_copy(update={"site_timezone": "America/New_York"})
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    params = {"from": f"2026-{month}-15T12:00:00Z", "to": f"2026-{month}-16T00:00:00Z"}
    with TestClient(create_app(zoned)) as client:
        page = client.get(
            "/api/v1/reports/shift", params={**params, "format": "html"}, headers=viewer
        )
        data = client.get("/api/v1/reports/shift", params=params, headers=viewer).json()
    assert page.status_code == 200 and span.format(zone="America/New_York") in page.text
    # The JSON keeps ISO 8601 in UTC, whatever the site's zone.
    assert datetime.fromisoformat(data["from"]) == datetime.fromisoformat(params["from"])


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


def test_an_incident_worked_through_its_routes_is_in_the_report(
    client: TestClient,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    a, b = registry.add(f"{site}-A", Kind.SMOKE), registry.add(f"{site}-B", Kind.SMOKE)
    building = f"{site}-B1"
    first = raise_alert(db, a, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, building=building)
    raise_alert(db, b, Rule.SMOKE_PREALARM, AlertClass.PREALARM, site=site, building=building)
    row = db.execute("SELECT incident_id FROM alerts WHERE id = %s", (first,)).fetchone()
    assert row is not None
    operator = auth(token(database_url, f"op-{site}", "operator"))
    url = f"/api/v1/incidents/{row[0]}"
    for action, body in (("ack", None), ("resolve", {"cause": "false_alarm"})):
        done = client.post(f"{url}/{action}", json=body, headers=operator)
        assert done.status_code == 200, done.text

    now = datetime.now(UTC)
    params = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(minutes=1)).isoformat(),
    }
    report = client.get("/api/v1/reports/shift", params=params, headers=operator).json()
    incidents, signals = report["incidents"], report["signals"]
    assert (incidents["total"], incidents["by_class"]["fire"], incidents["confirmed"]) == (1, 1, 1)
    assert incidents["time_to_ack"]["fire"]["count"] == 1
    assert 0 <= incidents["time_to_ack"]["fire"]["worst_s"] < 60
    assert incidents["time_to_resolve"]["fire"]["count"] == 1
    assert incidents["verdicts"] == {"false_alarm": 1} and incidents["false_alarm_ratio"] == 1.0
    assert incidents["handover"] == []
    # Its two signals were acknowledged and resolved with it.
    assert signals["total"] == 2 and signals["verdicts"] == {"false_alarm": 2}
    assert signals["time_to_ack"]["fire"]["count"] == 1 and signals["handover"] == []
