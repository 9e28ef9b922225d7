"""Alarms ahead of telemetry: a detector's alarm published behind a backlog of readings is
committed before the backlog is, and every message is still stored exactly once."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from contract.kinds import Kind
from firewatch.testing import wait_until
from ingest.lanes import EventCopies
from ingest.pipeline import Inbound
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar

BACKLOG = 20_000


def test_an_alarm_behind_a_backlog_is_committed_first(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    devices = [
        SimDevice(registry.add(f"{site}-{n}", Kind.SMOKE), Kind.SMOKE, site) for n in range(50)
    ]
    with running(settings):
        pass  # both persistent sessions exist: the broker keeps what comes while ingest is down
    start = datetime.now(UTC) - timedelta(minutes=5)
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        for n in range(BACKLOG):
            pub.publish(*devices[n % 50].reading(start + timedelta(milliseconds=10 * n)))
        pub.publish(*devices[7].event(start + timedelta(seconds=BACKLOG / 100), "alarm"))

    def stored() -> int:
        return int(
            scalar(
                db,
                "SELECT count(*) FROM readings WHERE device_id LIKE %s "
                "AND metric = 'temperature_c'",
                f"{site}-%",
            )
        )

    with running(settings) as ingest:
        deadline = time.monotonic() + 60
        while scalar(db, "SELECT count(*) FROM alerts WHERE subject = %s", devices[7].id) == 0:
            assert time.monotonic() < deadline, "the alarm never raised an alert"
            time.sleep(0.01)
        behind = stored()
        wait_until(lambda: stored() == BACKLOG, timeout=60, what="the backlog to drain")
        copies = ingest.counters.event_copies
    print(f"alarm committed with {behind:,} of {BACKLOG:,} backlog readings stored")
    assert behind < BACKLOG // 2, f"the alarm waited for {behind:,} readings"
    assert scalar(db, "SELECT count(*) FROM events WHERE device_id = %s", devices[7].id) == 1
    assert copies == 1  # the telemetry session's copy, acknowledged and skipped
    assert db.execute(
        "SELECT count(*) = count(DISTINCT (device_id, seq)) FROM readings"
        " WHERE device_id LIKE %s AND metric = 'temperature_c'",
        (f"{site}-%",),
    ).fetchone() == (True,)


def _inbound(topic: str, payload: bytes) -> Inbound:
    return Inbound(topic, payload, datetime.now(UTC))


def test_the_second_copy_of_an_event_is_skipped_once() -> None:
    copies = EventCopies()
    alarm = _inbound("fw/v1/s/SD-1/event", b'{"seq": 1}')
    reading = _inbound("fw/v1/s/SD-1/reading", b'{"seq": 2}')
    assert copies.first_copies([alarm, reading]) == [alarm, reading]
    assert copies.first_copies([reading, alarm]) == [reading]  # the other session's copy
    assert copies.skipped == 1
    # A later redelivery of the same event is a new first copy; the store finds the duplicate.
    assert copies.first_copies([alarm]) == [alarm]
