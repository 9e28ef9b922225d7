"""The engine inside the running ingest service: its state survives a restart, and its timers
(escalation, offline devices) run on the server clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from contract.kinds import Kind
from firewatch.testing import wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar, wait_received


def publisher(settings: Settings) -> Publisher:
    return Publisher(settings.mqtt, client_id=f"pub-{settings.site}")


def alert_row(db: psycopg.Connection[Any], device_id: str, rule: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT state, count, escalation_level FROM alerts WHERE subject = %s AND rule = %s"
        " ORDER BY id DESC LIMIT 1",
        (device_id, rule),
    ).fetchone()


def test_an_open_alert_still_returns_to_normal_after_a_restart(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    """Events are not replayed: only the open alert tells the new engine the fault is active."""
    detector = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site)
    now = datetime.now(UTC)
    with running(settings) as ingest:
        with publisher(settings) as pub:
            pub.publish(*detector.event(now - timedelta(seconds=10), "fault"))
        wait_received(ingest, 1)
    assert alert_row(db, detector.id, "fault") == ("active_unack", 1, 0)
    with running(settings) as ingest:
        with publisher(settings) as pub:
            pub.publish(*detector.event(now, "fault_cleared"))
        wait_received(ingest, 1)
    assert alert_row(db, detector.id, "fault") == ("returned_unack", 1, 0)


def test_a_restarted_engine_keeps_the_baseline_it_learnt(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    """A +3 °C step is an anomaly only against a baseline learnt before the restart."""
    detector = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site)
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=200)
    with running(settings) as ingest:
        with publisher(settings) as pub:
            for s in range(120):
                noise = 0.1 if s % 2 else -0.1
                pub.publish(
                    *detector.reading(start + timedelta(seconds=s), temperature_c=24.0 + noise)
                )
        wait_received(ingest, 120)
    assert alert_row(db, detector.id, "heat_anomaly") is None
    with running(settings) as ingest:
        with publisher(settings) as pub:
            for s in range(120, 130):
                pub.publish(*detector.reading(start + timedelta(seconds=s), temperature_c=27.5))
        wait_received(ingest, 10)
    assert alert_row(db, detector.id, "heat_anomaly") == ("active_unack", 1, 0)


def test_an_unacknowledged_fire_alarm_escalates_on_the_server_clock(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    settings = settings.model_copy(update={"escalate_after_s": 5})
    detector = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site)
    with running(settings) as ingest:
        with publisher(settings) as pub:
            pub.publish(*detector.event(datetime.now(UTC), "alarm"))
        wait_received(ingest, 1)
        wait_until(
            lambda: (alert_row(db, detector.id, "smoke_alarm") or (None, 0, 0))[2] >= 1,
            timeout=15,
            what="the escalation",
        )
    state, count, level = alert_row(db, detector.id, "smoke_alarm") or (None, 0, 0)
    assert (state, count) == ("active_unack", 1) and level >= 1
    actions = [
        r[0]
        for r in db.execute(
            "SELECT action FROM alert_log l JOIN alerts a ON a.id = l.alert_id WHERE a.subject = %s"
            " ORDER BY l.id",
            (detector.id,),
        ).fetchall()
    ]
    assert actions[:2] == ["raise", "escalate"]


def test_a_silent_device_goes_offline_and_comes_back(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    board = SimDevice(
        registry.add(f"{settings.site}-EF", Kind.ELECTRICAL), Kind.ELECTRICAL, settings.site
    )
    db.execute(
        "UPDATE devices SET heartbeat_s = 1, config = %s WHERE id = %s",
        (Jsonb({"rules": {"offline_margin_s": 0}}), board.id),
    )
    with running(settings) as ingest:
        with publisher(settings) as pub:
            pub.publish(*board.status(datetime.now(UTC)))
        wait_received(ingest, 1)
        wait_until(
            lambda: alert_row(db, board.id, "offline") is not None,
            timeout=10,
            what="the offline alert",
        )
        with publisher(settings) as pub:
            pub.publish(*board.status(datetime.now(UTC)))
        wait_received(ingest, 2)
    assert alert_row(db, board.id, "offline") == ("returned_unack", 1, 0)
    assert scalar(db, "SELECT class FROM alerts WHERE subject = %s", board.id) == "trouble"
