"""A partitioned worker that owns no device starts, becomes ready and idles; once the registry
gives it a device, it subscribes to it and stores its messages. Before, it died at start-up
subscribing to no topic at all ("Invalid subscription filter", then "is Mosquitto running?")."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import wait_until
from ingest.partition import partition_of
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.ingest.helpers import scalar

WORKERS = 2
MESSAGES = 20


def building_of(index: int) -> str:
    """A building that worker ``index`` of WORKERS owns."""
    return next(b for n in range(100) if partition_of(f"b:{(b := f'B-{n:03d}')}", WORKERS) == index)


def register(db: psycopg.Connection[Any], device_id: str, *, site: str, building: str) -> None:
    db.execute(
        "INSERT INTO devices (id, kind, site, heartbeat_s, building) VALUES (%s, %s, %s, %s, %s)",
        (device_id, Kind.SMOKE.value, site, KIND_SPECS[Kind.SMOKE].heartbeat_s, building),
    )


@contextmanager
def running_workers(settings: Settings) -> Iterator[list[IngestService]]:
    """Every worker of the partition in a thread of its own, stopped however the test ends."""
    services = [
        IngestService(
            settings.model_copy(
                update={
                    "ingest_workers": WORKERS,
                    "ingest_worker_index": i,
                    "ingest_client_id": f"{settings.ingest_client_id}-{i}",
                }
            )
        )
        for i in range(WORKERS)
    ]
    stop = threading.Event()
    threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in services]
    for thread in threads:
        thread.start()
    try:
        yield services
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=15)
    assert not any(t.is_alive() for t in threads), "a worker did not stop"


def test_a_worker_with_nothing_to_own_starts_idles_then_takes_a_device(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    register(db, f"{site}-A", site=site, building=building_of(0))
    with running_workers(settings) as (busy, idle):
        wait_until(lambda: busy.ready and idle.ready, timeout=20, what="both workers ready")
        assert idle.partition is not None and not idle.partition.assignment.devices
        # The registry gives the idle worker a device: within a refresh (10 s) it owns it.
        device = SimDevice(f"{site}-B", Kind.SMOKE, site)
        register(db, device.id, site=site, building=building_of(1))
        wait_until(
            lambda: device.id in idle.partition.assignment.devices if idle.partition else False,
            timeout=20,
            what="the idle worker to take the device",
        )
        start = datetime.now(UTC) - timedelta(minutes=1)
        with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
            # Its SUBSCRIBE may still be on the way: probe until the worker takes one message.
            probes = 0

            def probe() -> bool:
                nonlocal probes
                probes += 1
                pub.publish(*device.reading(start + timedelta(milliseconds=probes)))
                return idle.counters.received > 0

            wait_until(probe, timeout=15, what="the idle worker to receive its device")
            for n in range(MESSAGES):
                pub.publish(*device.reading(start + timedelta(seconds=1, milliseconds=n)))
        total = probes + MESSAGES
        wait_until(
            lambda: idle.counters.received >= total - 1,
            timeout=20,
            what=f"the worker to take {total} messages",
        )
        assert busy.ready and idle.ready
    stored = scalar(db, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", device.id)
    assert stored >= MESSAGES, stored
    assert idle.counters.stored >= MESSAGES
