"""The registry in bulk: an import's upserts in one statement per table, and the export.

Unchanged rows are left alone (no new ``updated_at``), so re-importing the same file costs
ingest nothing and the audit log records only what changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

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


def _upsert_sql(table: str, names: Sequence[str], types: Sequence[str], *, fixed: str) -> str:
    """``fixed``: columns set on insert only (a new device's status: its parameter comes first)."""
    unnest = ", ".join(f"%s::{t}[]" for t in types)
    changeable = [n for n in names if n not in ("id", "kind")]
    assignments = ", ".join(f"{n} = excluded.{n}" for n in changeable)
    old = ", ".join(f"t.{n}" for n in changeable)
    new = ", ".join(f"excluded.{n}" for n in changeable)
    extra_columns = f", {fixed}" if fixed else ""
    extra_values = ", %s::text, now()" if fixed else ""
    return (
        f"INSERT INTO {table} AS t ({', '.join(names)}{extra_columns})"
        f" SELECT u.*{extra_values} FROM unnest({unnest}) AS u({', '.join(names)})"
        f" ON CONFLICT (id) DO UPDATE SET {assignments}, updated_at = now()"
        f" WHERE ({old}) IS DISTINCT FROM ({new})"
        " RETURNING t.id, (xmax = 0) AS created"
    )


_DEVICES_UPSERT = _upsert_sql(
    "devices", DEVICE_FIELDS, _DEVICE_TYPES, fixed="status, status_changed_at"
)
_BUILDINGS_UPSERT = _upsert_sql("buildings", BUILDING_FIELDS, _BUILDING_TYPES, fixed="")
_ZONES_UPSERT = _upsert_sql("zones", ZONE_FIELDS, ("text",) * 4, fixed="")


async def _run(conn: psycopg.AsyncConnection[Any], query: str, params: list[Any]) -> Upserted:
    result = Upserted()
    cur = await conn.execute(query, params)
    for device_id, created in await cur.fetchall():
        (result.created if created else result.updated).append(str(device_id))
    return result


async def upsert_devices_bulk(
    conn: psycopg.AsyncConnection[Any], rows: Sequence[dict[str, Any]], *, status: str
) -> Upserted:
    """Rows carry DEVICE_FIELDS; ``status`` is for new devices only (the lifecycle moves the
    others). A kind never changes here: the import refuses such rows before."""
    if not rows:
        return Upserted()
    result = await _run(conn, _DEVICES_UPSERT, [status, *_columns(rows, DEVICE_FIELDS)])
    if result.created:
        await conn.execute(
            "DELETE FROM pending_devices WHERE device_id = ANY(%s)", (result.created,)
        )
    return result


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
