"""People of the safety grid, the channels that reach them, zones' rosters of shifts and their
supervisor chains (issue 17). Rows as they are stored; ``dispatch`` checks and orders them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import time
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

_PERSON = """
SELECT p.id, p.name, p.phone, p.role, p.active, p.created_at, p.updated_at,
       ARRAY(SELECT pc.channel_id FROM person_channels pc WHERE pc.person_id = p.id
             ORDER BY pc.position) AS channels,
       ARRAY(SELECT DISTINCT s.zone FROM roster_shifts s WHERE s.person_id = p.id
             ORDER BY s.zone) AS rosters,
       ARRAY(SELECT z.zone FROM zone_supervisors z WHERE z.person_id = p.id
             ORDER BY z.zone) AS supervises
FROM people p
"""


async def list_people(
    conn: psycopg.AsyncConnection[Any],
    *,
    role: str | None,
    active: bool | None,
    zone: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """By id, with the total over all pages; ``zone``: on its roster or its supervisor chain."""
    where = [
        "(%(role)s::text IS NULL OR p.role = %(role)s)",
        "(%(active)s::boolean IS NULL OR p.active = %(active)s)",
        "(%(zone)s::text IS NULL"
        " OR EXISTS (SELECT 1 FROM roster_shifts s WHERE s.person_id = p.id AND s.zone = %(zone)s)"
        " OR EXISTS (SELECT 1 FROM zone_supervisors z"
        "            WHERE z.person_id = p.id AND z.zone = %(zone)s))",
    ]
    params = {"role": role, "active": active, "zone": zone, "limit": limit, "offset": offset}
    condition = " AND ".join(where)
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_PERSON} WHERE {condition} ORDER BY p.id LIMIT %(limit)s OFFSET %(offset)s", params
        )
        rows = await cur.fetchall()
        await cur.execute(f"SELECT count(*) AS n FROM people p WHERE {condition}", params)
        total = await cur.fetchone()
    assert total is not None
    return rows, int(total["n"])


async def get_person(
    conn: psycopg.AsyncConnection[Any], person_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_PERSON} WHERE p.id = %s {'FOR UPDATE OF p' if lock else ''}", (person_id,)
        )
        return await cur.fetchone()


async def put_person(
    conn: psycopg.AsyncConnection[Any],
    person_id: str,
    *,
    fields: dict[str, Any],
    channels: Sequence[str],
) -> None:
    """Creates or replaces the person and their channels, in the order given."""
    await conn.execute(
        "INSERT INTO people (id, name, phone, role, active) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET name = excluded.name, phone = excluded.phone,"
        " role = excluded.role, active = excluded.active, updated_at = now()",
        (person_id, fields["name"], fields["phone"], fields["role"], fields["active"]),
    )
    await conn.execute("DELETE FROM person_channels WHERE person_id = %s", (person_id,))
    await conn.execute(
        "INSERT INTO person_channels (person_id, channel_id, position)"
        " SELECT %s, c.id, c.n FROM unnest(%s::text[]) WITH ORDINALITY AS c(id, n)",
        (person_id, list(channels)),
    )


class StillReferenced(Exception):
    """A roster, chain or person named the row when it was to be deleted (one written since
    the caller looked)."""


async def _delete(conn: psycopg.AsyncConnection[Any], table: str, row_id: str) -> None:
    try:
        async with conn.transaction():  # a savepoint: the caller's transaction stays usable
            await conn.execute(f"DELETE FROM {table} WHERE id = %s", (row_id,))
    except psycopg.errors.ForeignKeyViolation:
        raise StillReferenced(row_id) from None


async def delete_person(conn: psycopg.AsyncConnection[Any], person_id: str) -> None:
    await _delete(conn, "people", person_id)


@dataclass(frozen=True, slots=True)
class PersonRef:
    role: str
    active: bool


async def share_people(
    conn: psycopg.AsyncConnection[Any], ids: Iterable[str]
) -> dict[str, PersonRef]:
    """The people among ``ids`` that exist, locked against a change or a delete until the
    caller's transaction ends (a roster is never left naming someone gone)."""
    cur = await conn.execute(
        "SELECT id, role, active FROM people WHERE id = ANY(%s) ORDER BY id FOR SHARE",
        (sorted(set(ids)),),
    )
    return {str(r[0]): PersonRef(str(r[1]), bool(r[2])) for r in await cur.fetchall()}


_CHANNEL = """
SELECT c.id, c.kind, c.name, c.zone, c.config, c.created_at, c.updated_at,
       ARRAY(SELECT pc.person_id FROM person_channels pc WHERE pc.channel_id = c.id
             ORDER BY pc.person_id) AS people
FROM channels c
"""


async def list_channels(
    conn: psycopg.AsyncConnection[Any], *, zone: str | None, kind: str | None
) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_CHANNEL} WHERE (%(zone)s::text IS NULL OR c.zone = %(zone)s)"
            " AND (%(kind)s::text IS NULL OR c.kind = %(kind)s) ORDER BY c.id",
            {"zone": zone, "kind": kind},
        )
        return await cur.fetchall()


async def get_channel(
    conn: psycopg.AsyncConnection[Any], channel_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_CHANNEL} WHERE c.id = %s {'FOR UPDATE OF c' if lock else ''}", (channel_id,)
        )
        return await cur.fetchone()


async def put_channel(
    conn: psycopg.AsyncConnection[Any], channel_id: str, fields: dict[str, Any]
) -> None:
    await conn.execute(
        "INSERT INTO channels (id, kind, name, zone, config) VALUES (%s, %s, %s, %s, %s)"
        " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, name = excluded.name,"
        " zone = excluded.zone, config = excluded.config, updated_at = now()",
        (channel_id, fields["kind"], fields["name"], fields["zone"], Jsonb(fields["config"])),
    )


