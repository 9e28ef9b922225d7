"""What a device said over time, for charts: bucketed series and a camera's newest frame."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row


async def device_kind(conn: psycopg.AsyncConnection[Any], device_id: str) -> str | None:
    row = await (
        await conn.execute("SELECT kind FROM devices WHERE id = %s", (device_id,))
    ).fetchone()
    return str(row[0]) if row else None


async def bucketed(
    conn: psycopg.AsyncConnection[Any],
    *,
    device_id: str,
    metric: str,
    since: datetime,
    until: datetime,
    bucket_s: int,
) -> list[dict[str, Any]]:
    """Min, mean, max and count per bucket; empty buckets are left out. The index on
    (device, metric, ts) makes this a range read of one device's rows, whatever the table's size."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT date_bin(make_interval(secs => %s), ts, timestamptz '2000-01-01') AS t,"
            " min(value) AS min, avg(value) AS avg, max(value) AS max, count(*) AS n"
            " FROM readings WHERE device_id = %s AND metric = %s AND ts >= %s AND ts < %s"
            " GROUP BY 1 ORDER BY 1",
            (bucket_s, device_id, metric, since, until),
        )
        return await cur.fetchall()


async def latest_frame(
    conn: psycopg.AsyncConnection[Any], device_id: str
) -> tuple[datetime, bytes] | None:
    """The camera's newest frame exactly as it was sent."""
    row = await (
        await conn.execute(
            "SELECT ts, payload FROM camera_frames_latest WHERE device_id = %s", (device_id,)
        )
    ).fetchone()
    return (row[0], bytes(row[1])) if row else None
