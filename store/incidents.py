"""Incident rows: signals placed in them, and what each incident now is, in the caller's
transaction (``alerts.incidents`` decides; this module loads, locks and writes).

Locks. Workers that may place signals in the same building serialise on a transaction-scoped
advisory lock per place, taken in sorted order, so two of them never open two incidents for
one building. An incident's row is locked after its alerts' rows, as every writer of both does
(ingest's batch, an operator's click, the timers), so the two never wait on each other in a
cycle.

Every change to an incident is one ``incident_log`` row, the live stream's ``incident`` event.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.incidents import (
    Candidate,
    Join,
    OpenIncident,
    Signal,
    View,
    acknowledged_episode,
    carried,
    joins_incidents,
    lock_keys,
    mergeable,
    place,
    view,
)
from alerts.lifecycle import ENGINE, Action, State
from store.notify import CHANNEL, NOTIFY

# What a change to an alert needs for its incident. A camera's covers come from its config.
_SIGNALS = """
SELECT a.id, a.subject, a.device_id, a.class, a.state, a.suppressed_reason, a.incident_id,
       a.site, a.building, a.raised_at, a.last_at, a.detail, a.steps,
       CASE WHEN jsonb_typeof(d.config -> 'covers') = 'array'
            THEN ARRAY(SELECT jsonb_array_elements_text(d.config -> 'covers')) ELSE '{}' END
           AS covers
FROM alerts a LEFT JOIN devices d ON d.id = a.device_id
WHERE a.id = ANY(%s) ORDER BY a.raised_at, a.id
"""

# Every incident a batch may write, locked in one statement in id order before any write: the
# ones its changed signals are in, and the open ones of the places its new signals may join.
# FOR NO KEY UPDATE, as UPDATE takes: it does not wait for the key-share locks an alert row's
# foreign key takes (an alert updated twice in one transaction has its key checked again). The
# state is checked again after a wait: an incident resolved meanwhile is not joined.
_LOCK_PLACES = """
SELECT i.id, i.building, i.origin, i.covers, i.state,
       ARRAY(SELECT t FROM alerts a, unnest(a.steps) t WHERE a.incident_id = i.id) AS steps
FROM incidents i
WHERE i.id = ANY(%(touched)s)
   OR (i.state <> 'resolved'
       AND (i.building = ANY(%(buildings)s) OR i.origin = ANY(%(origins)s)
            OR (i.building IS NULL AND i.covers && %(buildings)s)))
ORDER BY i.id
FOR NO KEY UPDATE OF i
"""

_MERGED = """
UPDATE incidents SET state = 'resolved', resolved_at = now(), resolved_by = 'engine',
    cause = 'other', resolution_note = 'merged into incident ' || %(into)s, updated_at = now()
WHERE id = %(id)s
"""

_OPEN = """
INSERT INTO incidents (site, building, origin, covers, position, class, state, opened_at,
                       last_at)
VALUES (%(site)s, %(building)s, %(origin)s, %(covers)s, %(position)s, %(class)s, %(state)s,
        %(at)s, %(at)s)
RETURNING id
"""

LOCKED = """
SELECT id, state, class, confirmed_at, acked_by, shelved_until, shelve_reason, opened_at,
       last_at
FROM incidents WHERE id = ANY(%s) ORDER BY id FOR NO KEY UPDATE
"""

MEMBERS = """
SELECT id, incident_id, device_id, subject, rule, class, state, condition_active, raised_at,
       last_at, steps, shelved_until
FROM alerts WHERE incident_id = ANY(%s) ORDER BY id
"""

UPDATE = """
UPDATE incidents SET state = %(state)s, class = %(class)s, confirmed_at = %(confirmed_at)s,
    last_at = greatest(last_at, %(last_at)s), opened_at = least(opened_at, %(opened_at)s),
    updated_at = now(),
    shelved_until = CASE WHEN %(state)s = 'shelved' THEN %(shelved_until)s::timestamptz END,
    resolved_at = CASE WHEN %(state)s = 'resolved' THEN coalesce(resolved_at, now()) END,
    resolved_by = CASE WHEN %(state)s = 'resolved' THEN coalesce(resolved_by, %(actor)s) END,
    cause = CASE WHEN %(state)s = 'resolved' THEN coalesce(cause, 'other') END,
    resolution_note = CASE WHEN %(state)s = 'resolved'
                           THEN coalesce(resolution_note, 'every signal returned to normal') END
