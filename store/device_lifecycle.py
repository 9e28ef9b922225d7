"""A device's lifecycle: which status may follow which, and the automatic end of maintenance.

registered -> commissioning -> active -> maintenance (until a time, with a reason) -> back to
the status it left (commissioning or active); any of them -> decommissioned, which is final:
the id keeps its history and ingest rejects its messages. A new device at the same place is a
new id (see replacement).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from store.audit import Actor, record

STATUSES = ("registered", "commissioning", "active", "maintenance", "decommissioned")
INITIAL_STATUSES = ("registered", "commissioning", "active")

TRANSITIONS: dict[str, frozenset[str]] = {
    "registered": frozenset({"commissioning", "active", "decommissioned"}),
    "commissioning": frozenset({"active", "maintenance", "decommissioned"}),
    "active": frozenset({"commissioning", "maintenance", "decommissioned"}),
    # maintenance -> maintenance extends or shortens the window.
    "maintenance": frozenset({"maintenance", "active", "commissioning", "decommissioned"}),
    "decommissioned": frozenset(),
}


class UnknownDevice(LookupError):
    """No device has this id."""


class IllegalTransition(Exception):
    """The lifecycle does not allow this step; the message says what would."""


def why_not(current: str, wanted: str) -> str | None:
    """None when ``current -> wanted`` is a lifecycle step, else the reason and what to do."""
    if wanted in TRANSITIONS[current]:
        return None
    if current == "decommissioned":
        return "the device is decommissioned, which is final; register the hardware under a new id"
    if current == wanted:
        return f"the device is already {wanted}"
    if wanted == "registered":
        return "a device never goes back to 'registered'; use 'commissioning' to test it again"
    allowed = ", ".join(sorted(TRANSITIONS[current]))
    return f"'{current}' may go to {allowed}, not to '{wanted}'"


async def change_status(
    conn: psycopg.AsyncConnection[Any],
    device_id: str,
    wanted: str,
    *,
    actor: Actor,
    reason: str | None = None,
    until: datetime | None = None,
    replaced_by: str | None = None,
) -> str:
    """Moves the device, audited; returns the status it left. ``until`` only for maintenance."""
    cur = await conn.execute("SELECT status FROM devices WHERE id = %s FOR UPDATE", (device_id,))
    row = await cur.fetchone()
    if row is None:
        raise UnknownDevice(device_id)
    current = str(row[0])
    refusal = why_not(current, wanted)
    if refusal is not None:
        raise IllegalTransition(refusal)
    # Extending maintenance keeps the status it will return to.
    resume = current if current != "maintenance" else None
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
            "until": until if wanted == "maintenance" else None,
            "resume": resume,
            "replaced_by": replaced_by,
            "id": device_id,
        },
    )
    detail: dict[str, Any] = {"from": current, "to": wanted, "reason": reason}
    if wanted == "maintenance" and until is not None:
        detail["until"] = until.isoformat()
    if replaced_by is not None:
        detail["replaced_by"] = replaced_by
    await record(
        conn, actor, subject_type="device", subject_id=device_id, action="status", detail=detail
    )
    return current


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
