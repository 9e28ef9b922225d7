"""Keeping the dead letters and the pending devices bounded: retention, a cap per site, and a
persisted count of what was dropped (``bounded_tables``), so /metrics shows it from any process.

The hot path only reads and bumps one counter row per site (store/dead_letters.py and the
pending trigger of migration 0008); this hourly maintenance deletes what is past its
retention, trims each site to 90 % of its cap, so fresh rejections find room again, and
recounts the rows exactly.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg import sql
from psycopg.rows import class_row

log = logging.getLogger(__name__)

HEADROOM = 0.1  # the share of the cap each maintenance frees for the next hour's rejections


@dataclass(frozen=True, slots=True)
class _Table:
    name: str
    time_column: str  # what retention compares
    site_of: str  # the expression giving a row's site
    newest_first: str  # what trimming keeps


_TABLES = {
    "dead_letters": _Table("dead_letters", "received_at", "topic_site(topic)", "id DESC"),
    "pending_devices": _Table(
        "pending_devices", "last_seen", "topic_site(last_topic)", "last_seen DESC, device_id"
    ),
}


@dataclass(frozen=True, slots=True)
class TableUsage:
    table: str
    site: str
    rows: int
    dropped: int


def prune_bounded_tables(
    conn: psycopg.Connection[Any],
    *,
    now: datetime,
    dead_letter_days: int,
    dead_letters_max: int,
    pending_days: int,
    pending_max: int,
) -> dict[str, tuple[int, int]]:
    """Writes the caps, prunes, recounts; returns {table: (expired, trimmed)}."""
    limits = {
        "dead_letters": (dead_letter_days, dead_letters_max),
        "pending_devices": (pending_days, pending_max),
    }
    done: dict[str, tuple[int, int]] = {}
    with conn.transaction(), conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO table_caps (tbl, max_rows) VALUES (%s, %s)"
            " ON CONFLICT (tbl) DO UPDATE SET max_rows = excluded.max_rows",
            [(name, cap) for name, (_, cap) in limits.items()],
        )
        # The counters in the hot path's order (dead letters, then pending), so no insert
        # moves them while this transaction counts.
        cur.execute("SELECT 1 FROM bounded_tables ORDER BY tbl, site FOR UPDATE")
        for name, (days, cap) in limits.items():
            done[name] = _prune(cur, _TABLES[name], before=now - timedelta(days=days), cap=cap)
    for name, (expired, trimmed) in done.items():
        if expired or trimmed:
            log.info(
                "%s: %d rows past retention deleted, %d trimmed to the cap", name, expired, trimmed
            )
    return done


def _prune(cur: psycopg.Cursor[Any], t: _Table, *, before: datetime, cap: int) -> tuple[int, int]:
    table, site = sql.Identifier(t.name), sql.SQL(t.site_of)
    cur.execute(
        sql.SQL("DELETE FROM {} WHERE {} < %s").format(table, sql.Identifier(t.time_column)),
        (before,),
    )
    expired = cur.rowcount
    keep = cap - int(cap * HEADROOM)
    trimmed = 0
    cur.execute(
        "SELECT EXISTS (SELECT 1 FROM bounded_tables WHERE tbl = %s AND rows > %s)", (t.name, keep)
    )
    row = cur.fetchone()
    if row and row[0]:  # the counters only overestimate: no over-cap site is missed
        cur.execute(
            sql.SQL("""
            WITH ranked AS (
                SELECT ctid AS row_id, {site} AS site,
                       row_number() OVER (PARTITION BY {site} ORDER BY {order}) AS rank
                FROM {table}
            ), gone AS (
                DELETE FROM {table} t USING ranked r
                WHERE t.ctid = r.row_id AND r.rank > %(keep)s RETURNING r.site
            )
            UPDATE bounded_tables b SET dropped = b.dropped + g.n
            FROM (SELECT site, count(*) AS n FROM gone GROUP BY site) g
            WHERE b.tbl = %(name)s AND b.site = g.site
            RETURNING g.n
            """).format(site=site, order=sql.SQL(t.newest_first), table=table),
            {"keep": keep, "name": t.name},
        )
        trimmed = sum(int(r[0]) for r in cur.fetchall())
    cur.execute(
        sql.SQL("""
        WITH actual AS (SELECT {site} AS site, count(*) AS n FROM {table} GROUP BY 1),
        fixed AS (
            UPDATE bounded_tables b SET rows = coalesce((SELECT n FROM actual a
                                                         WHERE a.site = b.site), 0)
            WHERE b.tbl = %(name)s RETURNING b.site
        )
        INSERT INTO bounded_tables (tbl, site, rows)
        SELECT %(name)s, site, n FROM actual WHERE site NOT IN (SELECT site FROM fixed)
        """).format(site=site, table=table),
        {"name": t.name},
    )
    return expired, trimmed


def table_usage(conn: psycopg.Connection[Any]) -> list[TableUsage]:
    """Rows (exact at the last maintenance, plus inserts since) and drops, per table and site."""
    with conn.cursor(row_factory=class_row(TableUsage)) as cur:
        return cur.execute(
            "SELECT tbl AS table, site, rows, dropped FROM bounded_tables ORDER BY tbl, site"
        ).fetchall()
