"""Alert rows and their audit log: the engine's decisions, executed.

``alerts.plan`` decides what a batch's decisions do to the open alerts (states, counts, peaks,
causes, log rows, what is announced); this module only loads the open alerts the batch touches,
runs the planned writes in the caller's transaction, and NOTIFYs (``store.notify``), so
listeners hear of a change only once it commits.

A repeat of an open alert (the same alarm again, a condition still active) only updates its
count and times: no log row, no NOTIFY. Its summary, one log row and one NOTIFY carrying the
count, goes out at most once a second per alert, judged in SQL by ``notified_at`` so several
workers and restarts keep the pace; every call (each batch, each timer tick) sends the
summaries that are due, so the count on the stream catches up within a tick of the last repeat.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.lifecycle import ENGINE, State
from alerts.plan import (
    AlertRef,
    Key,
    LogRow,
    NewAlert,
    OpenAlert,
    Plan,
    Reported,
    Update,
    plan,
)
from alerts.signals import Decision
from contract.families import family
from store.incidents import ALERT_LOG, absorb
from store.notify import NOTIFY, AlertChange, notifications

_OPEN_FOR = """
SELECT id, subject, family, rule, class, state, condition_active, count, peak, latching,
       chattering, suppressed_reason, conditions
FROM alerts
WHERE state <> 'resolved' AND (subject, family) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY id
FOR UPDATE
"""

# A concurrent worker may have opened the same alert (a building's roll-up fed by two
# workers): the insert then counts as a (quiet) repeat on it.
_INSERT = """
INSERT INTO alerts AS a (device_id, subject, family, rule, class, state, raised_at, received_at,
                         last_at, count, peak, detail, site, building, latching, chattering,
                         suppressed_reason, condition_active, conditions, steps)
VALUES (%(device_id)s, %(subject)s, %(family)s, %(rule)s, %(class)s, %(state)s, %(at)s,
        coalesce(%(received_at)s, now()), %(at)s, 1, %(value)s, %(detail)s, %(site)s,
        %(building)s, %(latching)s, %(chattering)s, %(suppressed)s, true, ARRAY[%(rule)s],
        ARRAY[%(at)s::timestamptz])
ON CONFLICT (subject, family) WHERE state <> 'resolved' DO UPDATE SET
    count = a.count + 1, last_at = greatest(a.last_at, excluded.last_at),
    peak = greatest(a.peak, excluded.peak), condition_active = true, updated_at = now()
RETURNING id, subject, rule, class, state, count, site, building, suppressed_reason,
          (xmax = 0) AS opened
"""

_UPDATE = """
UPDATE alerts SET state = %(state)s, rule = %(rule)s, class = %(class)s, latching = %(latching)s,
    conditions = %(conditions)s, count = %(count)s, last_at = greatest(last_at, %(at)s),
    -- the newest 64 steps: a flapping rule's would grow without end
    steps = CASE WHEN %(stepped)s
                 THEN (steps || %(at)s::timestamptz)[greatest(1, cardinality(steps) - 62):]
                 ELSE steps END,
    raised_at = CASE WHEN %(stepped)s THEN least(raised_at, %(at)s) ELSE raised_at END,
    peak = %(peak)s, condition_active = %(condition_active)s, chattering = %(chattering)s,
    returned_at = CASE WHEN %(returned)s THEN %(at)s ELSE returned_at END,
    resolved_at = CASE WHEN %(state)s = 'resolved' THEN now() ELSE resolved_at END,
    resolved_by = CASE WHEN %(state)s = 'resolved' THEN %(actor)s ELSE resolved_by END,
    cause = CASE WHEN %(state)s = 'resolved' THEN %(cause)s ELSE cause END,
    resolution_note = CASE WHEN %(state)s = 'resolved' THEN %(note)s ELSE resolution_note END,
    detail = CASE WHEN %(detail)s::jsonb IS NULL THEN detail ELSE detail || %(detail)s END,
    notified_at = CASE WHEN %(told)s THEN now() ELSE notified_at END,
    notified_count = CASE WHEN %(told)s THEN %(count)s ELSE notified_count END,
    updated_at = now()