async def delete_channel(conn: psycopg.AsyncConnection[Any], channel_id: str) -> None:
    await _delete(conn, "channels", channel_id)


async def share_channels(conn: psycopg.AsyncConnection[Any], ids: Iterable[str]) -> set[str]:
    """The channels among ``ids`` that exist, locked against a delete until the caller's
    transaction ends."""
    cur = await conn.execute(
        "SELECT id FROM channels WHERE id = ANY(%s) ORDER BY id FOR SHARE", (sorted(set(ids)),)
    )
    return {str(r[0]) for r in await cur.fetchall()}


async def zone_known(conn: psycopg.AsyncConnection[Any], zone: str) -> bool:
    """A zone with a record, a building in it, or a roster."""
    cur = await conn.execute(
        "SELECT EXISTS (SELECT 1 FROM zones WHERE id = %(z)s)"
        " OR EXISTS (SELECT 1 FROM buildings WHERE zone = %(z)s)"
        " OR EXISTS (SELECT 1 FROM roster_shifts WHERE zone = %(z)s)"
        " OR EXISTS (SELECT 1 FROM zone_supervisors WHERE zone = %(z)s)",
        {"z": zone},
    )
    row = await cur.fetchone()
    return bool(row and row[0])


async def lock_roster(conn: psycopg.AsyncConnection[Any], zone: str) -> None:
    """Writers of one zone's roster or chain take turns until their transactions end."""
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtextextended('firewatch.roster:' || %s, 0))", (zone,)
    )


_SHIFT = """
SELECT s.person_id AS person, p.name, p.active, s.position, s.weekdays,
       s.starts AS start, s.ends AS end
FROM roster_shifts s JOIN people p ON p.id = s.person_id
"""


async def shifts_of(conn: psycopg.AsyncConnection[Any], zone: str) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"{_SHIFT} WHERE s.zone = %s ORDER BY s.position, s.person_id, s.starts, s.id",
            (zone,),
        )
        return await cur.fetchall()


@dataclass(frozen=True, slots=True, kw_only=True)
class ShiftRow:
    person: str
    position: int
    weekdays: Sequence[int]
    start: time
    end: time


async def replace_shifts(
    conn: psycopg.AsyncConnection[Any], zone: str, shifts: Sequence[ShiftRow]
) -> None:
    await conn.execute("DELETE FROM roster_shifts WHERE zone = %s", (zone,))
    async with conn.cursor() as cur:
        await cur.executemany(
            "INSERT INTO roster_shifts (zone, person_id, position, weekdays, starts, ends)"
            " VALUES (%s, %s, %s, %s::smallint[], %s, %s)",
            [(zone, s.person, s.position, list(s.weekdays), s.start, s.end) for s in shifts],
        )


async def supervisors_of(conn: psycopg.AsyncConnection[Any], zone: str) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT z.level, z.person_id AS person, p.name, p.phone, p.active"
            " FROM zone_supervisors z JOIN people p ON p.id = z.person_id"
            " WHERE z.zone = %s ORDER BY z.level",
            (zone,),
        )
        return await cur.fetchall()


async def replace_supervisors(
    conn: psycopg.AsyncConnection[Any], zone: str, people: Sequence[str]
) -> None:
    """``people`` become levels 1, 2, ... in the order given."""
    await conn.execute("DELETE FROM zone_supervisors WHERE zone = %s", (zone,))
    await conn.execute(
        "INSERT INTO zone_supervisors (zone, level, person_id)"
        " SELECT %s, s.n, s.id FROM unnest(%s::text[]) WITH ORDINALITY AS s(id, n)",
        (zone, list(people)),
    )


async def on_call_rows(
    conn: psycopg.AsyncConnection[Any], zone: str
) -> tuple[list[dict[str, Any]], list[str]]:
    """The zone's shifts and its supervisor chain (by level), of active people only."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT s.person_id, s.position, s.weekdays, s.starts, s.ends"
            " FROM roster_shifts s JOIN people p ON p.id = s.person_id AND p.active"
            " WHERE s.zone = %s",
            (zone,),
        )
        shifts = await cur.fetchall()
    cur2 = await conn.execute(
        "SELECT z.person_id FROM zone_supervisors z"
        " JOIN people p ON p.id = z.person_id AND p.active WHERE z.zone = %s ORDER BY z.level",
        (zone,),
    )
    return shifts, [str(r[0]) for r in await cur2.fetchall()]


async def contact_rows(
    conn: psycopg.AsyncConnection[Any], *, zone: str, people: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Each person with the channels that serve ``zone`` (its own or site-wide), in order."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT p.id, p.name, p.phone, p.role,"
            " coalesce(jsonb_agg(jsonb_build_object('id', c.id, 'kind', c.kind,"
            "                    'name', c.name, 'config', c.config) ORDER BY pc.position)"
            "          FILTER (WHERE c.id IS NOT NULL), '[]'::jsonb) AS channels"
            " FROM people p"
            " LEFT JOIN person_channels pc ON pc.person_id = p.id"
            " LEFT JOIN channels c ON c.id = pc.channel_id"
            "      AND (c.zone IS NULL OR c.zone = %s)"
            " WHERE p.id = ANY(%s) GROUP BY p.id",
            (zone, list(people)),
        )
        return {str(r["id"]): r for r in await cur.fetchall()}


async def zone_of_building(conn: psycopg.AsyncConnection[Any], building: str) -> str | None:
    cur = await conn.execute("SELECT zone FROM buildings WHERE id = %s", (building,))
    row = await cur.fetchone()
    return None if row is None or row[0] is None else str(row[0])