WHERE id = %(id)s
"""

ALERT_LOG = """
INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)
VALUES (%s, %s, %s, %s, %s, %s)
"""

LOG = """
INSERT INTO incident_log (incident_id, actor, action, from_state, to_state, detail)
VALUES (%s, %s, %s, %s, %s, %s)
"""

# A signal carried by its incident's acknowledgement or shelf: logged on the alert, by the
# engine, naming the incident and who acknowledged or shelved it.
_CARRY = {
    Action.ACK: "acked_at = now(), acked_by = %(by)s,",
    Action.SHELVE: "shelved_until = %(until)s, shelve_reason = %(reason)s,",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class IncidentChange:
    """One incident's change in a transaction: its log row, and the NOTIFY that wakes readers."""

    id: int
    action: str
    from_state: str | None
    to_state: str
    detail: dict[str, Any]

    def log_params(self, actor: str) -> tuple[Any, ...]:
        """``LOG``'s parameters."""
        return (self.id, actor, self.action, self.from_state, self.to_state, Jsonb(self.detail))

    def notification(self) -> tuple[str, str]:
        payload = {"incident": self.id, "change": self.action, "state": self.to_state}
        return CHANNEL, orjson.dumps(payload).decode()


@dataclass(slots=True)
class Refreshed:
    """What a refresh changed, to log once the caller's own log rows are written: every row
    lock comes before the first log row (see store.alerts), and an incident's log follows its
    signals' in the timeline."""

    changes: list[IncidentChange] = field(default_factory=list)
    carried: list[tuple[Any, ...]] = field(default_factory=list)  # alert_log rows of carries

    def write_logs(self, c: psycopg.Cursor[Any], *, actor: str) -> None:
        """Logs and NOTIFYs; the commit-order lock is taken here."""
        c.executemany(ALERT_LOG, self.carried)
        c.executemany(LOG, [change.log_params(actor) for change in self.changes])
        c.executemany(NOTIFY, [change.notification() for change in self.changes])


def absorb(cur: psycopg.Cursor[Any], alert_ids: Collection[int], *, window_s: float) -> Refreshed:
    """Places the changed alerts that belong in an incident and have none, then brings every
    incident they are in up to date; logged and NOTIFYed. ``alert_ids``: the alerts the batch
    announced (opened, moved up, returned, resolved...)."""
    if not alert_ids:
        return Refreshed()
    with cur.connection.cursor(row_factory=dict_row) as c:
        c.execute(_SIGNALS, (sorted(alert_ids),))
        rows = c.fetchall()
        touched = {r["incident_id"] for r in rows if r["incident_id"] is not None}
        wanting = [
            r
            for r in rows
            if r["incident_id"] is None
            and r["state"] != State.RESOLVED
            and joins_incidents(
                subject=r["subject"], alert_class=r["class"], suppressed=r["suppressed_reason"]
            )
        ]
        candidates = [_candidate(r) for r in wanting]
        # The places of every signal in or wanting an incident: a changed signal may bring its
        # incident and a camera's incident of the same fire together (``_merge``).
        placed = [r for r in rows if r["incident_id"] is not None]
        keys = sorted(
            {k for cand in candidates + [_candidate(r) for r in placed] for k in lock_keys(cand)}
        )
        # Places first (workers serialise per building), then the incidents, then writes.
        c.executemany(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 16))", [(k,) for k in keys]
        )
        found = _lock(c, touched=touched, keys=keys) if touched or keys else {}
        joined: dict[int, list[int]] = {}
        opened: set[int] = set()
        _place(c, candidates, wanting, found=found, window_s=window_s, joined=joined, opened=opened)
        touched |= joined.keys()
        done = Refreshed()
        for ident in sorted(touched):
            if ident in found:
                touched -= _merge(
                    c, ident, found=found, window_s=window_s, joined=joined, done=done
                )
        fresh = {a for ids in joined.values() for a in ids} | {
            r["id"] for r in rows if r["incident_id"] is not None
        }
        refreshed = refresh(
            c, touched, actor=ENGINE, window_s=window_s, fresh=fresh, opened=opened, joined=joined
        )
        refreshed.changes[:0] = done.changes
        return refreshed


