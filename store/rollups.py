"""A device's bucketed series for charts, read from the readings' roll-ups once the span is
beyond a few hours.

``readings_5m`` and ``readings_1h`` hold, per device, metric and bucket, the count, sum,
minimum and maximum of the readings: tables a trigger keeps on stock PostgreSQL, continuous
aggregates with real-time aggregation on TimescaleDB (migration 0020), with the same names and
columns, so this one query serves both. A chart's bucket made of whole roll-up buckets is
answered from them; the ragged ends of the span, where a roll-up bucket is only partly inside
it, from the raw readings. So the answer is the raw answer: counts, minima and maxima exactly,
means to the last bits of a double.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

# Up to this span a series is read from the raw readings, whatever the bucket.
RAW_SPAN = timedelta(hours=6)
# Each roll-up's table by its bucket, coarsest first.
WIDTHS: tuple[tuple[int, str], ...] = ((3600, "readings_1h"), (300, "readings_5m"))
_EPOCH = "timestamptz '2000-01-01 00:00:00+00'"  # every bucket's origin, on both backends

_RAW = f"""
SELECT date_bin(make_interval(secs => %(bucket)s), ts, {_EPOCH}) AS t,
       min(value) AS min, avg(value) AS avg, max(value) AS max, count(*) AS n
FROM readings
WHERE device_id = %(device)s AND metric = %(metric)s AND ts >= %(since)s AND ts < %(until)s
GROUP BY 1 ORDER BY 1
"""

# The roll-up's whole buckets inside [inner_from, inner_to), the raw rows of the two ends.
_ROLLED = f"""
SELECT date_bin(make_interval(secs => %(bucket)s), t, {_EPOCH}) AS t,
       min(low) AS min, sum(total) / sum(n) AS avg, max(high) AS max, sum(n)::bigint AS n
FROM (
    SELECT bucket AS t, n, total, low, high FROM {{table}}
    WHERE device_id = %(device)s AND metric = %(metric)s
      AND bucket >= %(inner_from)s AND bucket < %(inner_to)s
    UNION ALL
    SELECT ts, 1, value, value, value FROM readings
    WHERE device_id = %(device)s AND metric = %(metric)s
      AND ts >= %(since)s AND ts < %(inner_from)s
    UNION ALL
    SELECT ts, 1, value, value, value FROM readings
    WHERE device_id = %(device)s AND metric = %(metric)s
      AND ts >= %(inner_to)s AND ts < %(until)s
) parts
GROUP BY 1 ORDER BY 1
"""


def default_bucket(span: timedelta, *, target: int) -> int:
    """About ``target`` buckets over the span; beyond RAW_SPAN rounded up to whole roll-up
    buckets, so the roll-ups can answer."""
    seconds = max(1, math.ceil(span.total_seconds() / target))
    if span <= RAW_SPAN:
        return seconds
    width = next((w for w, _ in WIDTHS if seconds >= w), WIDTHS[-1][0])
    return math.ceil(seconds / width) * width


def rollup_for(*, since: datetime, until: datetime, bucket_s: int) -> tuple[int, str] | None:
    """The coarsest roll-up whose buckets tile the chart's, when the span is long enough."""
    if until - since <= RAW_SPAN:
        return None
    return next(((w, t) for w, t in WIDTHS if bucket_s % w == 0), None)


def _floor(at: datetime, width: int) -> datetime:
    return at - (at - datetime(2000, 1, 1, tzinfo=UTC)) % timedelta(seconds=width)


async def bucketed(
    conn: psycopg.AsyncConnection[Any],
    *,
    device_id: str,
    metric: str,
    since: datetime,
    until: datetime,
    bucket_s: int,
) -> list[dict[str, Any]]:
    """Min, mean, max and count per bucket, oldest first; empty buckets are left out. Either
    way it is a range read of one device's rows through the (device, metric, time) indexes."""
    params: dict[str, Any] = {
        "bucket": bucket_s,
        "device": device_id,
        "metric": metric,
        "since": since,
        "until": until,
    }
    query = _RAW
    rollup = rollup_for(since=since, until=until, bucket_s=bucket_s)
    if rollup is not None:
        width, table = rollup
        inner_from, inner_to = _floor(since, width), _floor(until, width)
        if inner_from < since:
            inner_from += timedelta(seconds=width)
        if inner_from < inner_to:
            params |= {"inner_from": inner_from, "inner_to": inner_to}
            query = _ROLLED.replace("{table}", table)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query.encode(), params)
        return await cur.fetchall()
