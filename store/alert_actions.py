"""What operators do to alerts: each action is checked against the lifecycle table, applied,
audited with who did it, and announced, all in one transaction.

The alert row is locked first, so an operator's click and an engine batch touching the same
alert are serialised: the click is judged against the state it really finds.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.lifecycle import Action, AlertFacts, Cause, State, announced_as, next_state
from store.alert_queries import ALERT_COLUMNS
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


async def perform(
    conn: psycopg.AsyncConnection[Any], alert_id: int, act: OperatorAction, *, now: datetime
) -> dict[str, Any]:
    """Applies ``act`` and returns the alert as it is now. Raises AlertNotFound,
    IllegalTransition (the message names what is allowed) or ClaimedByOther."""
    async with conn.transaction(), conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT state, class, condition_active, claimed_by FROM alerts WHERE id = %s"
            " FOR UPDATE",
            (alert_id,),
        )
        found = await cur.fetchone()
        if found is None:
            raise AlertNotFound(alert_id)
        before = State(found["state"])
        claimed = found["claimed_by"]
        if act.action is Action.CLAIM and claimed not in (None, act.actor) and not act.take_over:
            raise ClaimedByOther(claimed)
        after = next_state(
            AlertFacts(before, found["class"], found["condition_active"]), act.action
        )
        resolved = after is State.RESOLVED and before is not State.RESOLVED
        cause = act.cause or (Cause.OTHER if resolved else None)
        params = {
            "id": alert_id,
            "state": after.value,
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
        assert alert is not None
        detail = {
            k: v
            for k, v in {
                "minutes": act.minutes,
                "reason": act.reason,
                "note": act.note,
                "cause": params["cause"],
                "previous_claim": found["claimed_by"] if act.action is Action.CLAIM else None,
            }.items()
            if v is not None
        }
        # An operator's action is always announced: only the engine's repeats are quiet.
        announced = announced_as(action=act.action, before=before, after=after) or act.action
        await cur.execute(
            "INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (alert_id, act.actor, announced, before.value, after.value, Jsonb(detail)),
        )
        change = AlertChange.of_row(alert, change=announced, at=now, actor=act.actor)
        await cur.executemany(NOTIFY, notifications([change]))
        return alert
