"""Hostile input: 10,000 generated payloads (random bytes, deep nesting, huge JSON, NaN and
infinities, wrong types, unicode, oversize frames, bad topics, duplicates, clocks far ahead
or behind) interleaved with valid traffic. Ingest must not crash; each bad message is
dead-lettered with the reason it was built for, duplicates are counted and stored once, and
every valid message is stored."""

from __future__ import annotations

import random
import time
from collections import Counter
from typing import Any

import psycopg

from firewatch.testing import wait_until
from ingest.service import IngestService
from settings import Settings
from tests.faults.hostile import hostile_messages
from tests.faults.traffic import (
    StreamPublisher,
    exactly_once,
    readings,
    register_smoke_detectors,
)

HOSTILE = 10_000
VALID = 5_000
DEVICES = 100
SEED = 20_240_607


def _dead_letters(db: psycopg.Connection[Any]) -> Counter[str]:
    return Counter(dict(db.execute("SELECT reason, count(*) FROM dead_letters GROUP BY 1")))


def test_hostile_payloads_are_dead_lettered_and_valid_traffic_is_stored(
    settings: Settings, db: psycopg.Connection[Any], ingest: IngestService
) -> None:
    started = time.monotonic()
    site = settings.site
    devices = register_smoke_detectors(db, site, DEVICES)
    valid = readings(site, devices, VALID)
    hostile = hostile_messages(site, devices, valid, count=HOSTILE, seed=SEED)
    stream = [(h.topic, h.payload) for h in hostile] + valid
    random.Random(SEED).shuffle(stream)
    expected = Counter(h.reason.value for h in hostile if h.reason is not None)
    duplicates = sum(1 for h in hostile if h.reason is None)
    print(
        f"\n  inflicted: {HOSTILE} hostile messages among {VALID} valid ones "
        f"({sum(len(p) for _, p in stream) / 2**20:.1f} MiB): "
        + ", ".join(f"{k} {n}" for k, n in sorted(Counter(h.kind for h in hostile).items()))
    )

    publisher = StreamPublisher(settings.mqtt_url, stream, client_id=f"pub-{site}")
    publisher.start()
    publisher.finish()
    c = ingest.counters
    wait_until(
        lambda: c.stored + c.duplicates + sum(c.rejected.values()) >= len(stream),
        timeout=60,
        what="every message to be judged",
    )
    found = _dead_letters(db)
    print(
        f"  counted: dead letters {dict(sorted(found.items()))}; {c.stored} stored, "
        f"{c.duplicates} duplicates (sent {duplicates})"
    )
    assert ingest.ready, "ingest is no longer connected"
    assert found == expected
    assert c.duplicates == duplicates
    assert c.stored == VALID
    for table in ("events", "heartbeats"):
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (0,)
    exactly_once(db, site, valid)
    print(f"  took {time.monotonic() - started:.1f} s")
