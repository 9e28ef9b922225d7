"""PostgreSQL restarted mid-stream: a private cluster (the machine's server is shared) is shut
down with ``pg_ctl stop -m fast``, which ends every connection, and started again seconds
later. Meanwhile ingest acknowledges nothing, retries with backoff and ``/readyz`` says the
database is down; then ingest resumes by itself, and nothing is lost or stored twice."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import psycopg

from api.app import create_app
from firewatch.testing import serving, wait_until
from ingest.service import IngestService
from settings import Settings
from tests.faults.private_postgres import private_cluster
from tests.faults.traffic import (
    StreamPublisher,
    exactly_once,
    readings,
    register_smoke_detectors,
    wait_stored,
)

MESSAGES = 30_000
DEVICES = 300
RATE = 3000.0  # msg/s: a 10 s stream, with the outage in its middle
DOWN_S = 4.0
SETTLE_S = 0.5  # a batch committed just before the stop may still be acknowledged


def _readyz(base: str) -> tuple[int, dict[str, Any]]:
    try:
        with urllib.request.urlopen(f"{base}/readyz", timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_database_restart_mid_stream_pauses_acks_then_resumes(broker_url: str, site: str) -> None:
    started = time.monotonic()
    with private_cluster() as (cluster, url):
        local = Settings(
            database_url=url, mqtt_url=broker_url, site=site, ingest_client_id=f"ingest-{site}"
        )
        with psycopg.connect(url, autocommit=True) as conn:
            messages = readings(site, register_smoke_detectors(conn, site, DEVICES), MESSAGES)
        acks: list[float] = []
        service = IngestService(local, before_ack=lambda _batch: acks.append(time.monotonic()))
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), name="ingest", daemon=True)
        publisher = StreamPublisher(local.mqtt_url, messages, client_id=f"pub-{site}", rate=RATE)

        async def broker_ok() -> bool:
            return service.source.connected

        try:
            thread.start()
            wait_until(lambda: service.ready, timeout=15, what="ingest to connect")
            with serving(create_app(local, broker_ok=broker_ok)) as base:
                assert _readyz(base)[0] == 200
                publisher.start()
                with psycopg.connect(url, autocommit=True) as db:
                    wait_stored(db, site, MESSAGES // 5, timeout=30)
                cluster.stop()  # fast shutdown: every connection is terminated
                down_at = time.monotonic()
                stored_at_stop = service.counters.stored
                retries_at_stop = service.counters.retries
                outage_status, outage_body = _readyz(base)
                time.sleep(max(0.0, down_at + DOWN_S - time.monotonic()))
                acked_in_outage = sum(1 for t in acks if down_at + SETTLE_S < t)
                retries = service.counters.retries - retries_at_stop
                ready_in_outage = service.ready
                published_in_outage = publisher.published
                cluster.start()
                up_at = time.monotonic()
                print(
                    f"\n  inflicted: PostgreSQL stopped (fast) for {up_at - down_at:.1f} s, "
                    f"after {stored_at_stop} of {MESSAGES} stored; {published_in_outage} "
                    "published by the end of the outage"
                )
                print(
                    f"  counted in the outage: {acked_in_outage} batches acknowledged, "
                    f"{retries} write retries, /readyz {outage_status} {outage_body['checks']}"
                )
                publisher.finish()
                with psycopg.connect(url, autocommit=True) as db:
                    wait_stored(db, site, MESSAGES, timeout=60)
                    recovered_in = time.monotonic() - up_at
                    resumed_in = min(t for t in acks if t > up_at) - up_at
                    wait_until(
                        lambda: _readyz(base)[0] == 200, timeout=20, what="/readyz to recover"
                    )
                    print(
                        f"  first batch acknowledged {resumed_in:.1f} s after the restart, "
                        f"all {MESSAGES} stored after {recovered_in:.1f} s; "
                        f"{service.counters.duplicates} duplicates recognised; /readyz 200"
                    )
                    exactly_once(db, site, messages)
        finally:
            stop.set()
            thread.join(timeout=20)
    assert not thread.is_alive(), "ingest did not stop"
    assert acked_in_outage == 0
    assert not ready_in_outage
    assert outage_status == 503 and outage_body["checks"]["database"].startswith("down")
    assert outage_body["checks"]["broker"] == "ok"
    # Backoff from 0.5 s, doubling: three or four attempts in 4 s, not a busy loop.
    assert 1 <= retries <= 6
    print(f"  took {time.monotonic() - started:.1f} s")
