"""The registry in bulk: an import's writes in one statement per table, and the export.

Unchanged rows are left alone (no new ``updated_at``), so re-importing the same file costs
ingest nothing and the audit log records only what changed. Devices are inserted and updated
separately: an update sets only the fields the file changes, so a partial file never wipes the
others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from store.pending import delete_pending

DEVICE_FIELDS = (
    "id",
    "kind",
    "site",
    "name",
    "building",
    "floor",
    "room",
    "lat",
    "lon",
    "zone",
    "heartbeat_s",
    "config",
)
BUILDING_FIELDS = ("id", "name", "address", "lat", "lon", "zone", "rented", "footprint")
ZONE_FIELDS = ("id", "name", "contact_name", "contact_phone")

_DEVICE_TYPES = (
    "text",
    "text",
    "text",
    "text",
    "text",
    "int4",
    "text",
    "float8",
    "float8",
    "text",
    "int4",
    "jsonb",
)
_BUILDING_TYPES = ("text", "text", "text", "float8", "float8", "text", "bool", "jsonb")


@dataclass(frozen=True, slots=True)
class DeviceFieldChanges:
    """A registered device (its kind and site as the import saw them) and its new values."""

    id: str
    kind: str
    site: str
    fields: dict[str, Any]


@dataclass(slots=True)
class Upserted:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)


def _columns(rows: Sequence[dict[str, Any]], names: Sequence[str]) -> list[list[Any]]:
    """Column arrays for unnest; JSON columns wrapped for psycopg."""
    json = {"config", "footprint"}
    return [
        [
            (Jsonb(r.get(n)) if r.get(n) is not None else None) if n in json else r.get(n)
            for r in rows
        ]
        for n in names
    ]


def _unnest(types: Sequence[str]) -> str:
    return ", ".join(f"%s::{t}[]" for t in types)


def _upsert_sql(table: str, names: Sequence[str], types: Sequence[str]) -> str:
    changeable = [n for n in names if n != "id"]
    assignments = ", ".join(f"{n} = excluded.{n}" for n in changeable)
    old = ", ".join(f"t.{n}" for n in changeable)
    new = ", ".join(f"excluded.{n}" for n in changeable)
    return (
        f"INSERT INTO {table} AS t ({', '.join(names)})"
        f" SELECT * FROM unnest({_unnest(types)}) AS u({', '.join(names)})"
        f" ON CONFLICT (id) DO UPDATE SET {assignments}, updated_at = now()"
        f" WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING t.id, (xmax = 0) AS created"
    )


# A new device; an id registered meanwhile (POST /devices does not wait for an import) is
# skipped, and the import reports it.
_DEVICES_INSERT = (
    f"INSERT INTO devices ({', '.join(DEVICE_FIELDS)}, status, status_changed_at)"
    f" SELECT u.*, %s::text, now() FROM unnest({_unnest(_DEVICE_TYPES)})"
    f" AS u({', '.join(DEVICE_FIELDS)})"
    " ON CONFLICT (id) DO NOTHING RETURNING id"
)
# Each changeable column with a flag: set only where the file changes it. A row whose kind or
# site differs, or that is decommissioned, is not updated (the import checked this under a
# lock; this holds even if that check is ever bypassed) and the import reports it.
_CHANGEABLE = [
    (n, t)
    for n, t in zip(DEVICE_FIELDS, _DEVICE_TYPES, strict=True)
    if n not in ("id", "kind", "site")
]
_DEVICES_UPDATE = (
    "UPDATE devices AS t SET "
    + ", ".join(f"{n} = CASE WHEN u.has_{n} THEN u.{n} ELSE t.{n} END" for n, _ in _CHANGEABLE)
    + ", updated_at = now()"
    f" FROM unnest({_unnest(['text', 'text', 'text', *(t for _, t in _CHANGEABLE)])},"
    f" {_unnest(['bool'] * len(_CHANGEABLE))})"
    f" AS u(id, kind, site, {', '.join(n for n, _ in _CHANGEABLE)},"
    f" {', '.join(f'has_{n}' for n, _ in _CHANGEABLE)})"
    " WHERE t.id = u.id AND t.kind = u.kind AND t.site = u.site"
    " AND t.status <> 'decommissioned'"
    " RETURNING t.id"
)


_BUILDINGS_UPSERT = _upsert_sql("buildings", BUILDING_FIELDS, _BUILDING_TYPES)
_ZONES_UPSERT = _upsert_sql("zones", ZONE_FIELDS, ("text",) * 4)


async def lock_registry_import(conn: psycopg.AsyncConnection[Any]) -> None:
    """Held until the caller's transaction ends: imports take turns."""
    await conn.execute("SELECT pg_advisory_xact_lock(hashtext('firewatch.registry_import'))")


async def _run(conn: psycopg.AsyncConnection[Any], query: str, params: list[Any]) -> Upserted:
    result = Upserted()
    cur = await conn.execute(query, params)
    for device_id, created in await cur.fetchall():
        (result.created if created else result.updated).append(str(device_id))
    return result


async def insert_devices_bulk(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]], *, status: str
) -> list[str]:
    """New devices (rows carry every DEVICE_FIELD), starting as ``status``; returns the ids
    inserted, which lack any id registered meanwhile."""
    if not rows:
        return []
    cur = await conn.execute(_DEVICES_INSERT, [status, *_columns(rows, DEVICE_FIELDS)])
    created = [str(r[0]) for r in await cur.fetchall()]
    if created:
        await delete_pending(conn, created)
    return created


async def update_devices_bulk(
    conn: psycopg.AsyncConnection[Any], changes: Sequence[DeviceFieldChanges]
) -> list[str]:
    """Sets only the given fields of each device; returns the ids updated, which lack any whose
    kind or site differs or that is decommissioned."""
    if not changes:
        return []
    names = [n for n, _ in _CHANGEABLE]
    keys = [(c.id, c.kind, c.site) for c in changes]
    values = _columns([c.fields for c in changes], names)
    flags = [[n in c.fields for c in changes] for n in names]
    cur = await conn.execute(
        _DEVICES_UPDATE,
        [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys], *values, *flags],
    )
    return [str(r[0]) for r in await cur.fetchall()]


async def upsert_buildings_bulk(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]]
) -> Upserted:
    if not rows:
        return Upserted()
    return await _run(conn, _BUILDINGS_UPSERT, _columns(rows, BUILDING_FIELDS))


async def upsert_zones_bulk(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]]
) -> Upserted:
    if not rows:
        return Upserted()
    return await _run(conn, _ZONES_UPSERT, _columns(rows, ZONE_FIELDS))


async def export_registry(conn: psycopg.AsyncConnection[Any]) -> dict[str, list[dict[str, Any]]]:
    """Zones, buildings and every device not decommissioned, in the import's fields."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {', '.join(ZONE_FIELDS)} FROM zones ORDER BY id")
        zones = await cur.fetchall()
        await cur.execute(f"SELECT {', '.join(BUILDING_FIELDS)} FROM buildings ORDER BY id")
        buildings = await cur.fetchall()
        await cur.execute(
            f"SELECT {', '.join(DEVICE_FIELDS)} FROM devices"
            " WHERE status <> 'decommissioned' ORDER BY id"
        )
        devices = await cur.fetchall()
    return {"zones": zones, "buildings": buildings, "devices": devices}
