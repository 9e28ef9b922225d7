"""What a device is and showed last: its kind and a camera's newest frame (its bucketed series
are in store/rollups.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg


async def device_kind(conn: psycopg.AsyncConnection[Any], device_id: str) -> str | None:
    row = await (
        await conn.execute("SELECT kind FROM devices WHERE id = %s", (device_id,))
    ).fetchone()
    return str(row[0]) if row else None


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
