"""An incident brought up to date after a person's action, on it or on one of its alerts, in
the action's (async) transaction: ``store.incidents.refresh`` for the API, sharing its SQL and
its judgement. The engine's carry-over of an acknowledgement has no place here: a person's
action opens no signal and moves none up.

Its own module so that ``store.alert_actions`` (one alert) and ``store.incident_actions`` (the
cascade, which writes through ``alert_actions``) both use it without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import psycopg

from alerts.incidents import view
from alerts.lifecycle import Action, Cause, State
from store.incidents import (
    LOCKED,
    LOG,
    MEMBERS,
    UPDATE,
    IncidentChange,
    before_of,
    outcome,
    signals_of,
)
from store.notify import NOTIFY

if TYPE_CHECKING:  # alert_actions imports this module
    from store.alert_actions import OperatorAction

# What the incident records of the action that brought it into the action's own state: who
# acknowledged it, how long it is shelved (the timers and a signal joining later read it), who
# resolved it and why. Applied after ``UPDATE``, which fills in the engine's defaults.
_RECORD: dict[Action, tuple[State, str]] = {
    Action.ACK: (State.ACTIVE_ACK, "acked_at = now(), acked_by = %(actor)s"),
    Action.SHELVE: (State.SHELVED, "shelved_until = %(until)s, shelve_reason = %(reason)s"),
    Action.RESOLVE: (
        State.RESOLVED,
        "resolved_by = %(actor)s, cause = %(cause)s, resolution_note = %(note)s",
    ),
}


async def follow(
    cur: psycopg.AsyncCursor[dict[str, Any]],
    incident_id: int,
    act: OperatorAction,
    *,
    now: datetime,
    window_s: float,
    logged: Mapping[str, Any] | None = None,
) -> IncidentChange | None:
    """Locks the incident (its alerts are locked already), sets its state, class and
    confirmation from its signals, records ``act`` where it brought the incident into the
    action's state, and logs and NOTIFYs the change with the person as actor. ``logged``: the
    detail of an action on the incident itself, logged even if nothing else changed; None for
    an action on one of its alerts, logged only when the incident changed."""
    await cur.execute(LOCKED, ([incident_id],))
    row = await cur.fetchone()
    assert row is not None  # an alert's incident, or one the caller found
    await cur.execute(MEMBERS, ([incident_id],))
    signals = signals_of(await cur.fetchall()).get(incident_id, [])
    before = before_of(row)
    after = view(signals, before=before, window_s=window_s)
    found = outcome(
        row,
        before,
        after,
        signals,
        actor=act.actor,
        opened=False,
        joined={},
        action=None if logged is None else act.action.value,
    )
    if found is None:
        return None
    params, change = found
    await cur.execute(UPDATE, params)
    record = _RECORD.get(act.action)
    if record is not None and after.state is record[0] and before.state is not record[0]:
        cause = act.cause or Cause.OTHER
        await cur.execute(
            f"UPDATE incidents SET {record[1]} WHERE id = %(id)s",
            {
                "id": incident_id,
                "actor": act.actor,
                "until": now + timedelta(minutes=act.minutes) if act.minutes else None,
                "reason": act.reason,
                "cause": cause.value,
                "note": act.note,
            },
        )
    change = replace(change, detail={**change.detail, **(logged or {})})
    await cur.execute(LOG, change.log_params(act.actor))
    await cur.execute(NOTIFY, change.notification())
    return change
