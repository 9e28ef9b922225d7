"""The broker restarted mid-stream (SIGTERM, which saves its sessions, then a start on the
same port): the publisher and ingest reconnect by themselves, ingest resumes its persistent
session, and every message the broker acknowledged is stored exactly once."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from settings import Settings
from tests.faults.ingest_process import IngestProcess, log_records
from tests.faults.private_broker import PrivateBroker
from tests.faults.traffic import (
    StreamPublisher,
    exactly_once,
    readings,
    register_smoke_detectors,
    stored_readings,
    wait_stored,
)

MESSAGES = 40_000
DEVICES = 500
RATE = 8000.0  # msg/s: the stream lasts 5 s, so the restart falls in its middle
DOWN_S = 2.0


def test_broker_restart_mid_stream_loses_nothing_acknowledged(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    started = time.monotonic()
    site = settings.site
    messages = readings(site, register_smoke_detectors(db, site, DEVICES), MESSAGES)
    with PrivateBroker(tmp_path) as broker:
        local = settings.model_copy(update={"mqtt_url": broker.url})
        publisher = StreamPublisher(broker.url, messages, client_id=f"pub-{site}", rate=RATE)
        with IngestProcess(local, tmp_path / "ingest.log") as ingest:
            publisher.start()
            wait_stored(db, site, MESSAGES // 4, timeout=30)
            broker.stop()
            stored_at_stop, published_at_stop = stored_readings(db, site), publisher.published
            time.sleep(DOWN_S)
            broker.start()
            print(
                f"\n  inflicted: broker SIGTERM after {published_at_stop} of {MESSAGES} "
                f"published and {stored_at_stop} stored; restarted {DOWN_S:.0f} s later"
            )
            publisher.finish()
            wait_stored(db, site, MESSAGES, timeout=60)
            duplicates = ingest.metric("firewatch_ingest_duplicates_total")
            disconnects = [
                r
                for r in log_records(ingest.log_path)
                if r["level"] == "WARNING" and "disconnected from broker" in r["msg"]
            ]
    print(
        f"  counted: publisher reconnected {publisher.publisher.reconnects} time(s); ingest "
        f"logged {len(disconnects)} disconnect(s) (one per MQTT session) and recognised "
        f"{duplicates:.0f} redelivered duplicates"
    )
    assert published_at_stop < MESSAGES, "the restart came after the stream: lower RATE"
    assert publisher.publisher.reconnects >= 1
    assert disconnects
    exactly_once(db, site, messages)
    print(f"  took {time.monotonic() - started:.1f} s")
