"""Device status rows: the lifecycle's writes (the steps themselves are ``registry.lifecycle``'s)
and the automatic end of maintenance."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from store.audit import Actor, record


class UnknownDevice(LookupError):
    """No device has this id."""


async def locked_status(conn: psycopg.AsyncConnection[Any], device_id: str) -> str:
    """The device's status, its row locked until the transaction ends."""
    cur = await conn.execute("SELECT status FROM devices WHERE id = %s FOR UPDATE", (device_id,))
    row = await cur.fetchone()
    if row is None:
        raise UnknownDevice(device_id)
    return str(row[0])


async def set_status(
    conn: psycopg.AsyncConnection[Any],
    device_id: str,
    *,
    wanted: str,
    left: str,
    resume: str | None,
    actor: Actor,
    reason: str | None,
    until: datetime | None,
    replaced_by: str | None,
) -> None:
    """Writes the step from ``left`` to ``wanted`` and its audit entry; ``resume`` is the status
    maintenance ends in (None: keep the recorded one)."""
    await conn.execute(
        "UPDATE devices SET status = %(wanted)s, status_reason = %(reason)s,"
        " maintenance_until = %(until)s,"
        " resume_status = CASE WHEN %(wanted)s <> 'maintenance' THEN NULL"
        "   ELSE coalesce(%(resume)s, resume_status) END,"
        " replaced_by = coalesce(%(replaced_by)s, replaced_by), status_changed_at = now(),"
        " updated_at = now() WHERE id = %(id)s",
        {
            "wanted": wanted,
            "reason": reason,
            "until": until,
            "resume": resume,
            "replaced_by": replaced_by,
            "id": device_id,
        },
    )
    detail: dict[str, Any] = {"from": left, "to": wanted, "reason": reason}
    if until is not None:
        detail["until"] = until.isoformat()
    if replaced_by is not None:
        detail["replaced_by"] = replaced_by
    await record(
        conn, actor, subject_type="device", subject_id=device_id, action="status", detail=detail
    )


# SKIP LOCKED: the ingest tick never waits for a technician's open transaction; a row it
# skips ends a second later.
_END_DUE = """
WITH due AS (
    SELECT id, maintenance_until, coalesce(resume_status, 'active') AS resume FROM devices
    WHERE status = 'maintenance' AND maintenance_until <= %(now)s
    ORDER BY id FOR UPDATE SKIP LOCKED
), ended AS (
    UPDATE devices d SET status = due.resume, status_reason = NULL, maintenance_until = NULL,
                         resume_status = NULL, status_changed_at = now(), updated_at = now()
    FROM due WHERE d.id = due.id
    RETURNING d.id, due.maintenance_until, due.resume
)
INSERT INTO audit_log (actor, subject_type, subject_id, action, detail)
SELECT 'system', 'device', id, 'status',
       jsonb_build_object('from', 'maintenance', 'to', resume,
                          'reason', 'maintenance window ended', 'until', maintenance_until)
FROM ended
RETURNING subject_id
"""


def end_due_maintenance(conn: psycopg.Connection[Any], *, now: datetime) -> list[str]:
    """Devices whose maintenance window has passed go back to the status they left
    (commissioning or active); returns their ids.
    Called by ingest's one-second tick, in its transaction."""
    return [str(r[0]) for r in conn.execute(_END_DUE, {"now": now}).fetchall()]
