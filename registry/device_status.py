"""Moving a device along its lifecycle: the row locked, the step checked against
``registry.lifecycle``, written and audited, in the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg

from registry.lifecycle import IllegalTransition, resume_status, why_not
from store.audit import Actor
from store.device_lifecycle import locked_status, set_status


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
    """Moves the device, audited; returns the status it left. ``until`` only for maintenance.
    Raises UnknownDevice (``store.device_lifecycle``) or IllegalTransition."""
    current = await locked_status(conn, device_id)
    refusal = why_not(current, wanted)
    if refusal is not None:
        raise IllegalTransition(refusal)
    await set_status(
        conn,
        device_id,
        wanted=wanted,
        left=current,
        resume=resume_status(current),
        actor=actor,
        reason=reason,
        until=until if wanted == "maintenance" else None,
        replaced_by=replaced_by,
    )
    return current
