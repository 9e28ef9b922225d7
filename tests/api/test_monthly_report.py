"""The monthly report over a month whose every figure is known, on PostgreSQL, through the API:
JSON and the printable page, months on Beijing time, and bad input refused."""

from __future__ import annotations

import secrets
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

# 00:30 on 1 November in Beijing is still 31 October in UTC.
NOV_1_BEIJING = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


def _incident(
    db: psycopg.Connection[Any],
    devices: list[tuple[str, Rule, AlertClass]],
    *,
    site: str,
    building: str,
    created: datetime,
) -> int:
    """The incident the devices' alerts open in the building (a minute apart), stored at
    ``created``."""
    alert = 0
    for n, (device, rule, cls) in enumerate(devices):
        alert = raise_alert(
            db, device, rule, cls, site=site, building=building, at=created + timedelta(minutes=n)
        )
    row = db.execute("SELECT incident_id FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert row is not None and row[0] is not None
    db.execute("UPDATE incidents SET created_at = %s WHERE id = %s", (created, row[0]))
    return int(row[0])


def _dispatch(
    db: psycopg.Connection[Any],
    incident: int,
    *,
    after_s: float,
    automatic: bool,
    arrived_s: float,
    verdict: str,
    cause: str,
    escalated: bool = False,
) -> int:
    """A dispatch ``after_s`` seconds after the incident was stored, its worker there
    ``arrived_s`` seconds after the incident, with a verdict; ``escalated``: a second person
    was called."""
    row = db.execute(
        "INSERT INTO dispatches (incident_id, site, zone, automatic, created_by, created_at,"
        " state, accepted_at, arrived_at, verdict_at, verdict, cause, closed_at)"
        " SELECT id, site, 'G-01', %(auto)s, 'op', created_at + make_interval(secs => %(d)s),"
        " 'done', created_at + make_interval(secs => %(d)s + 20),"
        " created_at + make_interval(secs => %(a)s), created_at + make_interval(secs => %(a)s),"
        " %(verdict)s, %(cause)s, created_at + make_interval(secs => %(a)s)"
        " FROM incidents WHERE id = %(id)s RETURNING id",
        {
            "auto": automatic,
            "d": after_s,
            "a": arrived_s,
            "verdict": verdict,
            "cause": cause,
            "id": incident,
        },
    ).fetchone()
    assert row is not None
    steps = ["dispatch", "escalate"] if escalated else ["dispatch"]
    for level, step in enumerate(steps):
        link = secrets.token_urlsafe(16)
        db.execute(
            "INSERT INTO field_links (id, dispatch_id, person_id, expires_at)"
            " VALUES (%s, %s, %s, now())",
            (link, row[0], f"p{level}"),
        )
        db.execute(
            "INSERT INTO dispatch_notices (dispatch_id, person_id, name, role, level, step,"
            " link_id, channels, notified_at) VALUES (%s, %s, '王芳', 'grid_worker', %s, %s, %s,"
            " 1, now())",
            (row[0], f"p{level}", level, step, link),
        )
    return int(row[0])


@pytest.fixture()
def month(registry: Registry, db: psycopg.Connection[Any], site: str) -> dict[str, Any]:
    """November 2026 at the site: a confirmed fire dispatched automatically and judged real by
    the field (119 called); a fire dispatched by an operator, escalated, a false alarm from
    cooking; a pre-alarm an operator resolved as a false alarm; and a fire half an hour
    before the month began on Beijing's clock, which is not November's."""
    x, y, old = f"{site}-BX", f"{site}-BY", f"{site}-BO"
    db.execute(
        "INSERT INTO buildings (id, name) VALUES (%s, '紫来街1号'), (%s, '紫来街2号'),"
        " (%s, '紫来街3号')",
        (x, y, old),
    )
    smoke = [registry.add(f"{site}-SD{n}", Kind.SMOKE) for n in range(4)]
    heat = registry.add(f"{site}-HD", Kind.SMOKE)
    db.execute(
        "UPDATE devices SET config = jsonb_build_object('model', CASE WHEN id = %s"
        " THEN 'heat' ELSE 'smoke' END) WHERE id = ANY(%s)",
        (heat, [*smoke, heat]),
    )
    fire, pre = AlertClass.FIRE, AlertClass.PREALARM
    real = _incident(
        db,
        [(smoke[0], Rule.SMOKE_ALARM, fire), (heat, Rule.HEAT_FIXED, fire)],
        site=site,
        building=x,
        created=NOV_1_BEIJING + timedelta(minutes=30),
    )
    db.execute(
        "UPDATE incidents SET acked_at = created_at + interval '30 seconds',"
        " call_119_requested_at = now(), call_119_at = now(), call_119_by = 'op',"
        " call_119_confirmed = true WHERE id = %s",
        (real,),
    )
    _dispatch(
        db,
        real,
        after_s=60,
        automatic=True,
        arrived_s=300,
        verdict="real_fire",
        cause="ebike_charging",
    )
    prealarm = _incident(
        db,
        [(smoke[1], Rule.SMOKE_PREALARM, pre)],
        site=site,
        building=y,
        created=NOV_1_BEIJING + timedelta(days=3),
    )
    for table, column in (("alerts", "incident_id"), ("incidents", "id")):
        db.execute(
            f"UPDATE {table} SET state = 'resolved', resolved_at = now(), resolved_by = 'op',"
            f" cause = 'false_alarm' WHERE {column} = %s",
            (prealarm,),
        )
    cooking = _incident(
        db,
        [(smoke[2], Rule.SMOKE_ALARM, fire)],
        site=site,
        building=y,
        created=NOV_1_BEIJING + timedelta(days=10),
    )
    _dispatch(
        db,
        cooking,
        after_s=120,
        automatic=False,
        arrived_s=600,
        verdict="false_alarm",
        cause="cooking_fumes",
        escalated=True,
    )
    before = _incident(
        db,
        [(smoke[3], Rule.SMOKE_ALARM, fire)],
        site=site,
        building=old,
        created=NOV_1_BEIJING - timedelta(minutes=30),
    )
    _dispatch(
        db, before, after_s=5, automatic=False, arrived_s=50, verdict="real_fire", cause="other"
    )
    return {"real": real, "prealarm": prealarm, "cooking": cooking, "x": x, "y": y}


def _get(client: TestClient, bearer: str, **params: str) -> Any:
    return client.get("/api/v1/reports/monthly", params=params, headers=auth(bearer))


def test_the_months_figures(
    client: TestClient, database_url: str, site: str, month: dict[str, Any]
) -> None:
    viewer = token(database_url, f"viewer-{site}", "viewer")
    response = _get(client, viewer, site=site, month="2026-11")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["from"] == "2026-11-01T00:00:00+08:00"
    assert report["to"] == "2026-12-01T00:00:00+08:00"
    incidents = report["incidents"]
    assert incidents["total"] == 3 and incidents["confirmed"] == 1
    assert incidents["by_class"] == {"fire": 2, "prealarm": 1, "supervisory": 0}
    assert incidents["by_class_and_verdict"]["fire"]["real_fire"] == 1
    assert incidents["by_class_and_verdict"]["fire"]["false_alarm"] == 1
    assert incidents["by_class_and_verdict"]["prealarm"]["false_alarm"] == 1
    assert incidents["causes"]["false_alarm"] == {"cooking_fumes": 1, "unspecified": 1}
    assert incidents["causes"]["real_fire"] == {"ebike_charging": 1}

    dispatches = report["dispatches"]
    assert (dispatches["total"], dispatches["automatic"], dispatches["by_operator"]) == (2, 1, 1)
    assert (dispatches["escalated"], dispatches["arrived"]) == (1, 2)
    assert dispatches["verdicts"] == {"real_fire": 1, "false_alarm": 1, "no_access": 0}

    times = report["response_times"]
    assert times["acknowledge"] == {"count": 1, "median_s": 30.0, "worst_s": 30.0}
    assert times["dispatch"] == {"count": 2, "median_s": 90.0, "worst_s": 120.0}
    assert times["arrive"] == {"count": 2, "median_s": 450.0, "worst_s": 600.0}

    fires = report["real_fires"]
    assert (fires["count"], fires["called_119"]) == (1, 1)
    (fire,) = fires["incidents"]
    assert fire["id"] == month["real"] and fire["building"] == month["x"]
    assert fire["cause"] == "ebike_charging" and fire["judged_by"] == "field"
    assert fire["created_at"] == "2026-11-01T00:30:00+08:00"

    false = report["false_alarms"]
    assert (false["judged"], false["false_alarms"], false["false_alarm_ratio"]) == (3, 2, 0.667)
    by_model = {(m["kind"], m["model"]): m for m in false["by_model"]}
    assert by_model["smoke", "smoke"]["judged"] == 3
    assert by_model["smoke", "smoke"]["false_alarms"] == 2
    assert by_model["smoke", "heat"]["false_alarm_ratio"] == 0.0
    assert [(b["building"], b["false_alarms"], b["judged"]) for b in false["by_building"]] == [
        (month["y"], 2, 2),
        (month["x"], 0, 1),
    ]


def test_the_printable_page_is_in_chinese_on_beijing_time(
    client: TestClient, database_url: str, site: str, month: dict[str, Any]
) -> None:
    operator = token(database_url, f"op-{site}", "operator")
    response = _get(client, operator, site=site, month="2026-11", format="html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "月度报告" in page and "（北京时间 UTC+08:00）" in page
    assert "2026-11-01 00:30:00 +08:00" in page  # the real fire, on Beijing's clock
    assert "66.7%" in page and "电动车充电" in page and "烹饪油烟" in page
    assert "紫来街2号" in page and "已拨打" in page
    assert "<script" not in page and "http" not in page  # nothing fetched, nothing to run
    assert '<html lang="zh-CN">' in page


def test_the_printable_page_in_english_keeps_the_sites_clock(
    client: TestClient, database_url: str, site: str, month: dict[str, Any]
) -> None:
    viewer = token(database_url, f"viewer-{site}", "viewer")
    page = _get(client, viewer, site=site, month="2026-11", format="html", lang="en").text
    assert '<html lang="en">' in page and "fire monitoring monthly report: 2026-11" in page
    assert "(Beijing time UTC+08:00)" in page and "2026-11-01 00:30:00 +08:00" in page
    assert "False-alarm ratio by device model" in page and "66.7%" in page
    assert "紫来街2号 (" in page and "<td>called</td>" in page  # the place keeps its own name
    assert "月度报告" not in page and "误报" not in page


def test_an_empty_month_is_zeros(client: TestClient, database_url: str, site: str) -> None:
    viewer = token(database_url, f"viewer-{site}", "viewer")
    report = _get(client, viewer, site=site, month="2026-02").json()
    assert report["incidents"]["total"] == report["dispatches"]["total"] == 0
    assert report["real_fires"]["count"] == 0
    assert report["false_alarms"]["false_alarm_ratio"] is None
    assert all(t["count"] == 0 for t in report["response_times"].values())
    page = _get(client, viewer, site=site, month="2026-02", format="html")
    assert page.status_code == 200 and "事件 0 起" in page.text


def test_this_month_and_this_site_by_default(
    client: TestClient, database_url: str, site: str
) -> None:
    viewer = token(database_url, f"viewer-{site}", "viewer")
    report = _get(client, viewer).json()
    now = datetime.now(UTC) + timedelta(hours=8)
    assert report["site"] == site and report["month"] == now.strftime("%Y-%m")


@pytest.mark.parametrize(
    "params",
    [
        {"month": "2026-13"},
        {"month": "2026-1"},
        {"month": "November"},
        {"month": "1999-12"},
        {"month": "2026-11-01"},
        {"site": "Not A Site"},
        {"site": "x" * 33},
        {"format": "pdf"},
        {"lang": "fr"},
    ],
)
def test_bad_input_is_a_422_saying_what_is_wrong(
    client: TestClient, database_url: str, site: str, params: dict[str, str]
) -> None:
    viewer = token(database_url, f"viewer-{site}", "viewer")
    response = _get(client, viewer, **{"month": "2026-11", **params})
    assert response.status_code == 422, response.text
    assert next(iter(params)) in response.text


def test_the_report_needs_a_token(client: TestClient) -> None:
    assert client.get("/api/v1/reports/monthly").status_code == 401
