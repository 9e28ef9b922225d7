"""Reading incidents for people: filtered pages, one incident with its merged timeline, and the
summaries the live stream and the actions answer with.

Each incident comes with its signals (member alerts), its counts and the operator actions it
takes now; the signals of a whole page are read in one query, never one per incident.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from alerts.incidents import allowed
from alerts.lifecycle import State
from store.incidents import before_of, signals_of

INCIDENT_COLUMNS = (
    "id, site, building, origin, covers, position, class, state, confirmed_at, opened_at,"
    " last_at, created_at, updated_at, acked_at, acked_by, claimed_by, shelved_until,"
    " shelve_reason, resolved_at, resolved_by, cause, resolution_note,"
    # A real fire reported from the field waits for the operator's 119 answer (migration 0014).
    " (call_119_requested_at IS NOT NULL AND call_119_at IS NULL) AS call_119_pending"
)

_SIGNALS = """
SELECT id, incident_id, device_id, subject, rule, family, class, state, condition_active, peak,
       raised_at, last_at, count, steps, shelved_until
FROM alerts WHERE incident_id = ANY(%s) ORDER BY id
"""

# The incident's own log and its signals' logs are one sequence of ids (migration 0010): one
# ORDER BY makes them one timeline.
_TIMELINE = """
SELECT l.id, l.at, l.actor, l.action, l.from_state, l.to_state, l.detail, 'incident' AS source,
       NULL::bigint AS alert_id, NULL::text AS device_id, NULL::text AS rule
FROM incident_log l WHERE l.incident_id = %(id)s
UNION ALL
SELECT l.id, l.at, l.actor, l.action, l.from_state, l.to_state, l.detail, 'alert',
       a.id, coalesce(a.device_id, a.subject), a.rule
FROM alert_log l JOIN alerts a ON a.id = l.alert_id WHERE a.incident_id = %(id)s
ORDER BY id
"""


@dataclass(kw_only=True, frozen=True, slots=True)
class IncidentFilter:
    """``since`` and ``until`` bound ``opened_at``, the event time of the incident's first
    signal, as an alert's bound its ``raised_at``: the time the fire was seen, not stored."""

    open_only: bool = False
    incident_class: str | None = None
    state: str | None = None
    site: str | None = None
    building: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # the cursor: incidents older than this one
    limit: int = 100


async def list_incidents(
    conn: psycopg.AsyncConnection[Any], f: IncidentFilter
) -> list[dict[str, Any]]:
    """Newest first, by id (the order incidents were opened), so a cursor never skips one."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("class", f.incident_class),
        ("state", f.state),
        ("site", f.site),
        ("building", f.building),
    ):
        if value is not None:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    bounds: tuple[tuple[LiteralString, Any], ...] = (
        ("opened_at >= %s", f.since),
        ("opened_at < %s", f.until),
        ("id < %s", f.before_id),
    )
    for clause, bound in bounds:
        if bound is not None:
            where.append(sql.SQL(clause))
            params.append(bound)
    if f.open_only:
        where.append(sql.SQL("state <> 'resolved'"))
    query = sql.SQL("SELECT {} FROM incidents {} ORDER BY id DESC LIMIT %s").format(
        sql.SQL(INCIDENT_COLUMNS),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, [*params, f.limit])
        return await _summaries(cur, await cur.fetchall())


async def incidents_by_id(
    conn: psycopg.AsyncConnection[Any], ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """The incidents as the list shows them, by id; unknown ids are left out."""
    if not ids:
        return {}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = ANY(%s) ORDER BY id",
            (sorted(ids),),
        )
        return {i["id"]: i for i in await _summaries(cur, await cur.fetchall())}


async def incident_detail(
    conn: psycopg.AsyncConnection[Any], incident_id: int
) -> dict[str, Any] | None:
    """The incident with its signals, and its log and its signals' logs as one timeline."""
    found = (await incidents_by_id(conn, [incident_id])).get(incident_id)
    if found is None:
        return None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_TIMELINE, {"id": incident_id})
        return {"incident": found, "timeline": await cur.fetchall()}


async def _summaries(
    cur: psycopg.AsyncCursor[dict[str, Any]], rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Each incident row with its signals, counts, ``confirmed`` and ``allowed``."""
    if not rows:
        return []
    await cur.execute(_SIGNALS, ([r["id"] for r in rows],))
    members = await cur.fetchall()
    grouped: dict[int, list[dict[str, Any]]] = {}
    for m in members:
        grouped.setdefault(m["incident_id"], []).append(m)
    signals = signals_of(members)
    return [
        {
            **row,
            "confirmed": row["confirmed_at"] is not None,
            "signals": [_signal(m) for m in grouped.get(row["id"], [])],
            "counts": _counts(grouped.get(row["id"], [])),
            "allowed": allowed(signals.get(row["id"], []), incident=before_of(row)),
        }
        for row in rows
    ]


def _signal(m: dict[str, Any]) -> dict[str, Any]:
    return {
        "alert_id": m["id"],
        "device_id": m["device_id"] or m["subject"],
        "rule": m["rule"],
        "family": m["family"],
        "class": m["class"],
        "state": m["state"],
        "peak": m["peak"],
        "first_at": m["raised_at"],
        "last_at": m["last_at"],
        "count": m["count"],
    }


def _counts(members: Sequence[dict[str, Any]]) -> dict[str, Any]:
    by_class: dict[str, int] = {}
    for m in members:
        by_class[m["class"]] = by_class.get(m["class"], 0) + 1
    return {
        "signals": len(members),
        "open_signals": sum(m["state"] != State.RESOLVED for m in members),
        "devices": len({m["device_id"] or m["subject"] for m in members}),
        "by_class": by_class,
    }
