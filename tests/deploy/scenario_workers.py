"""The scenario library through one or several ingest workers on one broker, and what they
stored, comparable across runs: server-clock columns are left out and the run's site (each run
has its own, so runs never meet on the broker) is replaced by a placeholder."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from firewatch.testing import own_database, wait_until
from ingest.service import IngestService
from registry.service import import_at
from settings import MqttTarget, Settings
from simulators.publisher import Publisher
from simulators.scenarios import SCENARIOS, build_scenario
from simulators.scenarios.base import Message
from simulators.topology import build_quarter
from store.database import connect

SEED = 7
OFFLINE = ("device_offline", "power_cut")  # judged on the server's clock: see the matrix test
THROUGH_THE_PIPELINE = sorted(set(SCENARIOS) - set(OFFLINE))
SETTLE_S = 2.5  # a couple of engine ticks after the last message

# Everything ingest stores, without the columns that hold the server's clock.
SNAPSHOT = {
    "readings": "SELECT ts, device_id, metric, value, seq, region, preset FROM readings",
    "events": "SELECT ts, device_id, seq, type, detail::text FROM events",
    "heartbeats": "SELECT ts, device_id, seq, battery_pct, rssi_dbm, firmware FROM heartbeats",
    "dead_letters": "SELECT topic, device_id, reason, detail, payload FROM dead_letters",
    "device_status": "SELECT device_id, last_seen, last_seq, battery_pct, rssi_dbm, firmware,"
    " latest::text, message_count FROM device_status",
    # Floods, offline and communication faults are raised by the timers at server time.
    # Timer-raised alerts are judged on the server clock: when they were raised and, for a
    # flood, how many alerts the tick happened to count, depend on timing, not on the workers.
    "alerts": "SELECT subject, rule, class, state,"
    " CASE WHEN rule IN ('alert_flood', 'offline', 'comm_fault') THEN NULL ELSE raised_at END,"
    " CASE WHEN rule IN ('alert_flood', 'offline', 'comm_fault') THEN NULL ELSE last_at END,"
    " CASE WHEN rule = 'alert_flood' THEN NULL ELSE count END,"
    " CASE WHEN rule = 'alert_flood' THEN NULL ELSE peak END,"
    " condition_active, latching, chattering, suppressed_reason, cause, building,"
    " CASE WHEN rule = 'alert_flood' THEN NULL ELSE detail::text END"
    " FROM alerts",
    # Incidents by what they group: which worker placed a signal first may differ (a camera
    # incident a detector then joined, or the detector's that the camera joined), the result
    # may not.
    # An incident merged into another (a camera's, placed before the detector's) is an empty
    # shell: left out.
    "incidents": "SELECT building, class, state, confirmed_at, opened_at, cause,"
    " (SELECT array_agg(a.subject || '/' || a.family ORDER BY a.subject, a.family)"
    " FROM alerts a WHERE a.incident_id = i.id) FROM incidents i"
    " WHERE EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id)",
}


@dataclass
class Outcome:
    tables: dict[str, list[tuple[Any, ...]]]
    received: list[int] = field(default_factory=list)  # per worker


def start_of(name: str) -> datetime:
    spec = SCENARIOS[name]
    return datetime.now(UTC) - timedelta(seconds=spec.preroll_s + spec.duration_s + 60)


def _snapshot(conn: psycopg.Connection[Any], site: str) -> dict[str, list[tuple[Any, ...]]]:
    def clean(row: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(v.replace(site, "SITE") if isinstance(v, str) else v for v in row)

    return {
        table: sorted((clean(r) for r in conn.execute(query).fetchall()), key=repr)
        for table, query in SNAPSHOT.items()
    }


def _routed(service: IngestService, messages: Sequence[Message]) -> int:
    """How many of the messages reach the service: a partitioned worker gets its devices' and
    the cameras it observes; otherwise (one worker, or a shared subscription) all of them."""
    if service.partition is None:
        return len(messages)
    share = service.partition.assignment.devices | service.partition.assignment.observed
    return sum(1 for m in messages if m.topic.split("/")[3] in share)


def run_scenario(
    name: str, broker_url: str, *, start: datetime, workers: int, shared_group: str = ""
) -> Outcome:
    """``workers`` ingest services on the scenario; partitioned (ingest/partition.py) unless
    ``shared_group`` is given, in which case they share one round-robin subscription."""
    site = "w" + uuid.uuid4().hex[:12]
    quarter = build_quarter(seed=SEED, site=site)
    run = build_scenario(name, quarter=quarter, seed=SEED, start=start)
    with own_database("fw_workers") as url:
        asyncio.run(import_at(url, quarter.document()))
        services = [
            IngestService(
                Settings(
                    database_url=url,
                    mqtt_url=broker_url,
                    site=site,
                    ingest_client_id=f"ingest-{site}-{i}",
                    ingest_batch_wait_ms=20,
                    ingest_shared_group=shared_group,
                    ingest_workers=1 if shared_group else workers,
                    ingest_worker_index=0 if shared_group else i,
                    # Partitioned workers have one session each; so does the worker they are
                    # compared with, so the comparison is of the partitioning alone.
                    ingest_alarm_session=False,
                )
            )
            for i in range(workers)
        ]
        stop = threading.Event()
        threads = [threading.Thread(target=s.run, args=(stop,), daemon=True) for s in services]
        for thread in threads:
            thread.start()
        try:
            wait_until(lambda: all(s.ready for s in services), timeout=20, what="ingest ready")
            with Publisher(MqttTarget(broker_url), client_id=f"pub-{site}") as publisher:
                for message in run.messages:
                    publisher.publish(message.topic, message.payload)
            total = sum(_routed(s, run.messages) for s in services)
            wait_until(
                lambda: sum(s.counters.received for s in services) >= total,
                timeout=120,
                what=f"ingest to take {total} messages of {name}",
            )
            time.sleep(SETTLE_S)
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=20)
        with connect(url, autocommit=True) as conn:
            return Outcome(_snapshot(conn, site), [s.counters.received for s in services])


def differences(a: Outcome, b: Outcome) -> dict[str, int]:
    """Rows in one outcome and not the other, per table (0 everywhere: the same)."""
    out = {}
    for table in SNAPSHOT:
        left, right = a.tables[table], b.tables[table]
        only = len(set(map(repr, left)) ^ set(map(repr, right))) + abs(len(left) - len(right)) * 0
        out[table] = only
    return out
