"""``kill -9`` of the ingest process in the middle of a QoS 1 stream, then a restart: every
message is stored exactly once. The process dies holding batches it received, batches it
committed without acknowledging, and whatever the broker had in flight to it."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import psycopg

from firewatch.testing import wait_until
from settings import Settings
from tests.faults.ingest_process import IngestProcess
from tests.faults.traffic import (
    StreamPublisher,
    exactly_once,
    readings,
    register_smoke_detectors,
    stored_readings,
    wait_stored,
)

MESSAGES = 100_000  # the figure: the test takes 8-18 s on a shared 2-core machine
DEVICES = 500
KILL_AT = 0.3  # share of the stream stored when the process is killed


def test_kill_9_mid_stream_then_restart_stores_each_message_once(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    started = time.monotonic()
    site = settings.site
    messages = readings(site, register_smoke_detectors(db, site, DEVICES), MESSAGES)
    ingest = IngestProcess(settings, tmp_path / "ingest.log")
    ingest.start()
    publisher = StreamPublisher(settings.mqtt_url, messages, client_id=f"pub-{site}")
    try:
        publisher.start()
        wait_stored(db, site, int(MESSAGES * KILL_AT), timeout=60)
        acked = ingest.metric("firewatch_ingest_received_total")  # counted once acknowledged
        ingest.kill()
        killed_at = stored_readings(db, site)
        print(
            f"\n  inflicted: kill -9 of ingest with {killed_at} stored ({acked:.0f} of them "
            f"acknowledged), {publisher.published} of {MESSAGES} published"
        )
        assert publisher.published < MESSAGES, "killed after the stream ended: raise MESSAGES"
        time.sleep(1)  # the stream goes on into the broker's session for the dead client
        ingest.start()
        publisher.finish()
        wait_stored(db, site, MESSAGES, timeout=90)
        wait_until(
            lambda: ingest.metric("firewatch_ingest_received_total") >= MESSAGES - killed_at,
            timeout=10,
            what="the restarted ingest to count",
        )
        duplicates = ingest.metric("firewatch_ingest_duplicates_total")
    finally:
        ingest.stop()
    print(f"  restarted ingest recognised {duplicates:.0f} redelivered duplicates")
    exactly_once(db, site, messages)
    print(f"  took {time.monotonic() - started:.1f} s")
