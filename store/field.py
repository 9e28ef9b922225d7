"""What comes back from the field: the links grid workers hold, the steps they answer and the
photos they send, in the caller's transaction. ``dispatch.field_links`` checks a link's
signature; ``dispatch.field_answers`` judges an answer; this module reads and writes.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import dict_row

from store.deliveries import cancel_pending

# A link with its dispatch and incident, as a field request needs them.
_ACCESS = """
SELECT l.id AS link_id, l.dispatch_id, l.person_id, l.expires_at, l.revoked_at,
       n.name AS person_name, n.role AS person_role,
       d.incident_id, d.state,
       CASE WHEN d.state <> 'notifying' THEN d.person_id END AS answered_by,
       d.person_name AS answered_by_name, d.accepted_at, d.on_my_way_at,
       d.arrived_at, d.verdict_at, d.verdict, d.cause, d.note, d.closed_at, d.revoked_at
           AS dispatch_revoked_at,
       i.state AS incident_state
FROM field_links l
JOIN dispatches d ON d.id = l.dispatch_id
JOIN dispatch_notices n ON n.link_id = l.id
JOIN incidents i ON i.id = d.incident_id
WHERE l.id = %s
"""


async def link_key(conn: psycopg.AsyncConnection[Any]) -> str:
    """The database's own signing key (migration 0014)."""
    row = await (await conn.execute("SELECT secret FROM field_link_key")).fetchone()
    assert row is not None  # made by the migration
    return str(row[0])


async def link_access(
    conn: psycopg.AsyncConnection[Any], link_id: str, *, lock: bool = False
) -> dict[str, Any] | None:
    """The link, its dispatch (locked with ``lock``, for an answer) and its incident's state;
    None for a link this database never made."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_ACCESS + (" FOR UPDATE OF d" if lock else ""), (link_id,))
        return await cur.fetchone()


async def count_use(
    conn: psycopg.AsyncConnection[Any],
    link_id: str,
    *,
    use: Literal["views", "answers", "refusals"],
    now: datetime,
) -> None:
    await conn.execute(
        f"UPDATE field_links SET {use} = {use} + 1, last_used_at = %s WHERE id = %s",
        (now, link_id),
    )


async def record_answer(
    conn: psycopg.AsyncConnection[Any],
    *,
    access: dict[str, Any],
    step: str,
    state: str,
    stamp: str,
    verdict: str | None,
    cause: str | None,
    note: str | None,
    now: datetime,
) -> None:
    """The answer, and the (locked) dispatch moved to ``state`` with its ``stamp`` column set;
    a verdict closes the dispatch and cancels its deliveries not yet sent."""
    await conn.execute(
        "INSERT INTO field_answers (dispatch_id, link_id, person_id, step, verdict, cause, note,"
        " at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
        (
            access["dispatch_id"],
            access["link_id"],
            access["person_id"],
            step,
            verdict,
            cause,
            note,
            now,
        ),
    )
    closing = state == "done"
    await conn.execute(
        f"UPDATE dispatches SET state = %(state)s, {stamp} = %(now)s,"
        " person_id = %(person)s, person_name = %(name)s,"
        " verdict = coalesce(%(verdict)s, verdict), cause = coalesce(%(cause)s, cause),"
        " note = coalesce(%(note)s, note),"
        " closed_at = CASE WHEN %(closing)s THEN %(now)s END WHERE id = %(id)s",
        {
            "state": state,
            "now": now,
            "person": access["person_id"],
            "name": access["person_name"],
            "verdict": verdict,
            "cause": cause,
            "note": note,
            "closing": closing,
            "id": access["dispatch_id"],
        },
    )
    if closing:
        await cancel_pending(conn, dispatch_id=access["dispatch_id"], reason="dispatch answered")


async def add_photo(
    conn: psycopg.AsyncConnection[Any],
    *,
    access: dict[str, Any],
    content_type: str,
    data: bytes,
    max_photos: int,
    now: datetime,
) -> int | None:
    """The photo's id; None when its (locked) dispatch holds ``max_photos`` already."""
    cur = await conn.execute(
        "SELECT count(*) FROM field_photos WHERE dispatch_id = %s", (access["dispatch_id"],)
    )
    row = await cur.fetchone()
    assert row is not None
    if row[0] >= max_photos:
        return None
    cur = await conn.execute(
        "INSERT INTO field_photos (dispatch_id, link_id, person_id, content_type, size, data, at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s) RETURNING id",
        (
            access["dispatch_id"],
            access["link_id"],
            access["person_id"],
            content_type,
            len(data),
            data,
            now,
        ),
    )
    made = await cur.fetchone()
    assert made is not None
    return int(made[0])


async def photo(
    conn: psycopg.AsyncConnection[Any], *, dispatch_id: int, photo_id: int
) -> tuple[str, bytes] | None:
    """A photo's type and bytes, for the operator."""
    cur = await conn.execute(
        "SELECT content_type, data FROM field_photos WHERE id = %s AND dispatch_id = %s",
        (photo_id, dispatch_id),
    )
    row = await cur.fetchone()
    return None if row is None else (str(row[0]), bytes(row[1]))


# Dispatches of incidents resolved before the cutoff that still hold field data, oldest first.
_PRUNABLE = """
SELECT d.id FROM dispatches d JOIN incidents i ON i.id = d.incident_id
WHERE i.state = 'resolved' AND i.resolved_at < %s
  AND EXISTS (SELECT 1 FROM field_links l WHERE l.dispatch_id = d.id)
ORDER BY i.resolved_at, d.id LIMIT %s
"""


async def prune_field_data(
    conn: psycopg.AsyncConnection[Any], *, before: datetime, limit: int
) -> int:
    """For up to ``limit`` dispatches of incidents resolved before ``before``, deletes what
    the field sent and what reached it: photos, answers, notices and links (the dispatch row
    itself stays, with its times and verdict, for the monthly report). Returns how many
    dispatches were pruned."""
    cur = await conn.execute(_PRUNABLE, (before, limit))
    ids = [row[0] for row in await cur.fetchall()]
    if ids:
        for table in ("field_photos", "field_answers", "dispatch_notices", "field_links"):
            await conn.execute(f"DELETE FROM {table} WHERE dispatch_id = ANY(%s)", (ids,))
    return len(ids)


async def photo_count(conn: psycopg.AsyncConnection[Any], dispatch_id: int) -> int:
    cur = await conn.execute(
        "SELECT count(*) FROM field_photos WHERE dispatch_id = %s", (dispatch_id,)
    )
    row = await cur.fetchone()
    assert row is not None
    return int(row[0])