def _merge(
    c: psycopg.Cursor[dict[str, Any]],
    ident: int,
    *,
    found: dict[int, OpenIncident],
    window_s: float,
    joined: dict[int, list[int]],
    done: Refreshed,
) -> set[int]:
    """Brings the camera incidents that are incident ``ident``'s episode into it
    (``alerts.incidents.mergeable``): their signals move, they are resolved as merged. Returns
    the ids merged away."""
    into = found[ident]
    gone = set(mergeable(into, found.values(), window_s=window_s))
    for other in sorted(gone):
        c.execute("SELECT state FROM incidents WHERE id = %s", (other,))
        was = c.fetchone()
        c.execute(
            "UPDATE alerts SET incident_id = %s WHERE incident_id = %s RETURNING id", (ident, other)
        )
        joined.setdefault(ident, []).extend(r["id"] for r in c.fetchall())
        c.execute(_MERGED, {"id": other, "into": ident})
        done.changes.append(
            IncidentChange(
                id=other,
                action="merge",
                from_state=was["state"] if was else None,
                to_state=State.RESOLVED.value,
                detail={"into": ident},
            )
        )
        into = OpenIncident(
            id=into.id,
            building=into.building,
            origin=into.origin,
            covers=into.covers,
            steps=into.steps + found[other].steps,
        )
        del found[other]
    found[ident] = into
    return gone


def _candidate(row: dict[str, Any]) -> Candidate:
    return Candidate(
        alert_id=row["id"],
        device_id=row["subject"],
        building=row["building"],
        covers=tuple(row["covers"]),
        at=row["raised_at"],
    )


def _lock(
    c: psycopg.Cursor[dict[str, Any]], *, touched: Collection[int], keys: Sequence[str]
) -> dict[int, OpenIncident]:
    """Locks the incidents the batch may write (``_LOCK_PLACES``); returns the open ones."""
    buildings = [k.partition(":")[2] for k in keys if k.startswith("building:")]
    origins = [k.partition(":")[2] for k in keys if k.startswith("origin:")]
    c.execute(
        _LOCK_PLACES, {"touched": sorted(touched), "buildings": buildings, "origins": origins}
    )
    return {
        r["id"]: OpenIncident(
            id=r["id"],
            building=r["building"],
            origin=r["origin"],
            covers=frozenset(r["covers"]),
            steps=tuple(r["steps"]),
        )
        for r in c.fetchall()
        if r["state"] != State.RESOLVED
    }


def _place(
    c: psycopg.Cursor[dict[str, Any]],
    candidates: Sequence[Candidate],
    rows: Sequence[dict[str, Any]],
    *,
    found: dict[int, OpenIncident],
    window_s: float,
    joined: dict[int, list[int]],
    opened: set[int],
) -> None:
    """Puts each new signal in its incident (``alerts.incidents.place``), opening incidents
    as needed; ``found``: the open incidents, locked."""
    by_id = {r["id"]: r for r in rows}
    for cand in candidates:
        row = by_id[cand.alert_id]
        where = place(cand, list(found.values()), window_s=window_s)
        if isinstance(where, Join):
            incident = found[where.incident_id]
            if where.building is not None:
                c.execute(
                    "UPDATE incidents SET building = %s, updated_at = now()"
                    " WHERE id = %s AND building IS NULL",
                    (where.building, incident.id),
                )
            found[incident.id] = OpenIncident(
                id=incident.id,
                building=where.building or incident.building,
                origin=incident.origin,
                covers=incident.covers,
                steps=incident.steps + tuple(row["steps"]),
            )
            ident = incident.id
        else:
            c.execute(
                _OPEN,
                {
                    "site": row["site"],
                    "building": where.building,
                    "origin": where.origin,
                    "covers": list(where.covers),
                    "position": Jsonb(_position(row["detail"])) if where.origin else None,
                    "class": row["class"],
                    "state": row["state"],
                    "at": cand.at,
                },
            )
            made = c.fetchone()
            assert made is not None
            ident = made["id"]
            opened.add(ident)
            found[ident] = OpenIncident(
                id=ident,
                building=where.building,
                origin=where.origin,
                covers=frozenset(where.covers),
                steps=tuple(row["steps"]),
            )
        joined.setdefault(ident, []).append(cand.alert_id)
        c.execute("UPDATE alerts SET incident_id = %s WHERE id = %s", (ident, cand.alert_id))


