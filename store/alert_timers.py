"""Alert timers the engine's tick drives: escalation of unacknowledged fire alarms, shelves that
run out, and the rate of new alerts per site (for flood detection)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.lifecycle import ENGINE, Action, Cause, State, announced_as, unshelve_to
from store.incidents import refresh
from store.notify import NOTIFY, AlertChange, notifications

# Level n+1 is due (n+1) escalation periods after the alert was stored: 60 s, 120 s, 180 s.
_ESCALATE = """
WITH due AS (
    SELECT id FROM alerts
    WHERE state = 'active_unack' AND class = 'fire' AND escalation_level < %(max)s
      AND created_at + make_interval(secs => %(after)s * (escalation_level + 1)) <= %(now)s
    ORDER BY id FOR UPDATE SKIP LOCKED
), up AS (
    UPDATE alerts a SET escalation_level = a.escalation_level + 1, escalated_at = %(now)s,
                        updated_at = now()
    FROM due WHERE a.id = due.id
    RETURNING a.id, a.subject, a.rule, a.class, a.state, a.site, a.building, a.count,
              a.escalation_level, a.raised_at, a.created_at, a.detail
), log AS (
    INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)
    SELECT id, 'engine', 'escalate', state, state,
           jsonb_build_object('level', escalation_level,
                              'unacknowledged_s', extract(epoch FROM %(now)s - created_at))
    FROM up
)
SELECT * FROM up
"""


def escalate_due(
    conn: psycopg.Connection[Any], *, now: datetime, after_s: int, max_level: int
) -> list[dict[str, Any]]:
    """Raises the level of unacknowledged fire alarms whose next level is due, logged and
    told; returns them. People are reached by dispatching the incident (dispatch/dispatcher.py),
    which escalates along the zone's call order itself."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(_ESCALATE, {"now": now, "after": after_s, "max": max_level})
        rows = cur.fetchall()
        changes = [
            AlertChange.of_row(
                r, change=Action.ESCALATE, at=now, escalation_level=r["escalation_level"]
            )
            for r in rows
        ]
        cur.executemany(NOTIFY, notifications(changes))
    return rows


def expire_shelves(conn: psycopg.Connection[Any], *, now: datetime, window_s: float) -> int:
    """Shelved alerts whose time ran out go back to the state their condition calls for, and
    their incidents with them (``window_s``: the incidents' confirmation window). Run in a
    transaction of its own: it waits for incident rows, which a transaction that already wrote
    the log must not (see store.alerts)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT id, condition_active FROM alerts WHERE state = 'shelved'"
            " AND shelved_until <= %s ORDER BY id FOR UPDATE SKIP LOCKED",
            (now,),
        )
        changes: list[AlertChange] = []
        incidents: set[int] = set()
        for found in cur.fetchall():
            state = unshelve_to(found["condition_active"])
            resolved = state is State.RESOLVED
            cur.execute(
                "UPDATE alerts SET state = %s, shelved_until = NULL, updated_at = now(),"
                " resolved_at = CASE WHEN %s THEN now() END,"
                " resolved_by = CASE WHEN %s THEN %s END, cause = CASE WHEN %s THEN %s END"
                " WHERE id = %s"
                " RETURNING id, subject, rule, class, state, count, site, building,"
                " suppressed_reason, incident_id",
                (state.value, resolved, resolved, ENGINE, resolved, Cause.OTHER.value, found["id"]),
            )
            alert = cur.fetchone()
            assert alert is not None  # locked above
            if alert["incident_id"] is not None:
                incidents.add(alert["incident_id"])
            announced = announced_as(action=Action.UNSHELVE, before=State.SHELVED, after=state)
            changes.append(AlertChange.of_row(alert, change=announced or Action.UNSHELVE, at=now))
        # The incidents' rows are locked before the first log row (see store.alerts).
        refreshed = refresh(cur, incidents, actor=ENGINE, window_s=window_s)
        cur.executemany(
            "INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)"
            " VALUES (%s, %s, %s, 'shelved', %s, %s)",
            [
                (c.id, ENGINE, c.change, c.state, Jsonb({"reason": "shelving time ran out"}))
                for c in changes
            ],
        )
        cur.executemany(NOTIFY, notifications(changes))
        refreshed.write_logs(cur, actor=ENGINE)
    return len(changes)
