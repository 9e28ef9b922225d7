"""A consumer killed with SIGKILL mid-batch: on restart every message is stored exactly once."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.kinds import Kind
from firewatch.testing import wait_until
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import scalar

MESSAGES = 600


def _start_crashing_consumer(settings: Settings, point: str, root: Path) -> subprocess.Popen[str]:
    env = {
        **os.environ,
        "FIREWATCH_DATABASE_URL": settings.database_url,
        "FIREWATCH_MQTT_URL": settings.mqtt_url,
        "FIREWATCH_SITE": settings.site,
        "FIREWATCH_INGEST_CLIENT_ID": settings.ingest_client_id,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.crash_consumer", point],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    return proc


@pytest.mark.parametrize("point", ["before_commit", "before_ack"])
def test_sigkill_then_restart_stores_each_message_once(
    point: str,
    settings: Settings,
    registry: Registry,
    db: psycopg.Connection[Any],
    repo_root: Path,
) -> None:
    site = settings.site
    devices = [
        SimDevice(registry.add(f"{site}-{n}", Kind.SMOKE), Kind.SMOKE, site) for n in range(30)
    ]
    proc = _start_crashing_consumer(settings, point, repo_root)
    start = datetime.now(UTC) - timedelta(minutes=1)
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        for n in range(MESSAGES):
            device = devices[n % len(devices)]
            if n == 5:
                pub.publish(*device.event(start, "alarm"))
            else:
                pub.publish(*device.reading(start + timedelta(milliseconds=n), temperature_c=22.0))
    assert proc.wait(timeout=30) == -9, "the consumer should have killed itself"

    # The alarm may come first, through its own session (ingest/lanes.py): count both tables.
    committed = scalar(
        db,
        "SELECT (SELECT count(*) FROM readings WHERE device_id LIKE %s)"
        " + (SELECT count(*) FROM events WHERE device_id LIKE %s)",
        f"{site}-%",
        f"{site}-%",
    )
    if point == "before_commit":
        assert committed == 0
    else:
        assert committed > 0  # committed, but the broker never heard it was stored

    service = IngestService(settings)  # same client id: resumes the persistent session
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(
            lambda: service.counters.stored + service.counters.duplicates >= MESSAGES,
            timeout=30,
            what="the redelivered messages",
        )
    finally:
        stop.set()
        thread.join(timeout=10)

    per_message = db.execute(
        "SELECT count(*), count(DISTINCT (device_id, seq)) FROM"
        " (SELECT device_id, seq FROM readings WHERE device_id LIKE %s AND metric = 'temperature_c'"
        "  UNION ALL SELECT device_id, seq FROM events WHERE device_id LIKE %s) m",
        (f"{site}-%", f"{site}-%"),
    ).fetchone()
    assert per_message == (MESSAGES, MESSAGES)
    assert scalar(db, "SELECT count FROM alerts WHERE device_id = %s", devices[5].id) == 1
    if point == "before_ack":
        assert service.counters.duplicates > 0