def _position(detail: dict[str, Any]) -> dict[str, Any] | None:
    """Where a camera's target is in its image, as its thermal analysis reported it."""
    keys = ("hot_pixel", "bbox", "spot_max_c", "preset", "region")
    found = {k: detail[k] for k in keys if k in detail}
    return found or None


def refresh(
    c: psycopg.Cursor[dict[str, Any]],
    incident_ids: Iterable[int],
    *,
    actor: str,
    window_s: float,
    fresh: Collection[int] = (),
    opened: Collection[int] = (),
    joined: dict[int, list[int]] | None = None,
    action: str | None = None,
) -> Refreshed:
    """Brings each incident's state, class and confirmation in line with its signals, and
    carries an acknowledgement or shelf over the ``fresh`` signals (joined or moved up now)
    where ``alerts.incidents.carried`` says so; returns what to log (``Refreshed.write_logs``).
    ``action`` names an operator's action, logged even if nothing else changed."""
    ids = sorted(set(incident_ids))
    done = Refreshed()
    if not ids:
        return done
    joined = joined or {}
    c.execute(LOCKED, (ids,))
    incidents = {r["id"]: r for r in c.fetchall()}
    c.execute(MEMBERS, (ids,))
    members = signals_of(c.fetchall())
    for ident in ids:
        row = incidents[ident]
        signals = members.get(ident, [])
        before = before_of(row)
        after = view(signals, before=before, window_s=window_s)
        carry = carried(before, after) if ident not in opened else None
        if carry is Action.SHELVE and row["shelved_until"] is None:
            carry = None  # a shelf without an end is no shelf to join
        if carry is not None:
            moved = [s for s in signals if s.alert_id in fresh and s.state is State.ACTIVE_UNACK]
            if carry is Action.ACK:
                moved = acknowledged_episode(
                    moved, signals, fresh=fresh, joined=joined.get(ident, ())
                )
            if moved:
                done.carried += _carry(c, ident, row, carry, moved)
                c.execute(MEMBERS, ([ident],))
                signals = signals_of(c.fetchall()).get(ident, [])
                after = view(signals, before=before, window_s=window_s)
        found = outcome(
            row,
            before,
            after,
            signals,
            actor=actor,
            opened=ident in opened,
            joined=joined,
            action=action,
        )
        if found is not None:
            c.execute(UPDATE, found[0])
            done.changes.append(found[1])
    return done


def signals_of(rows: Iterable[dict[str, Any]]) -> dict[int, list[Signal]]:
    """``MEMBERS`` rows as each incident's signals."""
    out: dict[int, list[Signal]] = {}
    for r in rows:
        out.setdefault(r["incident_id"], []).append(
            Signal(
                alert_id=r["id"],
                device_id=r["device_id"] or r["subject"],
                rule=r["rule"],
                alert_class=r["class"],
                state=State(r["state"]),
                condition_active=r["condition_active"],
                raised_at=r["raised_at"],
                last_at=r["last_at"],
                steps=tuple(r["steps"]),
                shelved_until=r["shelved_until"],
            )
        )
    return out


def before_of(row: dict[str, Any]) -> View:
    """What a ``LOCKED`` row says the incident was."""
    return View(
        state=State(row["state"]), alert_class=row["class"], confirmed_at=row["confirmed_at"]
    )


