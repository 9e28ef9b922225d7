"""What operators do to alerts: each action is checked against the lifecycle table, applied,
audited with who did it, and announced, all in one transaction; the alert's incident follows
in it. ``apply_step`` is the one writer of an operator's step, for a single alert and for an
incident's cascade (``store.incident_actions``) alike.

The alert row is locked first, then its incident's (the order of ``store.incidents``), so an
operator's click and an engine batch touching the same alert are serialised: the click is
judged against the state it really finds.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.lifecycle import Action, AlertFacts, Cause, State, announced_as, next_state
from store.alert_queries import ALERT_COLUMNS
from store.incident_refresh import follow
from store.notify import NOTIFY, AlertChange, notifications


class AlertNotFound(Exception):
    """No alert has this id."""


class ClaimedByOther(Exception):
    """Someone else handles this alert; taking it over must be said explicitly."""


@dataclass(kw_only=True, frozen=True, slots=True)
class OperatorAction:
    """One click: the action and what it carries (a shelve's time and reason, a resolve's
    cause and note, a comment's text, a claim's takeover)."""

    action: Action
    actor: str
    minutes: int | None = None
    reason: str | None = None
    cause: Cause | None = None
    note: str | None = None
    take_over: bool = False


_SET: dict[Action, str] = {
    Action.ACK: "acked_at = now(), acked_by = %(actor)s,",
    Action.SHELVE: "shelved_until = %(until)s, shelve_reason = %(reason)s,",
    Action.UNSHELVE: "shelved_until = NULL,",
    Action.RESOLVE: "",
    Action.COMMENT: "",
    Action.CLAIM: "claimed_by = %(actor)s,",
}


_LOCK = """
SELECT id, state, class, condition_active, claimed_by, incident_id FROM alerts WHERE id = %s
FOR UPDATE
"""


async def perform(
    conn: psycopg.AsyncConnection[Any],
    alert_id: int,
    act: OperatorAction,
    *,
    now: datetime,
    window_s: float,
) -> dict[str, Any]:
    """Applies ``act`` and returns the alert as it is now; the alert's incident follows
    (``window_s``: its confirmation window). Raises AlertNotFound, IllegalTransition (the
    message names what is allowed) or ClaimedByOther."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOCK, (alert_id,))
        found = await cur.fetchone()
        if found is None:
            raise AlertNotFound(alert_id)
        if found["incident_id"] is not None:
            # Before the step writes the log: a transaction holding the log's commit-order
            # lock must not wait for a row (store.alerts).
            await cur.execute(
                "SELECT id FROM incidents WHERE id = %s FOR NO KEY UPDATE", (found["incident_id"],)
            )
        claimed = found["claimed_by"]
        if act.action is Action.CLAIM and claimed not in (None, act.actor) and not act.take_over:
            raise ClaimedByOther(claimed)
        to = next_state(
            AlertFacts(State(found["state"]), found["class"], found["condition_active"]),
            act.action,
        )
        alert = await apply_step(cur, found, to=to, act=act, now=now)
        if alert["incident_id"] is not None:
            await follow(cur, alert["incident_id"], act, now=now, window_s=window_s)
        return alert


async def apply_step(
    cur: psycopg.AsyncCursor[dict[str, Any]],
    found: Mapping[str, Any],
    *,
    to: State,
    act: OperatorAction,
    now: datetime,
    context: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Moves a locked alert (``found``: its id, state and claim) to ``to``, already checked
    against the lifecycle, for ``act``: updated, logged with the person (``context`` added to
    the log's detail) and NOTIFYed. Returns the alert as it is now."""
    before = State(found["state"])
    resolved = to is State.RESOLVED and before is not State.RESOLVED
    cause = act.cause or (Cause.OTHER if resolved else None)
    params = {
        "id": found["id"],
        "state": to.value,
        "actor": act.actor,
        "resolved": resolved,
        "cause": cause.value if cause else None,
        "note": act.note,
        "reason": act.reason,
        "until": now + timedelta(minutes=act.minutes) if act.minutes else None,
    }
    await cur.execute(
        f"UPDATE alerts SET state = %(state)s, {_SET[act.action]}"
        " resolved_at = CASE WHEN %(resolved)s THEN now() ELSE resolved_at END,"
        " resolved_by = CASE WHEN %(resolved)s THEN %(actor)s ELSE resolved_by END,"
        " cause = CASE WHEN %(resolved)s THEN %(cause)s ELSE cause END,"
        " resolution_note = CASE WHEN %(resolved)s THEN %(note)s ELSE resolution_note END,"
        f" updated_at = now() WHERE id = %(id)s RETURNING {ALERT_COLUMNS}",
        params,
    )
    alert = await cur.fetchone()
    assert alert is not None  # locked by the caller
    claim = found["claimed_by"] if act.action is Action.CLAIM else None
    detail = audit_detail(act, cause=params["cause"], previous_claim=claim, **(context or {}))
    # An operator's action is always announced: only the engine's repeats are quiet.
    announced = announced_as(action=act.action, before=before, after=to) or act.action
    await cur.execute(
        "INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (found["id"], act.actor, announced, before.value, to.value, Jsonb(detail)),
    )
    change = AlertChange.of_row(alert, change=announced, at=now, actor=act.actor)
    await cur.executemany(NOTIFY, notifications([change]))
    return alert


def audit_detail(act: OperatorAction, **extra: Any) -> dict[str, Any]:
    """What an action's log row carries besides who did what: its values, None left out."""
    fields = {
        "minutes": act.minutes,
        "reason": act.reason,
        "note": act.note,
        "cause": act.cause.value if act.cause else None,
        **extra,
    }
    return {k: v for k, v in fields.items() if v is not None}