WHERE id = %(id)s
"""

SUMMARY_EVERY_S = 1.0

# The pace is judged here, in SQL, not in the plan: several ingest workers (and a restarted
# one) write the same alerts, and only the row's notified_at on the database's one clock lets
# them agree that a summary is due, and that it goes out once.
# Open alerts whose count is ahead of what their last event said, and whose last event is at
# least a second old (on the database's clock, shared by every worker). SKIP LOCKED: an alert
# another transaction holds is summarised by that one or by the next call.
_SUMMARISE = """
WITH due AS (
    SELECT id, notified_count AS told FROM alerts
    WHERE state <> 'resolved' AND count > notified_count
      AND notified_at <= now() - make_interval(secs => %(every)s)
    ORDER BY id FOR UPDATE SKIP LOCKED
)
UPDATE alerts a SET notified_at = now(), notified_count = a.count
FROM due WHERE a.id = due.id
RETURNING a.id, a.subject, a.rule, a.class, a.state, a.count, a.last_at, a.site, a.building,
          a.suppressed_reason, a.count - due.told AS repeats
"""


def apply_decisions(
    conn: psycopg.Connection[Any], decisions: Sequence[Decision], *, window_s: float
) -> list[AlertChange]:
    """Applies the engine's decisions in order, as ``alerts.plan`` plans them, then places
    the alerts it announced in their incidents (``store.incidents``, ``window_s`` the
    confirmation window); returns what changed (quiet repeats and holds included, though
    neither logged nor told: their summaries go out with ``summarise_repeats``)."""
    changes: list[AlertChange] = []
    told: list[AlertChange] = []
    logs: list[tuple[Any, ...]] = []
    keys = sorted({(d.subject, family(d.rule)) for d in decisions})
    rest: Sequence[Decision] = decisions
    with conn.cursor(row_factory=dict_row) as cur:
        while True:
            planned = plan(rest, _open_for(cur, keys) if keys else [])
            ids: dict[int, int] = {}
            conflict = _execute(cur, planned, ids)
            upto = len(rest) if conflict is None else conflict[0]
            for item in planned.reported:
                if item.step < upto:
                    changes.append(change := _change(item, ids))
                    if item.told:
                        told.append(change)
            logs += [_log_params(log, ids) for log in planned.logs if log.step < upto]
            if conflict is None:
                break
            # Another worker opened this alert first: the insert counted as a (quiet) repeat
            # on it, and the rest of the batch is planned again on what the table now holds.
            step, row = conflict
            changes.append(AlertChange.of_row(row, change="repeat", at=rest[step].at))
            rest = rest[step + 1 :]
        # Every row lock (incidents included) before the first log row: writing the log takes
        # the log's commit-order lock (migration 0006) until commit, and a transaction that
        # holds it must not wait for a row an operator's click holds while waiting for it.
        incidents = absorb(cur, {c.id for c in told}, window_s=window_s)
        cur.executemany(ALERT_LOG, logs)
        cur.executemany(NOTIFY, notifications(told))
        incidents.write_logs(cur, actor=ENGINE)
    return changes


def summarise_repeats(conn: psycopg.Connection[Any]) -> list[AlertChange]:
    """Logs and tells the repeat summaries that are due. Run by ingest's timers, once a
    second and in a transaction of their own, not with every batch: the batches stay one
    query lighter, and its row locks never meet a batch's or escalation's."""
    with conn.cursor(row_factory=dict_row) as cur:
        summaries = _summarise(cur)
        cur.executemany(NOTIFY, notifications(summaries))
    return summaries


def _open_for(cur: psycopg.Cursor[dict[str, Any]], keys: Sequence[Key]) -> list[OpenAlert]:
    cur.execute(_OPEN_FOR, ([k[0] for k in keys], [k[1] for k in keys]))
    return [
        OpenAlert(
            id=r["id"],
            subject=r["subject"],
            family=r["family"],
            rule=r["rule"],
            state=State(r["state"]),
            alert_class=r["class"],
            condition_active=r["condition_active"],
            count=r["count"],
            peak=r["peak"],
            latching=r["latching"],
            chattering=r["chattering"],
            suppressed=r["suppressed_reason"],
            conditions=frozenset(r["conditions"]),
        )
        for r in cur.fetchall()
    ]


def _execute(
    cur: psycopg.Cursor[dict[str, Any]], planned: Plan, ids: dict[int, int]
) -> tuple[int, dict[str, Any]] | None:
    """Runs the plan's inserts and updates in order, noting the ids of the alerts it opens;
    stops at an insert another worker's alert took (its step and that alert's row)."""
    for write in planned.writes:
        if isinstance(write, Update):
            cur.execute(
                _UPDATE,
                {
                    "id": _id(write.alert, ids),
                    "rule": write.rule,
                    "class": write.alert_class,
                    "latching": write.latching,
                    "conditions": sorted(write.conditions),
                    "stepped": write.stepped,
                    "state": write.state.value,
                    "count": write.count,
                    "at": write.at,
                    "peak": write.peak,
                    "condition_active": write.condition_active,
                    "chattering": write.chattering,
                    "returned": write.returned,
                    "actor": ENGINE,
                    "cause": write.cause.value if write.cause else None,
                    "note": write.note,
                    "told": write.told,
                    "detail": None if write.detail is None else Jsonb(write.detail),
                },
            )
            continue
        d = write.decision
        cur.execute(
            _INSERT,
            {
                "device_id": None if ":" in d.subject else d.subject,
                "subject": d.subject,
                "family": family(d.rule),
                "rule": d.rule.value,
                "class": d.alert_class.value,
                "state": write.state.value,
                "at": d.at,
                "received_at": d.received_at,
                "value": d.value,
                "detail": Jsonb(d.detail),
                "site": d.site,
                "building": d.building,
                "latching": write.latching,
                "chattering": write.chattering,
                "suppressed": d.suppressed,
            },
        )
        row = cur.fetchone()
        assert row is not None  # an insert or an update: RETURNING always has the row
        if not row["opened"]:
            return write.step, row
        ids[write.step] = row["id"]
    return None


def _id(ref: AlertRef, ids: Mapping[int, int]) -> int:
    return ids[ref.step] if isinstance(ref, NewAlert) else ref


def _change(item: Reported, ids: Mapping[int, int]) -> AlertChange:
    a = item.alert
    return AlertChange(
        id=_id(a.id, ids),
        subject=a.subject,
        rule=a.rule,
        alert_class=a.alert_class,
        state=a.state.value,
        change=item.change,
        count=a.count,
        at=item.at,
        site=item.site,
        building=item.building,
        extra={"suppressed": a.suppressed} if a.suppressed else {},
    )


def _log_params(log: LogRow, ids: Mapping[int, int]) -> tuple[Any, ...]:
    return (
        _id(log.alert, ids),
        ENGINE,
        log.action,
        None if log.from_state is None else log.from_state.value,
        log.to_state.value,
        Jsonb(log.detail),
    )


def _summarise(cur: psycopg.Cursor[dict[str, Any]]) -> list[AlertChange]:
    """The due summaries: each logged as one ``repeat`` with the count and how many repeats it
    covers, and returned for NOTIFY."""
    cur.execute(_SUMMARISE, {"every": SUMMARY_EVERY_S})
    summaries = [
        AlertChange.of_row(r, change="repeat", at=r["last_at"], repeats=r["repeats"])
        for r in cur.fetchall()
    ]
    cur.executemany(
        ALERT_LOG,
        [
            (
                c.id,
                ENGINE,
                "repeat",
                c.state,
                c.state,
                Jsonb({"count": c.count, "repeats": c.extra["repeats"]}),
            )
            for c in summaries
        ],
    )
    return summaries


def seen_alerts(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str, datetime]]:
    """Every rule ever raised, as (subject, rule, class, event time): each alert's opening,
    each step it moved up and each further rule of its family that started to hold, and each
    incident's confirmation as its building's
    ``confirmed_fire``. For checking scenarios against their ground truth."""
    rows = conn.execute(
        "SELECT a.subject, coalesce(l.detail ->> 'rule', a.rule),"
        " coalesce(l.detail ->> 'class', a.class),"
        " coalesce((l.detail ->> 'at')::timestamptz, a.raised_at)"
        " FROM alert_log l JOIN alerts a ON a.id = l.alert_id"
        " WHERE l.action IN ('raise', 'rise', 'condition')"
        " UNION ALL"
        " SELECT 'building:' || building, 'confirmed_fire', 'fire', confirmed_at FROM incidents"
        " WHERE confirmed_at IS NOT NULL AND building IS NOT NULL"
        " ORDER BY 4, 1, 2"
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows.fetchall()]
