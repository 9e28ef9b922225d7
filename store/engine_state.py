"""Rebuilding the engine's state from what the store already holds, when ingest starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg

from alerts.engine import RING_METRICS, Engine
from alerts.trend import BUCKETS
from ingest.messages import Decoded
from ingest.registry import RegistryCache
from ingest.topics import Channel
from store.devices import load_registered

TREND_METRIC = "residual_current_ma"
TREND_HOURS = 4
CHUNK = 20_000

_RAW = """
SELECT ts, device_id, metric, value, received_at FROM readings
WHERE ts >= %(since)s AND ts <= %(now)s AND metric = ANY(%(metrics)s)
ORDER BY ts
"""
# Older leakage history arrives as bucket means: the trend only needs those.
_BUCKETED = """
SELECT date_bin(%(width)s, ts, timestamptz 'epoch') AS b, device_id, avg(value),
       max(received_at)
FROM readings
WHERE metric = %(metric)s AND ts >= %(since)s AND ts < %(until)s
GROUP BY 1, 2 ORDER BY 1
"""


def warm_engine(
    conn: psycopg.Connection[Any],
    engine: Engine,
    *,
    registry: RegistryCache,
    now: datetime,
    window: timedelta,
) -> int:
    """Configures every device, replays recent readings (decisions discarded: what they would
    say is already in the alerts table), and marks the open alerts active. Returns the number
    of readings replayed."""
    devices = load_registered(conn)
    engine.configure(registry.info(d) for d in devices.values())
    sites = {d.id: d.site for d in devices.values()}
    engine.remember_heard(
        dict(conn.execute("SELECT device_id, last_received_at FROM device_status").fetchall())
    )
    replayed = 0
    raw_since = now - window
    trend_since = now - timedelta(hours=TREND_HOURS)
    queries: list[tuple[str, dict[str, Any]]] = []
    if trend_since < raw_since:
        queries.append((_BUCKETED, {"width": timedelta(hours=TREND_HOURS) / BUCKETS,
                                    "metric": TREND_METRIC, "since": trend_since,
                                    "until": raw_since}))  # fmt: skip
    queries.append((_RAW, {"since": raw_since, "now": now, "metrics": list(RING_METRICS)}))
    for sql, params in queries:
        with conn.transaction(), conn.cursor(name="engine_warmup") as cur:
            cur.itersize = CHUNK
            cur.execute(sql, params)
            while rows := cur.fetchmany(CHUNK):
                batch = [
                    (Decoded(sites.get(r[1], ""), r[1], Channel.READING, r[0], 0,
                             {r[2]: r[3]} if len(r) == 5 else {TREND_METRIC: r[2]}), r[-1])
                    for r in rows if r[1] in devices
                ]  # fmt: skip
                engine.evaluate(batch)
                engine.commit()
                replayed += len(batch)
    engine.remember_open(
        conn.execute("SELECT subject, rule FROM alerts WHERE state <> 'resolved'").fetchall()
    )
    return replayed
