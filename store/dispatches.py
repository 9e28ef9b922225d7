"""Dispatch rows: incidents sent to grid workers, the people each dispatch reached, the sites'
choice of automatic dispatch, and the 119 call, in the caller's transaction. ``dispatch.*``
decides who and what; this module reads and writes.

Every step is also an ``incident_log`` row (``log_steps``), the live stream's ``incident``
event, so the operator's screen follows the dispatch as it follows the signals. Logs go last
in a transaction: the first one takes the log's commit-order lock (migration 0006), which no
transaction may hold while it waits for a row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from store.audit import Actor, record
from store.deliveries import cancel_pending
from store.incidents import LOG, IncidentChange
from store.notify import NOTIFY

_DISPATCH_COLUMNS = """
d.id, d.incident_id, d.site, d.zone, d.automatic, d.created_by, d.created_at, d.state, d.level,
d.person_id, d.person_name, d.notified_at, d.exhausted_at, d.accepted_at, d.on_my_way_at,
d.arrived_at, d.verdict_at, d.verdict, d.cause, d.note, d.revoked_at, d.revoked_by, d.closed_at
"""

_FACTS = """
SELECT i.id, i.site, i.building, i.origin, i.class, i.state, i.confirmed_at,
       b.name AS building_name, b.address, coalesce(b.lat, o.lat) AS lat,
       coalesce(b.lon, o.lon) AS lon, o.zone AS origin_zone
FROM incidents i
LEFT JOIN buildings b ON b.id = i.building
LEFT JOIN devices o ON o.id = i.origin
WHERE i.id = %s
"""

_OPEN = """
INSERT INTO dispatches (incident_id, site, zone, automatic, created_by, created_at)
VALUES (%(incident)s, %(site)s, %(zone)s, %(automatic)s, %(by)s, %(now)s)
ON CONFLICT DO NOTHING
RETURNING id
"""

# Open dispatches nobody accepted in time, or whose latest notice reached nobody (every one
# of its deliveries failed for good), whose incident is still open: one at a time, so each
# escalation is a short transaction of its own and several loops share the work.
_DUE = f"""
SELECT {_DISPATCH_COLUMNS},
       d.notified_at > %(now)s - make_interval(secs => %(accept_s)s) AS undelivered
FROM dispatches d JOIN incidents i ON i.id = d.incident_id
WHERE d.site = %(site)s AND d.state = 'notifying' AND d.exhausted_at IS NULL
  AND (d.notified_at <= %(now)s - make_interval(secs => %(accept_s)s)
       OR NOT EXISTS (SELECT 1 FROM deliveries q WHERE q.dispatch_id = d.id
                      AND q.person_id = d.person_id AND q.state <> 'failed'))
  AND i.state <> 'resolved'
ORDER BY d.notified_at, d.id
LIMIT 1
FOR UPDATE OF d SKIP LOCKED
"""

# The site's confirmed fires with no dispatch yet, if it dispatches them automatically.
_AUTO = """
SELECT i.id FROM incidents i JOIN dispatch_settings s ON s.site = i.site
WHERE i.site = %(site)s AND i.state <> 'resolved' AND i.class = 'fire'
  AND i.confirmed_at IS NOT NULL AND s.auto_dispatch_fire
  AND NOT EXISTS (SELECT 1 FROM dispatches d WHERE d.incident_id = i.id)
ORDER BY i.id LIMIT %(limit)s
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice:
    """One person a dispatch reached, and the link sent to them."""

    dispatch_id: int
    person_id: str
    name: str
    role: str
    phone: str | None
    level: int
    step: str  # dispatch | escalate
    link_id: str
    expires_at: datetime
    channels: int
    at: datetime


