"""Buildings and the street's safety-grid zones, with each zone's responsible contact."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb


class BuildingExists(Exception):
    """A building with this id exists already."""


class InUse(Exception):
    """Something still refers to it; the message says what."""


_BUILDING = """
SELECT b.id, b.name, b.address, b.lat, b.lon, b.zone, b.rented, b.footprint, b.created_at,
       b.updated_at,
       (SELECT count(*) FROM devices d
        WHERE d.building = b.id AND d.status <> 'decommissioned') AS device_count
FROM buildings b
"""


def _json(fields: dict[str, Any]) -> list[Any]:
    return [Jsonb(v) if k == "footprint" and v is not None else v for k, v in fields.items()]


async def list_buildings(
    conn: psycopg.AsyncConnection[Any], *, zone: str | None, limit: int, offset: int
) -> tuple[list[dict[str, Any]], int]:
    where, params = ("WHERE b.zone = %s", [zone]) if zone is not None else ("", [])
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_BUILDING} {where} ORDER BY b.id LIMIT %s OFFSET %s", [*params, limit, offset]
        )
        rows = await cur.fetchall()
        await cur.execute(f"SELECT count(*) AS n FROM buildings b {where}", params)
        total = await cur.fetchone()
    assert total is not None
    return rows, int(total["n"])


async def get_building(
    conn: psycopg.AsyncConnection[Any], building_id: str
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_BUILDING} WHERE b.id = %s", (building_id,))
        return await cur.fetchone()


async def create_building(
    conn: psycopg.AsyncConnection[Any], fields: dict[str, Any]
) -> dict[str, Any]:
    columns = ", ".join(fields)
    placeholders = ", ".join(["%s"] * len(fields))
    try:
        async with conn.transaction():
            await conn.execute(
                f"INSERT INTO buildings ({columns}) VALUES ({placeholders})", _json(fields)
            )
    except psycopg.errors.UniqueViolation:
        raise BuildingExists(str(fields["id"])) from None
    row = await get_building(conn, str(fields["id"]))
    assert row is not None
    return row


async def update_building(
    conn: psycopg.AsyncConnection[Any], building_id: str, fields: dict[str, Any]
) -> dict[str, Any] | None:
    if fields:
        assignments = ", ".join(f"{c} = %s" for c in fields)
        await conn.execute(
            f"UPDATE buildings SET {assignments}, updated_at = now() WHERE id = %s",
            [*_json(fields), building_id],
        )
    return await get_building(conn, building_id)


async def delete_building(conn: psycopg.AsyncConnection[Any], building_id: str) -> bool:
    """False when there was no such building; InUse while devices are in it or watch it."""
    watches = "(config->'covers' ? %(id)s OR config->'presets' @> %(shown)s)"
    cur = await conn.execute(
        "SELECT count(*) FILTER (WHERE building = %(id)s),"
        f" count(*) FILTER (WHERE {watches})"
        " FROM devices WHERE status <> 'decommissioned'"
        f" AND (building = %(id)s OR {watches})",
        {"id": building_id, "shown": Jsonb([{"buildings": [building_id]}])},
    )
    row = await cur.fetchone()
    assert row is not None
    inside, watching = int(row[0]), int(row[1])
    if inside or watching:
        raise InUse(
            f"{inside} device(s) are in building {building_id!r} and {watching} camera(s) "
            "cover it or show it in a preset; move, replace or decommission them first"
        )
    cur = await conn.execute("DELETE FROM buildings WHERE id = %s", (building_id,))
    return cur.rowcount > 0


async def known_buildings(conn: psycopg.AsyncConnection[Any], ids: Iterable[str]) -> set[str]:
    cur = await conn.execute("SELECT id FROM buildings WHERE id = ANY(%s)", (list(ids),))
    return {str(r[0]) for r in await cur.fetchall()}


_ZONE = """
SELECT z.id, z.name, z.contact_name, z.contact_phone, z.created_at, z.updated_at,
       (SELECT count(*) FROM buildings b WHERE b.zone = z.id) AS building_count
FROM zones z
"""


async def list_zones(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_ZONE} ORDER BY z.id")
        return await cur.fetchall()


async def get_zone(conn: psycopg.AsyncConnection[Any], zone_id: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_ZONE} WHERE z.id = %s", (zone_id,))
        return await cur.fetchone()


async def put_zone(
    conn: psycopg.AsyncConnection[Any], zone_id: str, fields: dict[str, Any]
) -> tuple[dict[str, Any], bool]:
    """Creates or replaces the zone; True when it was created."""
    cur = await conn.execute(
        "INSERT INTO zones (id, name, contact_name, contact_phone) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
        " contact_name = excluded.contact_name, contact_phone = excluded.contact_phone,"
        " updated_at = now() RETURNING (xmax = 0)",
        (zone_id, fields.get("name"), fields.get("contact_name"), fields.get("contact_phone")),
    )
    created = await cur.fetchone()
    row = await get_zone(conn, zone_id)
    assert row is not None and created is not None
    return row, bool(created[0])


async def delete_zone(conn: psycopg.AsyncConnection[Any], zone_id: str) -> bool:
    cur = await conn.execute("DELETE FROM zones WHERE id = %s", (zone_id,))
    return cur.rowcount > 0
