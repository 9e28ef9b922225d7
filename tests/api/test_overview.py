"""The overview against a small quarter whose every count is known."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg.types.json import Jsonb

from contract.alarms import AlertClass, Rule
from tests.api.alert_helpers import raise_alert
from tests.tokens import auth, token


def _device(
    db: psycopg.Connection[Any],
    device: str,
    kind: str,
    site: str,
    building: str,
    *,
    status: str = "active",
    heard_s_ago: float | None = 5,
    latest: dict[str, float] | None = None,
    lat: float = 23.1,
    lon: float = 113.27,
) -> str:
    db.execute(
        "INSERT INTO devices (id, kind, site, building, status, heartbeat_s, lat, lon)"
        " VALUES (%s, %s, %s, %s, %s, 60, %s, %s)",
        (device, kind, site, building, status, lat, lon),
    )
    if heard_s_ago is not None:
        heard = datetime.now(UTC) - timedelta(seconds=heard_s_ago)
        db.execute(
            "INSERT INTO device_status (device_id, last_seen, last_received_at, last_seq, latest)"
            " VALUES (%s, %s, %s, 1, %s)",
            (device, heard, heard, Jsonb(latest or {})),
        )
    return device


def test_overview_counts_a_known_quarter(
    client: TestClient, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    b1, b2, b3 = (f"{site}-B{n}" for n in (1, 2, 3))  # incidents are per building: our own
    sd1 = _device(
        db,
        f"{site}-SD1",
        "smoke",
        site,
        b1,
        latest={"temperature_c": 31.0},
        lat=23.10,
        lon=113.20,
    )
    sd2 = _device(db, f"{site}-SD2", "smoke", site, b1, heard_s_ago=600, lat=23.12, lon=113.22)
    sd3 = _device(db, f"{site}-SD3", "smoke", site, b2, heard_s_ago=None)
    _device(db, f"{site}-SD4", "smoke", site, b2, status="maintenance")
    em1 = _device(db, f"{site}-EM1", "electrical", site, b2, latest={"cable_temp_c": 88.5})
    _device(db, f"{site}-EM2", "electrical", site, b3, status="commissioning")
    _device(db, f"{site}-EM3", "electrical", site, b3, status="decommissioned")
    cam = _device(
        db,
        f"{site}-TC1",
        "thermal_camera",
        site,
        b3,
        latest={"frame_max_temp_c": 212.0, "max_temp_c": 90.0},
    )

    # B1: a fire resolved, then a tamper: a new incident. B2: two devices' fire signals, one
    # confirmed incident, beside two trouble alerts that are no incident. B3: a pre-alarm.
    fire = raise_alert(db, sd1, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, building=b1)
    db.execute("UPDATE alerts SET state = 'resolved' WHERE id = %s", (fire,))
    db.execute(
        "UPDATE incidents SET state = 'resolved', resolved_at = now(), resolved_by = 'op',"
        " cause = 'false_alarm' WHERE id = (SELECT incident_id FROM alerts WHERE id = %s)",
        (fire,),
    )
    raise_alert(db, em1, Rule.FAULT, AlertClass.TROUBLE, site=site, building=b2)
    low = raise_alert(db, em1, Rule.LOW_BATTERY, AlertClass.TROUBLE, site=site, building=b2)
    db.execute("UPDATE alerts SET chattering = true WHERE id = %s", (low,))
    raise_alert(db, cam, Rule.CAMERA_PREALARM, AlertClass.PREALARM, site=site, building=b3)
    db.execute(
        "INSERT INTO alerts (device_id, subject, family, rule, class, state, raised_at,"
        " received_at, last_at, site, building, suppressed_reason) VALUES (%s, %s, 'heat',"
        " 'heat_fixed', 'fire', 'suppressed', now(), now(), now(), %s, %s, 'maintenance')",
        (f"{site}-SD4", f"{site}-SD4", site, b2),
    )
    raise_alert(db, sd3, Rule.SMOKE_ALARM, AlertClass.FIRE, site=site, building=b2)
    raise_alert(db, em1, Rule.CABLE_FIRE, AlertClass.FIRE, site=site, building=b2)
    raise_alert(db, sd1, Rule.SMOKE_ALARM, AlertClass.FIRE, site=f"x{site}", building=f"{site}-X")
    raise_alert(db, sd2, Rule.TAMPER, AlertClass.SUPERVISORY, site=site, building=b1)

    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    response = client.get("/api/v1/overview", params={"site": site, "hours": 6}, headers=viewer)
    assert response.status_code == 200, response.text
    body = response.json()

    assert body["devices"]["total"] == 7  # the decommissioned one is gone
    kinds = body["devices"]["by_kind"]
    assert kinds["smoke"] == {
        "online": 1,
        "offline": 2,
        "fault": 0,
        "maintenance": 1,
        "commissioning": 0,
    }
    assert kinds["electrical"] == {
        "online": 0,
        "offline": 0,
        "fault": 1,
        "maintenance": 0,
        "commissioning": 1,
    }
    assert kinds["thermal_camera"]["online"] == 1

    assert body["open_alerts"] == {
        "total": 6,
        "by_class": {"fire": 2, "prealarm": 1, "supervisory": 1, "trouble": 2},
        "by_state": {"active_unack": 6},
    }
    assert body["open_incidents"] == {
        "total": 3,
        "by_class": {"fire": 1, "prealarm": 1, "supervisory": 1},
        "by_state": {"active_unack": 3},
        "confirmed": 1,
    }
    assert len(body["timeline"]) in (6, 7)  # the window's hours, both ends included
    assert sum(h["fire"] for h in body["timeline"]) == 3  # one resolved, still in the history
    assert sum(h["trouble"] for h in body["timeline"]) == 2
    assert body["alarm_rate"]["last_10min"] == 7
    assert body["alarm_rate"]["incidents_last_10min"] == 4  # B1's resolved one too
    assert body["alarm_rate"]["chattering_devices"] == [em1]
    assert body["alarm_rate"]["flood"] is False

    assert [(h["device_id"], h["metric"], h["value"]) for h in body["hot_spots"]] == [
        (cam, "frame_max_temp_c", 212.0),
        (em1, "cable_temp_c", 88.5),
        (sd1, "temperature_c", 31.0),
    ]
    buildings = {b["id"]: b for b in body["buildings"]}
    assert {b: v["state"] for b, v in buildings.items()} == {
        b1: "supervisory",
        b2: "fire",
        b3: "prealarm",
    }
    assert buildings[b1]["lat"] == pytest.approx(23.11)
    assert (buildings[b2]["open_alerts"], buildings[b2]["devices"]) == (4, 3)
    assert body["latest_events"][0]["rule"] == "tamper"
    assert {e["action"] for e in body["latest_events"]} == {"raise"}


def test_overview_refuses_bad_windows(client: TestClient, database_url: str, site: str) -> None:
    viewer = auth(token(database_url, f"viewer-{site}", "viewer"))
    for hours in (0, 169, "day"):
        bad = client.get("/api/v1/overview", params={"hours": hours}, headers=viewer)
        assert bad.status_code == 422
        assert bad.json()["detail"][0]["loc"] == ["query", "hours"]
    assert client.get("/api/v1/overview").status_code == 401
    empty = client.get("/api/v1/overview", params={"site": "nobody-here"}, headers=viewer)
    assert empty.json()["devices"] == {"total": 0, "by_kind": {}}