async def incident_facts(
    conn: psycopg.AsyncConnection[Any], incident_id: int
) -> dict[str, Any] | None:
    """The incident with its place (building, or the camera of a target outside them) and its
    signals, oldest first; None if there is no such incident."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_FACTS, (incident_id,))
        found = await cur.fetchone()
        if found is None:
            return None
        await cur.execute(
            "SELECT coalesce(device_id, subject) AS device_id, rule, class FROM alerts"
            " WHERE incident_id = %s ORDER BY raised_at, id",
            (incident_id,),
        )
        return {**found, "signals": await cur.fetchall()}


async def open_dispatch(
    conn: psycopg.AsyncConnection[Any],
    *,
    incident_id: int,
    site: str | None,
    zone: str | None,
    automatic: bool,
    created_by: str,
    now: datetime,
) -> int | None:
    """The new dispatch's id; None when the incident has an open dispatch already, or (for
    ``automatic``) had its automatic one. A concurrent twin waits here for the first to
    commit, then finds it."""
    params = {
        "incident": incident_id,
        "site": site,
        "zone": zone,
        "automatic": automatic,
        "by": created_by,
        "now": now,
    }
    row = await (await conn.execute(_OPEN, params)).fetchone()
    return None if row is None else int(row[0])


async def open_dispatch_of(conn: psycopg.AsyncConnection[Any], incident_id: int) -> int | None:
    row = await (
        await conn.execute(
            "SELECT id FROM dispatches WHERE incident_id = %s AND closed_at IS NULL",
            (incident_id,),
        )
    ).fetchone()
    return None if row is None else int(row[0])


async def add_notice(conn: psycopg.AsyncConnection[Any], notice: Notice) -> None:
    """The person's link and notice; the dispatch now waits for them (its accept clock
    restarts)."""
    await conn.execute(
        "INSERT INTO field_links (id, dispatch_id, person_id, expires_at, created_at)"
        " VALUES (%s, %s, %s, %s, %s)",
        (notice.link_id, notice.dispatch_id, notice.person_id, notice.expires_at, notice.at),
    )
    await conn.execute(
        "INSERT INTO dispatch_notices (dispatch_id, person_id, name, role, phone, level, step,"
        " link_id, channels, notified_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            notice.dispatch_id,
            notice.person_id,
            notice.name,
            notice.role,
            notice.phone,
            notice.level,
            notice.step,
            notice.link_id,
            notice.channels,
            notice.at,
        ),
    )
    await conn.execute(
        "UPDATE dispatches SET level = greatest(level, %s), person_id = %s, person_name = %s,"
        " notified_at = %s WHERE id = %s",
        (notice.level, notice.person_id, notice.name, notice.at, notice.dispatch_id),
    )


async def notified(conn: psycopg.AsyncConnection[Any], dispatch_id: int) -> set[str]:
    """The people this dispatch reached so far."""
    cur = await conn.execute(
        "SELECT person_id FROM dispatch_notices WHERE dispatch_id = %s", (dispatch_id,)
    )
    return {r[0] for r in await cur.fetchall()}


async def lock_due(
    conn: psycopg.AsyncConnection[Any], *, site: str, now: datetime, accept_s: float
) -> dict[str, Any] | None:
    """One of the site's dispatches whose accept time ran out, or (``undelivered``) whose
    latest notice reached nobody, locked (others' loops skip it)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_DUE, {"site": site, "now": now, "accept_s": accept_s})
        return await cur.fetchone()


async def mark_exhausted(
    conn: psycopg.AsyncConnection[Any], dispatch_id: int, *, now: datetime
) -> None:
    await conn.execute("UPDATE dispatches SET exhausted_at = %s WHERE id = %s", (now, dispatch_id))


async def auto_candidates(
    conn: psycopg.AsyncConnection[Any], *, site: str, limit: int
) -> list[int]:
    cur = await conn.execute(_AUTO, {"site": site, "limit": limit})
    return [r[0] for r in await cur.fetchall()]


async def log_steps(
    conn: psycopg.AsyncConnection[Any],
    incident_id: int,
    steps: Sequence[tuple[str, str, dict[str, Any]]],
) -> None:
    """Each (actor, action, detail) as an incident timeline step, told to the live stream;
    the incident's state is recorded as it is, unchanged."""
    if not steps:
        return
    cur = await conn.execute("SELECT state FROM incidents WHERE id = %s", (incident_id,))
    row = await cur.fetchone()
    assert row is not None  # the caller found the incident
    async with conn.cursor() as c:
        for actor, action, detail in steps:
            change = IncidentChange(
                id=incident_id, action=action, from_state=row[0], to_state=row[0], detail=detail
            )
            await c.execute(LOG, change.log_params(actor))
            await c.execute(NOTIFY, change.notification())


async def dispatches_of(
    conn: psycopg.AsyncConnection[Any], incident_id: int
) -> list[dict[str, Any]]:
    """The incident's dispatches, oldest first, each with its notices (call order) and its
    photos' descriptions."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_DISPATCH_COLUMNS} FROM dispatches d WHERE d.incident_id = %s ORDER BY d.id",
            (incident_id,),
        )
        found = await cur.fetchall()
        ids = [d["id"] for d in found]
        await cur.execute(
            "SELECT n.dispatch_id, n.person_id, n.name, n.role, n.phone, n.level, n.step,"
            " n.channels, n.notified_at, l.expires_at, l.revoked_at, l.views, l.answers,"
            " l.refusals, l.last_used_at"
            " FROM dispatch_notices n JOIN field_links l ON l.id = n.link_id"
            " WHERE n.dispatch_id = ANY(%s) ORDER BY n.notified_at, n.level",
            (ids,),
        )
        notices = await cur.fetchall()
        await cur.execute(
            "SELECT id, dispatch_id, person_id, content_type, size, at FROM field_photos"
            " WHERE dispatch_id = ANY(%s) ORDER BY id",
            (ids,),
        )
        photos = await cur.fetchall()
    for d in found:
        d["notices"] = [n for n in notices if n["dispatch_id"] == d["id"]]
        d["photos"] = [p for p in photos if p["dispatch_id"] == d["id"]]
    return found


async def dispatch_row(
    conn: psycopg.AsyncConnection[Any], dispatch_id: int, *, lock: bool = False
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_DISPATCH_COLUMNS} FROM dispatches d WHERE d.id = %s"
            + (" FOR UPDATE" if lock else ""),
            (dispatch_id,),
        )
        return await cur.fetchone()


async def revoke(
    conn: psycopg.AsyncConnection[Any], dispatch_id: int, *, by: str, now: datetime
) -> None:
    """Closes the (locked, open) dispatch, withdraws every link it sent and cancels its
    deliveries not yet sent."""
    await conn.execute(
        "UPDATE dispatches SET state = 'revoked', revoked_at = %s, revoked_by = %s,"
        " closed_at = %s WHERE id = %s",
        (now, by, now, dispatch_id),
    )
    await conn.execute(
        "UPDATE field_links SET revoked_at = %s WHERE dispatch_id = %s AND revoked_at IS NULL",
        (now, dispatch_id),
    )
    await cancel_pending(conn, dispatch_id=dispatch_id, reason=f"dispatch revoked by {by}")


async def dispatch_settings(conn: psycopg.AsyncConnection[Any], site: str) -> dict[str, Any]:
    """A site without a row has automatic dispatch off."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT site, auto_dispatch_fire, updated_by, updated_at FROM dispatch_settings"
            " WHERE site = %s",
            (site,),
        )
        found = await cur.fetchone()
    return found or {
        "site": site,
        "auto_dispatch_fire": False,
        "updated_by": None,
        "updated_at": None,
    }


