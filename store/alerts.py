"""Alert rows, their audit log, and the NOTIFY that tells every API replica about a change.

The engine decides *what* happened (raise, hold, clear); the lifecycle table in
``alerts.lifecycle`` decides what that does to the alert's state; this module reads the open
alerts a batch touches, applies both, and writes rows, audit entries and notifications in the
caller's transaction. NOTIFY is transactional: listeners hear of a change only once it commits.

A repeat of an open alert (the same alarm again, a condition still active) only updates its
count and times: no log row, no NOTIFY. Its summary, one log row and one NOTIFY carrying the
count, goes out at most once a second per alert, judged in SQL by ``notified_at`` so several
workers and restarts keep the pace; every call (each batch, each timer tick) sends the
summaries that are due, so the count on the stream catches up within a tick of the last repeat.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from alerts.lifecycle import Action, AlertFacts, Cause, State, next_state
from alerts.signals import Change, Decision, latches

NOTIFY_CHANNEL = "fw_alerts"
ENGINE = "engine"

_OPEN_FOR = """
SELECT id, subject, rule, class, state, condition_active, count, peak, latching, chattering,
       suppressed_reason
FROM alerts
WHERE state <> 'resolved' AND (subject, rule) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
ORDER BY id
FOR UPDATE
"""

# A concurrent worker may have opened the same alert (a building's roll-up fed by two
# workers): the insert then counts as a (quiet) repeat on it.
_INSERT = """
INSERT INTO alerts AS a (device_id, subject, rule, class, state, raised_at, received_at, last_at,
                         count, peak, detail, site, building, latching, chattering,
                         suppressed_reason, condition_active)
VALUES (%(device_id)s, %(subject)s, %(rule)s, %(class)s, %(state)s, %(at)s,
        coalesce(%(received_at)s, now()), %(at)s, 1, %(value)s, %(detail)s, %(site)s,
        %(building)s, %(latching)s, %(chattering)s, %(suppressed)s, true)
ON CONFLICT (subject, rule) WHERE state <> 'resolved' DO UPDATE SET
    count = a.count + 1, last_at = greatest(a.last_at, excluded.last_at),
    peak = greatest(a.peak, excluded.peak), condition_active = true, updated_at = now()
RETURNING id, (xmax = 0) AS opened, state
"""

_UPDATE = """
UPDATE alerts SET state = %(state)s, count = %(count)s, last_at = greatest(last_at, %(at)s),
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
          a.suppressed_reason, a.count - due.told
"""

_LOG = """
INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)
VALUES (%s, %s, %s, %s, %s, %s)
"""

_LINK_CHILDREN = """
UPDATE alerts SET parent_id = %s
WHERE state <> 'resolved' AND parent_id IS NULL AND id <> %s
  AND (subject, rule) IN (SELECT * FROM unnest(%s::text[], %s::text[]))
"""


@dataclass(slots=True)
class _Open:
    id: int
    state: State
    alert_class: str
    condition_active: bool
    count: int
    peak: float | None
    latching: bool
    chattering: bool
    suppressed: str | None


@dataclass(slots=True)
class AlertChange:
    """One alert's change in this transaction, as NOTIFY and the SSE stream carry it."""

    id: int
    subject: str
    rule: str
    alert_class: str
    state: str
    change: str
    count: int
    at: datetime
    site: str | None
    building: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        return {"id": self.id, "subject": self.subject, "rule": self.rule,
                "class": self.alert_class, "state": self.state, "change": self.change,
                "count": self.count, "at": self.at.isoformat(), "site": self.site,
                "building": self.building, **self.extra}  # fmt: skip


def _peak(old: float | None, new: float | None) -> float | None:
    if new is None:
        return old
    return new if old is None else max(old, new)


def _engine_action(decision: Decision, found: _Open) -> tuple[Action, Cause | None, str | None]:
    if decision.change is not Change.CLEAR:
        return Action.REPEAT, None, None
    if found.state is State.SUPPRESSED:
        cause = Cause.TEST if found.suppressed == "test" else Cause.MAINTENANCE
        return Action.RETURN, cause, f"returned to normal while {found.suppressed}"
    if found.latching:
        return Action.RETURN_LATCHED, None, None
    return Action.RETURN, Cause.OTHER, "returned to normal after acknowledgement"


