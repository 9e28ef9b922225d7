"""Through the real broker into the real database."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import psycopg

from contract.frames import encode_frame
from contract.kinds import Kind
from contract.topics import Channel, topic_for
from firewatch.testing import wait_until
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice, epoch_ms
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import scalar, wait_received


def publisher(settings: Settings) -> Publisher:
    return Publisher(settings.mqtt, client_id=f"pub-{settings.site}")


def test_each_channel_is_stored_with_status(
    settings: Settings, registry: Registry, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    elec = SimDevice(registry.add(f"{site}-EF", Kind.ELECTRICAL), Kind.ELECTRICAL, site)
    cam = SimDevice(registry.add(f"{site}-TC", Kind.THERMAL_CAMERA), Kind.THERMAL_CAMERA, site)
    now = datetime.now(UTC).replace(microsecond=0)
    scene = np.full((120, 160), 25.0)
    scene[10:14, 20:24] = 80.0
    with publisher(settings) as pub:
        pub.publish(*smoke.reading(now, temperature_c=23.5, obscuration_pct_per_m=0.4))
        pub.publish(*elec.reading(now, residual_current_ma=150.0, cable_temp_c=35.0))
        pub.publish(*smoke.event(now, "test"))
        pub.publish(*smoke.status(now + timedelta(seconds=1), battery_pct=88.0))
        pub.publish(
            topic_for(site, cam.id, Channel.FRAME), encode_frame(scene, ts=epoch_ms(now), seq=7)
        )
    wait_received(ingest, 5)
    assert ingest.counters.stored == 5
    assert sum(ingest.counters.rejected.values()) == 0

    readings = dict(
        db.execute(
            "SELECT metric, value FROM readings WHERE device_id = %s", (smoke.id,)
        ).fetchall()
    )
    assert readings == {"temperature_c": 23.5, "obscuration_pct_per_m": 0.4}
    heartbeat = db.execute(
        "SELECT battery_pct, firmware FROM heartbeats WHERE device_id = %s", (smoke.id,)
    ).fetchall()
    assert heartbeat == [(88.0, "1.4.2")]
    assert scalar(db, "SELECT type FROM events WHERE device_id = %s", smoke.id) == "test"
    status = db.execute(
        "SELECT last_seen, battery_pct, firmware, latest, message_count FROM device_status"
        " WHERE device_id = %s",
        (smoke.id,),
    ).fetchone()
    assert status is not None
    assert status[0] == now + timedelta(seconds=1)
    assert status[1] == 88.0 and status[2] == "1.4.2"
    assert status[3] == {"temperature_c": 23.5, "obscuration_pct_per_m": 0.4}
    assert status[4] == 3
    frame_max = scalar(
        db,
        "SELECT value FROM readings WHERE device_id = %s AND metric = 'frame_max_temp_c'",
        cam.id,
    )
    assert abs(frame_max - 80.0) < 0.02
    assert scalar(db, "SELECT seq FROM camera_frames_latest WHERE device_id = %s", cam.id) == 7
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", elec.id) == 2


def test_smoke_alarm_opens_one_fire_alert_and_notifies(
    settings: Settings,
    registry: Registry,
    ingest: IngestService,
    db: psycopg.Connection[Any],
    database_url: str,
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    listener = psycopg.connect(database_url, autocommit=True)
    listener.execute("LISTEN fw_alerts")
    first = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    with publisher(settings) as pub:
        pub.publish(*smoke.event(first, "alarm"))
    wait_received(ingest, 1)
    with publisher(settings) as pub:
        pub.publish(*smoke.event(first + timedelta(seconds=5), "alarm"))
    wait_received(ingest, 2)

    rows = db.execute(
        "SELECT id, rule, class, state, raised_at, received_at, last_at, count FROM alerts"
        " WHERE device_id = %s",
        (smoke.id,),
    ).fetchall()
    assert len(rows) == 1
    alert_id, rule, cls, state, raised_at, received_at, last_at, count = rows[0]
    assert (rule, cls, state, count) == ("smoke_alarm", "fire", "active_unack", 2)
    assert raised_at == first and last_at == first + timedelta(seconds=5)
    assert received_at > raised_at
    # The repeat is summarised at the next timer tick once the raise is a second old.
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM alert_log WHERE alert_id = %s", alert_id) == 2,
        timeout=5,
        what="the repeat's summary",
    )
    log = db.execute(
        "SELECT actor, action, to_state FROM alert_log WHERE alert_id = %s", (alert_id,)
    ).fetchall()
    assert log == [("engine", "raise", "active_unack"), ("engine", "repeat", "active_unack")]

    # Other tests' alerts share the channel: keep this alert's notifications only.
    notes = [json.loads(n.payload) for n in listener.notifies(timeout=3)]
    listener.close()
    notes = [n for n in notes if n.get("id") == alert_id]  # incidents share it too
    assert [(n["id"], n["change"], n["count"]) for n in notes] == [
        (alert_id, "raise", 1),
        (alert_id, "repeat", 2),
    ]


def test_heat_threshold_raises_a_fire_alarm_only_at_57(
    settings: Settings, registry: Registry, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    cool = SimDevice(registry.add(f"{site}-A", Kind.SMOKE), Kind.SMOKE, site)
    hot = SimDevice(registry.add(f"{site}-B", Kind.SMOKE), Kind.SMOKE, site)
    now = datetime.now(UTC)
    with publisher(settings) as pub:
        pub.publish(*cool.reading(now, temperature_c=56.9))
        pub.publish(*hot.reading(now, temperature_c=57.0))
    wait_received(ingest, 2)
    alerts = db.execute(
        "SELECT device_id, rule, class, peak, detail->>'threshold_c' FROM alerts"
        " WHERE device_id IN (%s, %s)",
        (cool.id, hot.id),
    ).fetchall()
    assert alerts == [(hot.id, "heat_fixed", "fire", 57.0, "57.0")]


def test_duplicates_are_counted_and_stored_once(
    settings: Settings, registry: Registry, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    now = datetime.now(UTC)
    topic, payload = smoke.reading(now)
    alarm_topic, alarm = smoke.event(now, "alarm")
    beat_topic = topic_for(site, smoke.id, Channel.STATUS)
    beat = orjson.dumps({"ts": epoch_ms(now), "seq": 99})  # a bare heartbeat
    with publisher(settings) as pub:
        pub.publish(topic, payload)
        pub.publish(topic, payload)  # same batch
        pub.publish(alarm_topic, alarm)
        pub.publish(beat_topic, beat)
    wait_received(ingest, 4)
    # A later batch, as after a redelivery; plus a new message reusing an old seq with another
    # ts (a device that restarted its counter), which is not a duplicate.
    reused_seq = orjson.dumps(
        {"ts": epoch_ms(now) + 1000, "seq": 99, "values": {"temperature_c": 21.0}}
    )
    with publisher(settings) as pub:
        pub.publish(topic, payload)
        pub.publish(alarm_topic, alarm)
        pub.publish(beat_topic, beat)
        pub.publish(topic, reused_seq)
    wait_received(ingest, 8)
    assert ingest.counters.duplicates == 4
    assert ingest.counters.stored == 4
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", smoke.id) == 3
    assert scalar(db, "SELECT count(*) FROM events WHERE device_id = %s", smoke.id) == 1
    assert scalar(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", smoke.id) == 1
    assert scalar(db, "SELECT count FROM alerts WHERE device_id = %s", smoke.id) == 1
    assert scalar(db, "SELECT message_count FROM device_status WHERE device_id = %s", smoke.id) == 4


def test_a_lost_database_connection_is_retried_without_loss(
    settings: Settings, registry: Registry, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    with publisher(settings) as pub:
        pub.publish(*smoke.reading(datetime.now(UTC)))
    wait_received(ingest, 1)
    writer = ingest.database.writer
    assert writer is not None
    lost = writer.conn.info.backend_pid
    db.execute("SELECT pg_terminate_backend(%s)", (lost,))
    with publisher(settings) as pub:
        for _ in range(20):
            pub.publish(*smoke.reading(datetime.now(UTC)))
    wait_received(ingest, 21)

    # A batch (counted as a retry) or the 1 s alert timers meet the dead connection first;
    # either way ingest connects again and stores everything.
    def reconnected() -> bool:
        writer = ingest.database.writer
        return writer is not None and writer.conn.info.backend_pid not in (lost, 0)

    wait_until(reconnected, timeout=10, what="ingest to connect again")
    assert (
        scalar(db, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", smoke.id) == 21
    )


def test_ready_reports_both_connections(ingest: IngestService) -> None:
    assert ingest.ready
    assert ingest.source.connected and ingest.database_ok


def test_payload_bytes_survive_in_the_dead_letter(
    settings: Settings, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    topic = topic_for(settings.site, "NOBODY", Channel.READING)
    body = orjson.dumps(
        {"ts": epoch_ms(datetime.now(UTC)), "seq": 1, "values": {"temperature_c": 20}}
    )
    with publisher(settings) as pub:
        pub.publish(topic, body)
    wait_received(ingest, 1)
    row = db.execute(
        "SELECT reason, payload, payload_size, device_id FROM dead_letters WHERE topic = %s",
        (topic,),
    ).fetchone()
    assert row == ("unknown_device", body, len(body), "NOBODY")
