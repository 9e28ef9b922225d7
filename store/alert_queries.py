"""Reading alerts for people: filtered lists, one alert with its audit trail and the readings
around it, and the alert log read as an event stream."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import dict_row

from store.notify import CHANNEL

ALERT_COLUMNS = (
    "id, device_id, subject, rule, class, state, raised_at, received_at, last_at, count, peak,"
    " detail, site, building, condition_active, latching, chattering, suppressed_reason,"
    " acked_at, acked_by, shelved_until, shelve_reason, claimed_by, escalation_level,"
    " escalated_at, returned_at, created_at, updated_at, resolved_at, resolved_by, cause,"
    " resolution_note, parent_id"
)
_PREFIXED = ", ".join("a." + c.strip() for c in ALERT_COLUMNS.split(","))

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
        await cur.execute(
            "SELECT id, subject, rule, class, state, raised_at FROM alerts WHERE parent_id = %s"
            " ORDER BY id",
            (alert_id,),
        )
        children = await cur.fetchall()
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
    return {"alert": alert, "log": log, "children": children, "readings": readings}


# --- The stream ------------------------------------------------------------------------------
# Log ids are handed out in commit order (migration 0006), so an event's id is its position.

_EVENT_COLUMNS = f"l.id AS log_id, l.action, l.actor, l.from_state, l.to_state, l.at, {_PREFIXED}"


async def stream_head(conn: psycopg.AsyncConnection[Any]) -> int:
    row = await (await conn.execute("SELECT coalesce(max(id), 0) FROM alert_log")).fetchone()
    return int(row[0]) if row else 0


async def events_after(
    conn: psycopg.AsyncConnection[Any], after: int, *, upto: int | None, limit: int
) -> list[dict[str, Any]]:
    """Events after ``after`` (and at most ``upto``), oldest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_EVENT_COLUMNS} FROM alert_log l JOIN alerts a ON a.id = l.alert_id"
            " WHERE l.id > %s AND l.id <= %s ORDER BY l.id LIMIT %s",
            (after, upto if upto is not None else 2**63 - 1, limit),
        )
        return await cur.fetchall()


async def events_between(
    conn: psycopg.AsyncConnection[Any], after: int, upto: int, *, limit: int
) -> int:
    """How many events lie in (after, upto], counting no further than ``limit``."""
    row = await (
        await conn.execute(
            "SELECT count(*) FROM (SELECT 1 FROM alert_log WHERE id > %s AND id <= %s LIMIT %s)"
            " AS gap",
            (after, upto, limit),
        )
    ).fetchone()
    return int(row[0]) if row else 0


async def listen_alerts(conn: psycopg.AsyncConnection[Any]) -> None:
    """Every alert change is NOTIFYed on this channel at its commit (store.notify)."""
    await conn.execute(f"LISTEN {CHANNEL}")
