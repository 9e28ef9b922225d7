"""The device registry."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.kinds import Kind


@dataclass(frozen=True, slots=True)
class RegisteredDevice:
    """What ingest and the engine need to know of a device."""

    id: str
    kind: Kind
    site: str
    status: str
    building: str | None = None
    heartbeat_s: int = 0
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    updated_at: datetime | None = None


_REGISTERED = (
    "SELECT id, kind, site, status, building, heartbeat_s, config, updated_at FROM devices"
)


def load_registered(
    conn: psycopg.Connection[Any], ids: Iterable[str] | None = None
) -> dict[str, RegisteredDevice]:
    if ids is None:
        rows = conn.execute(_REGISTERED).fetchall()
    else:
        rows = conn.execute(f"{_REGISTERED} WHERE id = ANY(%s)", (list(ids),)).fetchall()
    return {
        r[0]: RegisteredDevice(r[0], Kind(r[1]), r[2], r[3], r[4], r[5], r[6] or {}, r[7])
        for r in rows
    }


DEVICE_COLUMNS = (
    "id, kind, site, name, building, floor, room, lat, lon, zone, status, heartbeat_s, config,"
    " created_at, updated_at"
)


class DeviceExists(Exception):
    """A device with this id is already registered."""


async def create_device(
    conn: psycopg.AsyncConnection[Any], fields: dict[str, Any]
) -> dict[str, Any]:
    columns = list(fields)
    values = [Jsonb(v) if k == "config" else v for k, v in fields.items()]
    placeholders = ", ".join(["%s"] * len(columns))
    async with conn.cursor(row_factory=dict_row) as cur:
        try:
            await cur.execute(
                f"INSERT INTO devices ({', '.join(columns)}) VALUES ({placeholders})"
                f" RETURNING {DEVICE_COLUMNS}",
                values,
            )
        except psycopg.errors.UniqueViolation:
            raise DeviceExists(str(fields.get("id"))) from None
        row = await cur.fetchone()
        assert row is not None
        return row


async def upsert_devices(conn: psycopg.AsyncConnection[Any], rows: list[dict[str, Any]]) -> int:
    """Bulk registration for the demo and tests: every row carries the same columns."""
    if not rows:
        return 0
    columns = list(rows[0])
    updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "id")
    placeholders = ", ".join(["%s"] * len(columns))
    async with conn.cursor() as cur:
        await cur.executemany(
            f"INSERT INTO devices ({', '.join(columns)}) VALUES ({placeholders})"
            f" ON CONFLICT (id) DO UPDATE SET {updates}, updated_at = now()",
            [[Jsonb(v) if k == "config" else v for k, v in r.items()] for r in rows],
        )
    return len(rows)
