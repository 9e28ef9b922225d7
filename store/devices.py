"""The device registry."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from contract.kinds import Kind
from store.device_states import SILENT
from store.pending import delete_pending


@dataclass(kw_only=True, frozen=True, slots=True)
class RegisteredDevice:
    """What ingest and the engine need to know of a device."""

    id: str
    kind: Kind
    site: str
    status: str
    building: str | None = None
    heartbeat_s: int = 0
    config: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    # Where in its building: the engine's neighbours (alerts.devices.DeviceInfo.place).
    floor: int | None = None
    room: str | None = None


_REGISTERED = (
    "SELECT id, kind, site, status, building, heartbeat_s, config, floor, room FROM devices"
)


def load_registered(
    conn: psycopg.Connection[Any], ids: Iterable[str] | None = None
) -> dict[str, RegisteredDevice]:
    """Every device (``ids`` None), or those of ``ids`` that are registered."""
    return {d.id: d for d in iter_registered(conn, ids)}


def iter_registered(
    conn: psycopg.Connection[Any], ids: Iterable[str] | None = None
) -> Iterator[RegisteredDevice]:
    """Every device (``ids`` None) comes a few thousand rows at a time from a server-side
    cursor: ingest keeps a city's 100,000 in a compact form of its own, and the whole result
    beside it (in libpq and as Python rows) would add tens of MB at every reload. A batch's few
    ids take one plain query."""
    if ids is None:
        with conn.transaction(), conn.cursor(name="fw_registered") as cursor:
            cursor.itersize = 5000
            cursor.execute(_REGISTERED)
            yield from _devices(cursor)
        return
    wanted = list(ids)
    if wanted:
        yield from _devices(conn.execute(f"{_REGISTERED} WHERE id = ANY(%s)", (wanted,)))


def _devices(rows: Iterable[tuple[Any, ...]]) -> Iterator[RegisteredDevice]:
    # A few sites, statuses and buildings are shared by all of them, and most have no
    # overrides: those are stored once.
    empty: dict[str, Any] = {}
    for r in rows:
        building = sys.intern(r[4]) if r[4] else r[4]
        yield RegisteredDevice(
            id=r[0],
            kind=Kind(r[1]),
            site=sys.intern(r[2]),
            status=sys.intern(r[3]),
            building=building,
            heartbeat_s=r[5],
            config=r[6] or empty,
            floor=r[7],
            room=sys.intern(r[8]) if r[8] else None,
        )


# A trigger (migration 0007) notifies a device's id here when its row is inserted or updated;
# the notification is delivered at commit.
CHANGES_CHANNEL = "fw_devices"


def listen_devices(conn: psycopg.Connection[Any]) -> None:
    """``conn`` (autocommit) receives the registry's change notifications from now on."""
    conn.execute(f"LISTEN {CHANGES_CHANNEL}")


def changed_devices(conn: psycopg.Connection[Any]) -> set[str]:
    """Ids notified since the last call, without waiting."""
    return {n.payload for n in conn.notifies(timeout=0) if n.channel == CHANGES_CHANNEL}


class DeviceExists(Exception):
    """A device with this id is already registered."""


# What the API shows of a device: its registry row, plus whether it is heard from. Online is
# the control centre's own rule (store/device_states.py), at %(now)s.
_READ = f"""
SELECT d.id, d.kind, d.site, d.name, d.building, d.floor, d.room, d.lat, d.lon, d.zone,
       d.status, d.status_reason, d.maintenance_until, d.status_changed_at, d.heartbeat_s,
       d.config, d.replaces, d.replaced_by, d.created_at, d.updated_at,
       s.last_received_at AS last_seen_at, NOT {SILENT} AS online
FROM devices d LEFT JOIN device_status s ON s.device_id = d.id
"""

SORTABLE = ("id", "kind", "status", "site", "building", "zone", "name", "created_at", "updated_at")


@dataclass(kw_only=True, frozen=True, slots=True)
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


def _where(f: DeviceFilter) -> tuple[str, dict[str, Any]]:
    """A WHERE clause and its named parameters (``now`` included, for the online filter)."""
    clauses: list[str] = []
    params: dict[str, Any] = {"now": datetime.now(UTC)}
    for column in ("kind", "status", "site", "building", "zone"):
        value = getattr(f, column)
        if value is not None:
            clauses.append(f"d.{column} = %({column})s")
            params[column] = value
    if f.online is not None:
        clauses.append(f"(NOT {SILENT}) = %(online)s")
        params["online"] = f.online
    if f.text:
        params["text"] = f"%{_escape_like(f.text)}%"
        clauses.append(
            "(d.id ILIKE %(text)s OR d.name ILIKE %(text)s OR d.room ILIKE %(text)s"
            " OR d.building ILIKE %(text)s)"
        )
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
            " LIMIT %(limit)s OFFSET %(offset)s",
            {**params, "limit": limit, "offset": offset},
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
        await cur.execute(
            f"{_READ} WHERE d.id = %(id)s", {"id": device_id, "now": datetime.now(UTC)}
        )
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
    await delete_pending(conn, [str(fields["id"])])
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
    conn: psycopg.AsyncConnection[Any], ids: Iterable[str], *, fields: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """id -> ``fields`` and status of those of ``ids`` that are registered, locked for update
    in id order (two imports of the same devices wait for each other instead of deadlocking)."""
    columns = ", ".join(dict.fromkeys([*fields, "id", "status"]))
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {columns} FROM devices WHERE id = ANY(%s) ORDER BY id FOR UPDATE",
            (sorted(ids),),
        )
        return {r["id"]: r for r in await cur.fetchall()}
