"""Migration 0010 on a database that already has open alerts: each device's alerts of one
condition family become one, open alerts get their incidents, and a confirmed fire becomes
its incident's confirmation."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from firewatch.testing import database_server
from store.database import connect, drop_database, ensure_database, has_timescaledb
from store.migrate import available, migrate

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture()
def before_incidents() -> Iterator[psycopg.Connection[Any]]:
    """A database migrated up to 0009, as a site running the previous version has it."""
    url = make_conninfo(database_server(), dbname=f"fw_mig_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    try:
        with connect(url) as conn:
            conn.autocommit = True
            migrate_upto(conn, 9)
            yield conn
    finally:
        drop_database(url)


def migrate_upto(conn: psycopg.Connection[Any], version: int) -> None:
    conn.execute(
        "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
        " variant text, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    variant = "timescaledb" if has_timescaledb(conn) else "native"
    for m in available():
        if m.version <= version and m.variant in (None, variant):
            with conn.transaction():
                conn.execute(m.sql.encode())
                conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                    (m.version, m.name, m.variant),
                )


def add_alert(
    conn: psycopg.Connection[Any],
    subject: str,
    rule: str,
    cls: str,
    *,
    state: str = "active_unack",
    building: str | None = "B1",
    seconds: int = 0,
    active: bool = True,
) -> int:
    row = conn.execute(
        "INSERT INTO alerts (device_id, subject, rule, class, state, raised_at, received_at,"
        " last_at, site, building, latching, condition_active)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 'z', %s, %s, %s) RETURNING id",
        (
            None if ":" in subject else subject,
            subject,
            rule,
            cls,
            state,
            T0.replace(second=seconds),
            T0,
            T0.replace(second=seconds),
            building,
            cls == "fire" or rule == "confirmed_fire",
            active,
        ),
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_open_alerts_get_families_and_incidents(before_incidents: psycopg.Connection[Any]) -> None:
    conn = before_incidents
    for device, building in (("D1", "B1"), ("D2", "B1"), ("D3", "B2"), ("D4", None)):
        conn.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building)"
            " VALUES (%s, 'smoke', 'z', 3600, %s)",
            (device, building),
        )
    anomaly = add_alert(conn, "D1", "heat_anomaly", "prealarm", seconds=1)
    fixed = add_alert(conn, "D1", "heat_fixed", "fire", seconds=5, state="active_ack")
    smoke = add_alert(conn, "D2", "smoke_alarm", "fire", seconds=9)
    confirmed = add_alert(conn, "building:B1", "confirmed_fire", "fire", building="B1", seconds=9)
    battery = add_alert(conn, "D3", "low_battery", "trouble", building="B2")
    lone = add_alert(conn, "D4", "smoke_prealarm", "prealarm", building=None)
    closed = add_alert(conn, "D3", "smoke_alarm", "fire", building="B2", state="resolved")

    assert migrate(conn, progress=lambda _line: None) == sorted(
        {m.version for m in available() if m.version >= 10}
    )

    with conn.cursor(row_factory=dict_row) as cur:
        alerts = {r["id"]: r for r in cur.execute("SELECT * FROM alerts").fetchall()}
        incidents = cur.execute("SELECT * FROM incidents ORDER BY building NULLS LAST").fetchall()
    # D1's heat is one alert now: the fixed one, holding the anomaly's condition and count.
    assert alerts[anomaly]["state"] == "resolved" and alerts[anomaly]["cause"] == "other"
    assert "merged into alert" in alerts[anomaly]["resolution_note"]
    kept = alerts[fixed]
    # Acknowledged, it absorbed an unacknowledged anomaly: it still calls for an acknowledgement.
    assert (kept["family"], kept["rule"], kept["state"], kept["count"]) == (
        "heat",
        "heat_fixed",
        "active_unack",
        2,
    )
    assert sorted(kept["conditions"]) == ["heat_anomaly", "heat_fixed"]
    # One incident per building with open signals; trouble and closed alerts stay out.
    assert [(i["building"], i["origin"], i["class"], i["state"]) for i in incidents] == [
        ("B1", None, "fire", "active_unack"),
        (None, "D4", "prealarm", "active_unack"),
    ]
    b1 = incidents[0]
    assert b1["confirmed_at"] == T0.replace(second=9)
    assert alerts[fixed]["incident_id"] == alerts[smoke]["incident_id"] == b1["id"]
    assert alerts[lone]["incident_id"] == incidents[1]["id"]
    assert alerts[battery]["incident_id"] is None and alerts[closed]["incident_id"] is None
    assert alerts[confirmed]["state"] == "resolved"
    # A second open alert of the same device and family can no longer exist.
    with pytest.raises(psycopg.errors.UniqueViolation):
        conn.execute(
            "INSERT INTO alerts (device_id, subject, family, rule, class, state, raised_at,"
            " received_at, last_at) VALUES ('D2', 'D2', 'smoke', 'smoke_prealarm', 'prealarm',"
            " 'active_unack', now(), now(), now())"
        )
