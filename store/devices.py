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
    return _registered(rows)


def _registered(rows: Iterable[tuple[Any, ...]]) -> dict[str, RegisteredDevice]:
    return {
        r[0]: RegisteredDevice(r[0], Kind(r[1]), r[2], r[3], r[4], r[5], r[6] or {}, r[7])
        for r in rows
    }


def load_changed(
    conn: psycopg.Connection[Any], *, since: datetime | None
) -> tuple[dict[str, RegisteredDevice], datetime]:
    """Devices whose row changed after ``since`` (every device for None), and the server's
    clock to pass as ``since`` next time, less a margin: a row's ``updated_at`` is its
    transaction's start, which may commit a while later."""
    with conn.transaction():
        clock = conn.execute("SELECT now()").fetchone()
        if since is None:
            rows = conn.execute(_REGISTERED).fetchall()
        else:
            rows = conn.execute(f"{_REGISTERED} WHERE updated_at > %s", (since,)).fetchall()
    assert clock is not None
    return _registered(rows), clock[0]


class DeviceExists(Exception):
    """A device with this id is already registered."""


# What the API shows of a device: its registry row, plus whether it is heard from. Online is
# two heartbeats plus the engine's default offline margin (60 s), measured on the server clock.
_READ = """
SELECT d.id, d.kind, d.site, d.name, d.building, d.floor, d.room, d.lat, d.lon, d.zone,
       d.status, d.status_reason, d.maintenance_until, d.status_changed_at, d.heartbeat_s,
       d.config, d.replaces, d.replaced_by, d.created_at, d.updated_at,
       s.last_received_at AS last_seen_at,
       coalesce(s.last_received_at > now() - make_interval(secs => 2 * d.heartbeat_s + 60),
                false) AS online
FROM devices d LEFT JOIN device_status s ON s.device_id = d.id
"""
_ONLINE = "s.last_received_at > now() - make_interval(secs => 2 * d.heartbeat_s + 60)"

SORTABLE = ("id", "kind", "status", "site", "building", "zone", "name", "created_at", "updated_at")


@dataclass(frozen=True, slots=True)
class DeviceFilter:
    kind: str | None = None
    status: str | None = None
    site: str | None = None
    building: str | None = None
    zone: str | None = None
    online: bool | None = None
    text: str | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(f: DeviceFilter) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for column in ("kind", "status", "site", "building", "zone"):
        value = getattr(f, column)
        if value is not None:
            clauses.append(f"d.{column} = %s")
            params.append(value)
    if f.online is not None:
        clauses.append(f"coalesce({_ONLINE}, false) = %s")
        params.append(f.online)
    if f.text:
        pattern = f"%{_escape_like(f.text)}%"
        clauses.append(
            "(d.id ILIKE %s OR d.name ILIKE %s OR d.room ILIKE %s OR d.building ILIKE %s)"
        )
        params.extend([pattern] * 4)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


async def list_devices(
    conn: psycopg.AsyncConnection[Any], f: DeviceFilter, *, sort: str, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    """One page and the total matching; ``sort`` is a column of SORTABLE, ``-`` for descending.
    The id breaks ties, so pages never overlap."""
    column = sort.removeprefix("-")
    if column not in SORTABLE:
        raise ValueError(f"cannot sort by {column!r}")
    direction = "DESC" if sort.startswith("-") else "ASC"
    where, params = _where(f)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_READ} {where} ORDER BY d.{column} {direction} NULLS LAST, d.id {direction}"
            " LIMIT %s OFFSET %s",
            [*params, limit, offset],
        )
        rows = await cur.fetchall()
        await cur.execute(
            f"SELECT count(*) AS n FROM devices d LEFT JOIN device_status s"
            f" ON s.device_id = d.id {where}",
            params,
        )
        total = await cur.fetchone()
    assert total is not None
    return rows, int(total["n"])


async def get_device(
    conn: psycopg.AsyncConnection[Any], device_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        if lock:
            await cur.execute("SELECT 1 FROM devices WHERE id = %s FOR UPDATE", (device_id,))
        await cur.execute(f"{_READ} WHERE d.id = %s", (device_id,))
        return await cur.fetchone()


async def create_device(
    conn: psycopg.AsyncConnection[Any], fields: dict[str, Any]
) -> dict[str, Any]:
    """Inserts one device; the caller's transaction owns it (a savepoint keeps it usable
    after a duplicate id)."""
    columns = list(fields)
    values = [Jsonb(v) if k == "config" else v for k, v in fields.items()]
    placeholders = ", ".join(["%s"] * len(columns))
    try:
        async with conn.transaction():
            await conn.execute(
                f"INSERT INTO devices ({', '.join(columns)}, status_changed_at)"
                f" VALUES ({placeholders}, now())",
                values,
            )
    except psycopg.errors.UniqueViolation:
        raise DeviceExists(str(fields.get("id"))) from None
    await conn.execute("DELETE FROM pending_devices WHERE device_id = %s", (fields["id"],))
    row = await get_device(conn, str(fields["id"]))
    assert row is not None
    return row


async def update_device(
    conn: psycopg.AsyncConnection[Any], device_id: str, fields: dict[str, Any]
) -> dict[str, Any] | None:
    """Changes the given columns (not the status: that is the lifecycle's)."""
    if fields:
        assignments = ", ".join(f"{c} = %s" for c in fields)
        values = [Jsonb(v) if k == "config" else v for k, v in fields.items()]
        await conn.execute(
            f"UPDATE devices SET {assignments}, updated_at = now() WHERE id = %s",
            [*values, device_id],
        )
    return await get_device(conn, device_id)


async def existing_devices(
    conn: psycopg.AsyncConnection[Any], ids: Iterable[str]
) -> dict[str, tuple[str, str, str | None]]:
    """id -> (kind, status, building) for those of ``ids`` that are registered."""
    cur = await conn.execute(
        "SELECT id, kind, status, building FROM devices WHERE id = ANY(%s)", (list(ids),)
    )
    return {r[0]: (r[1], r[2], r[3]) for r in await cur.fetchall()}


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