async def put_dispatch_settings(
    conn: psycopg.AsyncConnection[Any], *, site: str, auto_dispatch_fire: bool, actor: Actor
) -> dict[str, Any]:
    """Audited with what it was before."""
    before = await dispatch_settings(conn, site)
    await conn.execute(
        "INSERT INTO dispatch_settings (site, auto_dispatch_fire, updated_by)"
        " VALUES (%s, %s, %s) ON CONFLICT (site) DO UPDATE SET"
        " auto_dispatch_fire = excluded.auto_dispatch_fire,"
        " updated_by = excluded.updated_by, updated_at = now()",
        (site, auto_dispatch_fire, actor.name),
    )
    await record(
        conn,
        actor,
        subject_type="site",
        subject_id=site,
        action="dispatch_settings",
        detail={
            "auto_dispatch_fire": auto_dispatch_fire,
            "before": before["auto_dispatch_fire"],
        },
    )
    return await dispatch_settings(conn, site)


async def lock_incident(
    conn: psycopg.AsyncConnection[Any], incident_id: int
) -> dict[str, Any] | None:
    """The incident's state and 119 record, locked for the operator's 119 answer as every
    writer of an incident locks it (FOR NO KEY UPDATE: its signals' foreign keys still pass)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT id, state, call_119_requested_at, call_119_at FROM incidents"
            " WHERE id = %s FOR NO KEY UPDATE",
            (incident_id,),
        )
        return await cur.fetchone()


async def request_call_119(
    conn: psycopg.AsyncConnection[Any], incident_id: int, *, now: datetime
) -> None:
    """A real fire reported from the field: the operator is asked to confirm the 119 call
    (asked again after an earlier answer)."""
    await conn.execute(
        "UPDATE incidents SET call_119_requested_at = %s, call_119_at = NULL,"
        " call_119_by = NULL, call_119_confirmed = NULL, call_119_note = NULL WHERE id = %s",
        (now, incident_id),
    )


async def record_call_119(
    conn: psycopg.AsyncConnection[Any],
    incident_id: int,
    *,
    confirmed: bool,
    note: str | None,
    by: str,
    now: datetime,
) -> None:
    await conn.execute(
        "UPDATE incidents SET call_119_at = %s, call_119_by = %s, call_119_confirmed = %s,"
        " call_119_note = %s WHERE id = %s",
        (now, by, confirmed, note, incident_id),
    )


async def call_119_of(conn: psycopg.AsyncConnection[Any], incident_id: int) -> dict[str, Any]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT call_119_requested_at AS requested_at, call_119_at AS at, call_119_by AS by,"
            " call_119_confirmed AS confirmed, call_119_note AS note,"
            " (call_119_requested_at IS NOT NULL AND call_119_at IS NULL) AS pending"
            " FROM incidents WHERE id = %s",
            (incident_id,),
        )
        found = await cur.fetchone()
    assert found is not None  # the caller found the incident
    return found


async def milestones(conn: psycopg.AsyncConnection[Any], incident_id: int) -> dict[str, Any]:
    """When each step of the incident's handling first happened (server clock, but
    ``detected``: its first signal's device clock): detected, acknowledged, video checked,
    dispatched, accepted, arrived, verdict, closed."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_MILESTONES, {"id": incident_id})
        found = await cur.fetchone()
    assert found is not None  # the caller found the incident
    return found


# The first of each: an acknowledgement is a person's first, on the incident or a signal.
_MILESTONES = """
SELECT i.opened_at AS detected,
       least(i.acked_at, (SELECT min(l.at) FROM alert_log l JOIN alerts a ON a.id = l.alert_id
                          WHERE a.incident_id = i.id AND l.action = 'ack')) AS acknowledged,
       (SELECT min(l.at) FROM incident_log l
        WHERE l.incident_id = i.id AND l.action = 'video_check') AS video_checked,
       (SELECT min(created_at) FROM dispatches WHERE incident_id = i.id) AS dispatched,
       (SELECT min(accepted_at) FROM dispatches WHERE incident_id = i.id) AS accepted,
       (SELECT min(arrived_at) FROM dispatches WHERE incident_id = i.id) AS arrived,
       (SELECT min(verdict_at) FROM dispatches WHERE incident_id = i.id) AS verdict,
       i.resolved_at AS closed
FROM incidents i WHERE i.id = %(id)s
"""
