"""What operators do to incidents: one action cascades to the incident's open signals, each
step checked by the alert lifecycle (``alerts.incidents.cascade``) and written as the same
action on that alert would be (``store.alert_actions.apply_step``), audited with the person and
naming the incident; then the incident follows, logged with the person. One transaction.

Locks in the order of ``store.incidents``: the open signals' rows, then the incident's. A
signal that joined between the two is not locked: it is left as it came (it calls the
operator on its own) rather than locked out of order.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts.incidents import cascade, view
from alerts.lifecycle import Action, Cause
from store.alert_actions import ClaimedByOther, OperatorAction, apply_step, audit_detail
from store.incident_queries import incidents_by_id
from store.incident_refresh import follow
from store.incidents import MEMBERS, before_of, signals_of

_LOCK_SIGNALS = """
SELECT id, state, claimed_by FROM alerts WHERE incident_id = %s AND state <> 'resolved'
ORDER BY id FOR UPDATE
"""

_LOCK = (
    "SELECT id, state, class, confirmed_at, claimed_by FROM incidents WHERE id = %s"
    " FOR NO KEY UPDATE"
)


class IncidentNotFound(Exception):
    """No incident has this id."""


async def perform_incident(
    conn: psycopg.AsyncConnection[Any],
    incident_id: int,
    act: OperatorAction,
    *,
    now: datetime,
    window_s: float,
) -> dict[str, Any]:
    """Applies ``act`` to the incident and its signals; returns the incident as the list
    shows it. Raises IncidentNotFound, IllegalTransition (naming what the incident allows;
    shelving a fire is one) or ClaimedByOther. ``window_s``: the confirmation window."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOCK_SIGNALS, (incident_id,))
        locked = {r["id"]: r for r in await cur.fetchall()}
        await cur.execute(_LOCK, (incident_id,))
        row = await cur.fetchone()
        if row is None:
            raise IncidentNotFound(incident_id)
        claimed = row["claimed_by"]
        if act.action is Action.CLAIM and claimed not in (None, act.actor) and not act.take_over:
            raise ClaimedByOther(claimed)
        await cur.execute(MEMBERS, ([incident_id],))
        signals = signals_of(await cur.fetchall()).get(incident_id, [])
        now_is = view(signals, before=before_of(row), window_s=window_s)
        steps = [
            (s, to)
            for s, to in cascade(act.action, signals, incident=now_is)
            if s.alert_id in locked
        ]
        for signal, to in steps:
            found = locked[signal.alert_id]
            await apply_step(cur, found, to=to, act=act, now=now, context={"incident": incident_id})
        previous = None
        if act.action is Action.CLAIM:
            previous = claimed
            await cur.execute(
                "UPDATE incidents SET claimed_by = %s WHERE id = %s", (act.actor, incident_id)
            )
        resolves = act.action is Action.RESOLVE
        logged = audit_detail(
            act,
            cause=(act.cause or Cause.OTHER).value if resolves else None,
            previous_claim=previous,
            alerts=[s.alert_id for s, _ in steps] or None,
        )
        await follow(cur, incident_id, act, now=now, window_s=window_s, logged=logged)
        return (await incidents_by_id(conn, [incident_id]))[incident_id]
