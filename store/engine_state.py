"""What the engine needs from the store when ingest starts: recent readings, leakage history as
bucket means, the open alerts and when each device was last heard."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

CHUNK = 20_000

# (ts, device_id, metric, value, received_at), oldest first.
Row = tuple[datetime, str, str, float, datetime]

_RAW = """
SELECT ts, device_id, metric, value, received_at FROM readings
WHERE ts >= %(since)s AND ts <= %(until)s AND metric = ANY(%(metrics)s)
ORDER BY ts
"""
_BUCKETED = """
SELECT date_bin(%(width)s, ts, timestamptz 'epoch') AS b, device_id, %(metric)s, avg(value),
       max(received_at)
FROM readings
WHERE metric = %(metric)s AND ts >= %(since)s AND ts < %(until)s
GROUP BY 1, 2 ORDER BY 1
"""


def _stream(conn: psycopg.Connection[Any], sql: str, params: dict[str, Any]) -> Iterator[list[Row]]:
    with conn.transaction(), conn.cursor(name="engine_warmup") as cur:
        cur.itersize = CHUNK
        cur.execute(sql, params)
        while rows := cur.fetchmany(CHUNK):
            yield rows


def recent_readings(
    conn: psycopg.Connection[Any], *, metrics: Sequence[str], since: datetime, until: datetime
) -> Iterator[list[Row]]:
    """Chunks of raw readings, oldest first, through a server-side cursor."""
    return _stream(conn, _RAW, {"since": since, "until": until, "metrics": list(metrics)})


def bucketed_readings(
    conn: psycopg.Connection[Any],
    *,
    metric: str,
    width: timedelta,
    since: datetime,
    until: datetime,
) -> Iterator[list[Row]]:
    """Chunks of per-device bucket means of one metric, stamped at each bucket's start."""
    params = {"width": width, "metric": metric, "since": since, "until": until}
    return _stream(conn, _BUCKETED, params)


def last_heard(conn: psycopg.Connection[Any]) -> dict[str, datetime]:
    return dict(conn.execute("SELECT device_id, last_received_at FROM device_status").fetchall())


# Each panel component's newest shield event. DISTINCT ON over the few shield events: a lateral
# probe per component cost seconds over a year of daily partitions, and the planner's JIT more.
_SHIELDS = """
SELECT DISTINCT ON (e.device_id) e.device_id, e.type = 'disabled', e.ts
FROM events e
WHERE e.type IN ('disabled', 'disabled_cleared')
  AND e.device_id IN (SELECT id FROM devices WHERE kind = 'panel')
ORDER BY e.device_id, e.ts DESC, e.seq DESC
"""


def shields(conn: psycopg.Connection[Any]) -> dict[str, tuple[bool, datetime]]:
    """Each panel component's shield (屏蔽) as its panel last said: on or off, and when."""
    with conn.transaction():
        conn.execute("SET LOCAL jit = off")
        rows = conn.execute(_SHIELDS).fetchall()
    return {device_id: (bool(on), at) for device_id, on, at in rows}


def open_alert_keys(conn: psycopg.Connection[Any]) -> list[tuple[str, str]]:
    rows = conn.execute("SELECT subject, rule FROM alerts WHERE state <> 'resolved'").fetchall()
    return [(subject, rule) for subject, rule in rows]
