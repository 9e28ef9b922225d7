"""Reading alerts for people: filtered lists, one alert with its audit trail and the readings
around it, and the alert and incident logs read as one event stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from store.incident_queries import incidents_by_id
from store.notify import CHANNEL

ALERT_COLUMNS = (
    "id, device_id, subject, rule, class, state, raised_at, received_at, last_at, count, peak,"
    " detail, site, building, condition_active, latching, chattering, suppressed_reason,"
    " acked_at, acked_by, shelved_until, shelve_reason, claimed_by, escalation_level,"
    " escalated_at, returned_at, created_at, updated_at, resolved_at, resolved_by, cause,"
    " resolution_note, parent_id, family, incident_id"
)

# Readings shown with an alert: from shortly before it was raised to a while after.
BEFORE = timedelta(minutes=10)
AFTER = timedelta(minutes=20)
MAX_POINTS = 2000


@dataclass(kw_only=True, frozen=True, slots=True)
class AlertFilter:
    open_only: bool = False
    alert_class: str | None = None
    state: str | None = None
    site: str | None = None
    building: str | None = None
    device: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None  # the cursor: alerts older than this one
    limit: int = 200
    # Alerts of devices in maintenance, commissioning or test are recorded but never
    # dispatched: the technician's view has them, the operators' does not.
    include_suppressed: bool = True


async def list_alerts(conn: psycopg.AsyncConnection[Any], f: AlertFilter) -> list[dict[str, Any]]:
    """Newest first, by id (the order alerts were stored), so a cursor never skips one."""
    where: list[sql.Composable] = []
    params: list[Any] = []
    for column, value in (
        ("class", f.alert_class),
        ("state", f.state),
        ("site", f.site),
        ("building", f.building),
        ("device_id", f.device),
    ):
        if value is not None:
            where.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
    if f.open_only:
        where.append(sql.SQL("state <> 'resolved'"))
    if not f.include_suppressed:
        where.append(sql.SQL("suppressed_reason IS NULL"))
    if f.since is not None:
        where.append(sql.SQL("raised_at >= %s"))
        params.append(f.since)
    if f.until is not None:
        where.append(sql.SQL("raised_at < %s"))
        params.append(f.until)
    if f.before_id is not None:
        where.append(sql.SQL("id < %s"))
        params.append(f.before_id)
    query = sql.SQL("SELECT {} FROM alerts {} ORDER BY id DESC LIMIT %s").format(
        sql.SQL(ALERT_COLUMNS),
        sql.SQL("WHERE ") + sql.SQL(" AND ").join(where) if where else sql.SQL(""),
    )
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(query, [*params, f.limit])
        return await cur.fetchall()


async def alert_detail(conn: psycopg.AsyncConnection[Any], alert_id: int) -> dict[str, Any] | None:
    """The alert, every step of its audit trail, and its device's readings around it."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = %s", (alert_id,))
        alert = await cur.fetchone()
        if alert is None:
            return None
        await cur.execute(
            "SELECT id, at, actor, action, from_state, to_state, detail FROM alert_log"
            " WHERE alert_id = %s ORDER BY id",
            (alert_id,),
        )
        log = await cur.fetchall()
    readings: list[dict[str, Any]] = []
    if alert["device_id"] is not None:
        raised: datetime = alert["raised_at"]
        rows = await (
            await conn.execute(
                "SELECT metric, ts, value FROM readings WHERE device_id = %s"
                " AND ts >= %s AND ts < %s ORDER BY metric, ts LIMIT %s",
                (alert["device_id"], raised - BEFORE, raised + AFTER, MAX_POINTS),
            )
        ).fetchall()
        by_metric: dict[str, list[dict[str, Any]]] = {}
        for metric, ts, value in rows:
            by_metric.setdefault(metric, []).append({"t": ts, "v": value})
        readings = [{"metric": m, "points": p} for m, p in by_metric.items()]
    return {"alert": alert, "log": log, "readings": readings}


# --- The stream ------------------------------------------------------------------------------
# The alert log and the incident log share one sequence of ids, handed out in commit order
# (migrations 0006 and 0010): read as one log, an event's id is its position in the stream.

# Each arm ordered and limited itself: a merge of two index scans that stops at ``limit``,
# where one sort over the union would read every row of a long replay first.
_LOG_BETWEEN = """
(SELECT id AS log_id, 'alert' AS kind, alert_id AS ref, action, actor, from_state, to_state, at
 FROM alert_log WHERE id > %(after)s AND id <= %(upto)s ORDER BY id LIMIT %(limit)s)
UNION ALL
(SELECT id, 'incident', incident_id, action, actor, from_state, to_state, at
 FROM incident_log WHERE id > %(after)s AND id <= %(upto)s ORDER BY id LIMIT %(limit)s)
ORDER BY log_id LIMIT %(limit)s
"""

_NO_END = 2**63 - 1


async def stream_head(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (
        await conn.execute(
            "SELECT greatest((SELECT coalesce(max(id), 0) FROM alert_log),"
            " (SELECT coalesce(max(id), 0) FROM incident_log))"
        )
    ).fetchone()
    return int(row[0]) if row else 0


async def events_after(
    conn: psycopg.AsyncConnection[Any], after: int, *, upto: int | None, limit: int
) -> list[dict[str, Any]]:
    """Events after ``after`` (and at most ``upto``), oldest first: each a log row with its
    ``kind`` and, as they are now, its ``alert`` (an alerts row) or its ``incident`` (as
    ``store.incident_queries`` summarises one). Three queries a batch, whatever its size."""
    bounds = {"after": after, "upto": _NO_END if upto is None else upto, "limit": limit}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_LOG_BETWEEN, bounds)
        events = await cur.fetchall()
        alert_ids = sorted({e["ref"] for e in events if e["kind"] == "alert"})
        alerts: dict[int, dict[str, Any]] = {}
        if alert_ids:
            await cur.execute(
                f"SELECT {ALERT_COLUMNS} FROM alerts WHERE id = ANY(%s)", (alert_ids,)
            )
            alerts = {a["id"]: a for a in await cur.fetchall()}
    incidents = await incidents_by_id(conn, {e["ref"] for e in events if e["kind"] != "alert"})
    for e in events:
        ref = e.pop("ref")
        if e["kind"] == "alert":
            e["alert"] = alerts[ref]
        else:
            e["incident"] = incidents[ref]
    return events


async def events_between(
    conn: psycopg.AsyncConnection[Any], after: int, upto: int, *, limit: int
) -> int:
    """How many events lie in (after, upto], counting no further than ``limit``."""
    row = await (
        await conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alert_log WHERE id > %(after)s"
            " AND id <= %(upto)s UNION ALL SELECT 1 FROM incident_log WHERE id > %(after)s"
            " AND id <= %(upto)s LIMIT %(limit)s) AS gap",
            {"after": after, "upto": upto, "limit": limit},
        )
    ).fetchone()
    return int(row[0]) if row else 0


async def listen_alerts(conn: psycopg.AsyncConnection[Any]) -> None:
    """Every alert change is NOTIFYed on this channel at its commit (store.notify)."""
    await conn.execute(f"LISTEN {CHANNEL}")
