"""A broker restart while a batch is being committed: the broker redelivers that batch from the
session it saved, ingest reconnects by itself, and nothing is lost or stored twice."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg

from contract.kinds import Kind
from firewatch.testing import broker_config, free_port, start_broker, stop_broker, wait_until
from ingest.pipeline import Inbound
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import scalar

MESSAGES = 200


def test_broker_restart_mid_commit_loses_and_doubles_nothing(
    tmp_path: Path, settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    port = free_port()
    conf = broker_config(tmp_path, port)
    broker = start_broker(conf, port)
    local = settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}"})
    held, release = threading.Event(), threading.Event()
    first_batch: list[int] = []

    def hold_first(batch: Sequence[Inbound]) -> None:
        if not first_batch:
            first_batch.append(len(batch))
            held.set()
            release.wait(30)

    service = IngestService(local, before_commit=hold_first)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
        site = settings.site
        device = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
        start = datetime.now(UTC) - timedelta(minutes=1)
        with Publisher(local.mqtt, client_id=f"pub-{site}") as pub:
            for n in range(MESSAGES):
                pub.publish(*device.reading(start + timedelta(milliseconds=n)))
        assert held.wait(10)
        stop_broker(broker)  # the connection the held batch came on is gone
        broker = start_broker(conf, port)
        release.set()  # the held batch commits now, after its connection is gone
        wait_until(
            lambda: (
                scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device.id)
                >= 2 * MESSAGES
                and service.ready
            ),
            timeout=30,
            what="every message, after the restart",
        )
        wait_until(
            lambda: service.counters.duplicates >= first_batch[0],
            timeout=15,
            what="the held batch to come back as duplicates",
        )
    finally:
        release.set()
        stop.set()
        thread.join(timeout=10)
        stop_broker(broker)
    distinct = scalar(
        db, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", device.id
    )
    assert distinct == MESSAGES
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device.id) == (
        2 * MESSAGES  # two metrics per reading, each stored once
    )