def apply_decisions(
    conn: psycopg.Connection[Any], decisions: Sequence[Decision]
) -> list[AlertChange]:
    """Applies the engine's decisions in order, then sends the repeat summaries that are due;
    returns what changed (quiet repeats and holds included, though neither logged nor told)."""
    if not decisions:
        with conn.cursor() as cur:
            summaries = _summarise(cur)
            _notify(cur, summaries)
        return summaries
    keys = sorted({(d.subject, d.rule.value) for d in decisions})
    opened: dict[tuple[str, str], _Open] = {}
    changes: list[AlertChange] = []
    told: list[AlertChange] = []
    logs: list[tuple[Any, ...]] = []
    with conn.cursor() as cur:
        cur.execute(_OPEN_FOR, ([k[0] for k in keys], [k[1] for k in keys]))
        for row in cur.fetchall():
            opened[(row[1], row[2])] = _Open(
                row[0], State(row[4]), row[3], row[5], row[6], row[7], row[8], row[9], row[10]
            )
        for d in decisions:
            key = (d.subject, d.rule.value)
            found = opened.get(key)
            chattering = bool(d.detail.get("chattering"))
            if found is None:
                if d.change is Change.CLEAR:
                    continue  # nothing open: an operator resolved it already
                state = State.SUPPRESSED if d.suppressed else State.ACTIVE_UNACK
                cur.execute(_INSERT, {
                    "device_id": None if ":" in d.subject else d.subject, "subject": d.subject,
                    "rule": d.rule.value, "class": d.alert_class.value, "state": state.value,
                    "at": d.at, "received_at": d.received_at, "value": d.value,
                    "detail": Jsonb(d.detail), "site": d.site, "building": d.building,
                    "latching": latches(d.rule, d.alert_class), "chattering": chattering,
                    "suppressed": d.suppressed,
                })  # fmt: skip
                alert_id, fresh, stored_state = cur.fetchone() or (0, False, state.value)
                found = opened[key] = _Open(alert_id, State(stored_state), d.alert_class.value,
                                            True, 1, d.value, latches(d.rule, d.alert_class),
                                            chattering, d.suppressed)  # fmt: skip
                change = _change(found, d, key, "raise" if fresh else "repeat")
                changes.append(change)
                if fresh:
                    logs.append((alert_id, ENGINE, "raise", None, stored_state, Jsonb(d.detail)))
                    told.append(change)
                continue
            action, cause, note = _engine_action(d, found)
            before, was_active = found.state, found.condition_active
            facts = AlertFacts(found.state, found.alert_class, found.condition_active)
            found.state = next_state(facts, action)
            if d.change in (Change.RAISE, Change.REPEAT):
                found.count += 1
            found.condition_active = d.change is not Change.CLEAR
            found.peak = _peak(found.peak, d.value)
            found.chattering = found.chattering or chattering
            quiet = action is Action.REPEAT and found.state is before and was_active
            cur.execute(_UPDATE, {
                "id": found.id, "state": found.state.value, "count": found.count, "at": d.at,
                "peak": found.peak, "condition_active": found.condition_active,
                "chattering": found.chattering, "returned": d.change is Change.CLEAR,
                "actor": ENGINE, "cause": cause.value if cause else None, "note": note,
                "told": not quiet,
                "detail": Jsonb(d.detail) if d.change is Change.RAISE or d.rule.value ==
                "confirmed_fire" else None,
            })  # fmt: skip
            logged = {"return": "return", "return_latched": "return"}.get(action.value, "repeat")
            if not quiet:
                logs.append((found.id, ENGINE, logged, before.value, found.state.value,
                             Jsonb({**d.detail, **({"cause": cause.value} if cause and
                                    found.state is State.RESOLVED else {})})))  # fmt: skip
            if found.state is State.RESOLVED:
                del opened[key]
            change = _change(found, d, key, "hold" if d.change is Change.HOLD else logged)
            changes.append(change)
            if not quiet:
                told.append(change)
        for d in decisions:
            children = d.detail.get("children") if d.rule.value == "confirmed_fire" else None
            parent = opened.get((d.subject, d.rule.value))
            if children and parent is not None:
                cur.execute(_LINK_CHILDREN, (parent.id, parent.id,
                                             [c["device_id"] for c in children],
                                             [c["rule"] for c in children]))  # fmt: skip
        if logs:
            cur.executemany(_LOG, logs)
        summaries = _summarise(cur)
        _notify(cur, told + summaries)
    return changes + summaries


def _change(found: _Open, d: Decision, key: tuple[str, str], change: str) -> AlertChange:
    return AlertChange(found.id, key[0], key[1], found.alert_class, found.state.value, change,
                       found.count, d.at, d.site, d.building,
                       {"suppressed": found.suppressed} if found.suppressed else {})  # fmt: skip


def _summarise(cur: psycopg.Cursor[Any]) -> list[AlertChange]:
    """The due summaries: each logged as one ``repeat`` with the count and how many repeats it
    covers, and returned for NOTIFY."""
    cur.execute(_SUMMARISE, {"every": SUMMARY_EVERY_S})
    summaries = [
        AlertChange(r[0], r[1], r[2], r[3], r[4], "repeat", r[5], r[6], r[7], r[8],
                    {"repeats": r[10], **({"suppressed": r[9]} if r[9] else {})})
        for r in cur.fetchall()
    ]  # fmt: skip
    if summaries:
        cur.executemany(_LOG, [
            (c.id, ENGINE, "repeat", c.state, c.state,
             Jsonb({"count": c.count, "repeats": c.extra["repeats"]}))
            for c in summaries
        ])  # fmt: skip
    return summaries


def _notify(cur: psycopg.Cursor[Any], changes: Sequence[AlertChange]) -> None:
    """One NOTIFY per change; payloads are small and bounded (ids, no detail)."""
    if changes:
        cur.executemany(
            "SELECT pg_notify(%s, %s)",
            [(NOTIFY_CHANNEL, orjson.dumps(c.payload()).decode()) for c in changes],
        )


def seen_alerts(conn: psycopg.Connection[Any]) -> list[tuple[str, str, str, datetime]]:
    """Every alert ever raised, as (subject, rule, class, raised_at): for checking scenarios."""
    rows = conn.execute("SELECT subject, rule, class, raised_at FROM alerts ORDER BY id")
    return [(r[0], r[1], r[2], r[3]) for r in rows.fetchall()]
