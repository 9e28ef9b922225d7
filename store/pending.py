"""Devices heard from but not registered, as the dead-letter trigger summarises them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row

# Registered since (or decommissioned ids that were never pending): not waiting any more.
_PENDING = """
SELECT device_id, first_seen, last_seen, count, last_topic, last_payload, last_size
FROM pending_devices p
WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = p.device_id)
"""


async def list_pending(
    conn: psycopg.AsyncConnection[Any], *, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """Most recently heard first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_PENDING} ORDER BY last_seen DESC, device_id LIMIT %s OFFSET %s", (limit, offset)
        )
        rows = await cur.fetchall()
        await cur.execute(f"SELECT count(*) AS n FROM ({_PENDING}) AS p")
        total = await cur.fetchone()
    assert total is not None
    return rows, int(total["n"])


async def get_pending(conn: psycopg.AsyncConnection[Any], device_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_PENDING} AND device_id = %s", (device_id,))
        return await cur.fetchone()


# The per-site row counts (store/bounded.py) go down with the rows, so registering or
# dismissing pending ids makes room under the cap at once rather than at the next recount.
_DELETE = """
WITH gone AS (
    DELETE FROM pending_devices WHERE device_id = ANY(%s) RETURNING topic_site(last_topic) AS site
), per_site AS (
    SELECT site, count(*) AS n FROM gone GROUP BY site
), counted AS (
    UPDATE bounded_tables b SET rows = greatest(b.rows - p.n, 0)
    FROM per_site p WHERE b.tbl = 'pending_devices' AND b.site = p.site
)
SELECT coalesce(sum(n), 0) FROM per_site
"""


async def delete_pending(conn: psycopg.AsyncConnection[Any], device_ids: Sequence[str]) -> int:
    """Takes ids off the pending list (they were registered, or dismissed); returns how many."""
    row = await (await conn.execute(_DELETE, (list(device_ids),))).fetchone()
    return int(row[0]) if row else 0


async def forget_pending(conn: psycopg.AsyncConnection[Any], device_id: str) -> bool:
    """A technician dismisses an id that is not ours (a neighbour's gateway, a test rig)."""
    return await delete_pending(conn, [device_id]) > 0