def outcome(
    row: dict[str, Any],
    before: View,
    after: View,
    signals: Sequence[Signal],
    *,
    actor: str,
    opened: bool,
    joined: dict[int, list[int]],
    action: str | None,
) -> tuple[dict[str, Any], IncidentChange] | None:
    """The ``UPDATE`` parameters and the change to log for one incident; None if nothing
    changed."""
    ident = row["id"]
    logged = _logged(ident, before, after, opened=opened, joined=joined, action=action)
    if logged is None:
        return None
    last_at = max((s.last_at for s in signals), default=row["last_at"])
    opened_at = min((s.raised_at for s in signals), default=row["opened_at"])
    # A shelf ends when its last signal's does: an incident shelved by its signals (not by a
    # shelve of its own) has an end all the same, which a signal joining it later inherits.
    shelves = [s.shelved_until for s in signals if s.state is State.SHELVED and s.shelved_until]
    params = {
        "id": ident,
        "state": after.state.value,
        "class": after.alert_class,
        "confirmed_at": after.confirmed_at,
        "last_at": max(last_at, row["last_at"]),
        "opened_at": opened_at,
        "shelved_until": max(shelves, default=None),
        "actor": actor,
    }
    change = IncidentChange(
        id=ident,
        action=logged[0],
        from_state=None if opened else before.state.value,
        to_state=after.state.value,
        detail=logged[1],
    )
    return params, change


def _carry(
    c: psycopg.Cursor[dict[str, Any]],
    ident: int,
    row: dict[str, Any],
    carry: Action,
    signals: Sequence[Signal],
) -> list[tuple[Any, ...]]:
    """Moves the signals with the incident's acknowledgement or shelf; returns their log rows."""
    to = State.ACTIVE_ACK if carry is Action.ACK else State.SHELVED
    params = {
        "ids": [s.alert_id for s in signals],
        "to": to.value,
        "by": row["acked_by"],
        "until": row["shelved_until"],
        "reason": row["shelve_reason"],
    }
    c.execute(
        f"UPDATE alerts SET state = %(to)s, {_CARRY[carry]} updated_at = now()"
        " WHERE id = ANY(%(ids)s)",
        params,
    )
    detail = {"incident": ident, "with": row["acked_by"] if carry is Action.ACK else None}
    return [
        (s.alert_id, ENGINE, carry.value, s.state.value, to.value, Jsonb(detail)) for s in signals
    ]


def _logged(
    ident: int,
    before: View,
    after: View,
    *,
    opened: bool,
    joined: dict[int, list[int]],
    action: str | None,
) -> tuple[str, dict[str, Any]] | None:
    """The incident log's action and detail for what changed, the most telling first; None
    when nothing did."""
    detail: dict[str, Any] = {"class": after.alert_class}
    if ident in joined:
        detail["signals"] = joined[ident]
    confirmed = before.confirmed_at is None and after.confirmed_at is not None
    if after.confirmed_at is not None and confirmed:
        detail["confirmed_at"] = after.confirmed_at.isoformat()
    rose = after.alert_class != before.alert_class
    if rose:
        detail["from_class"] = before.alert_class
    moved = after.state is not before.state
    for happened, name in (
        (opened, "open"),
        (action is not None, action),
        (confirmed, "confirm"),
        (rose, "rise"),
        (ident in joined, "join"),
        (moved, _STATE_CHANGE.get(after.state, "update")),
    ):
        if happened and name is not None:
            return name, detail
    return None


_STATE_CHANGE = {State.RESOLVED: "resolve", State.RETURNED_UNACK: "return"}


def opened_since(conn: psycopg.Connection[Any], *, since: datetime) -> dict[str, int]:
    """Incidents opened per site since ``since`` (server time), for flood detection: floods
    count what operators must act on, incidents, not the signals inside them."""
    rows = conn.execute(
        "SELECT site, count(*) FROM incidents WHERE created_at >= %s AND site IS NOT NULL"
        " GROUP BY site",
        (since,),
    ).fetchall()
    return {site: n for site, n in rows}
