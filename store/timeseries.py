"""Upkeep of the time-series tables: daily partitions on stock PostgreSQL, retention on both."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql

from store.migrate import backend

TABLES = ("readings", "events", "heartbeats")


def _partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _create_partition(conn: psycopg.Connection[tuple[object, ...]], table: str, day: date) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # Creating a partition locks the parent; never queue ingest behind a long API query.
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        # Several ingest workers create the same day at once; IF NOT EXISTS alone still races
        # (DuplicateTable), so they take turns.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext('firewatch.partitions'))")
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(_partition_name(table, day)),
                sql.Identifier(table),
                sql.Literal(start),
                sql.Literal(start + timedelta(days=1)),
            )
        )


class PartitionKeeper:
    """Makes sure a day's partition exists before rows for it are written.

    Ingest asks for every day in a batch; only an unknown day costs a round trip, so the
    hot path is a set lookup. On TimescaleDB chunks appear by themselves and this is idle.
    """

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.native = backend(conn) == "native"
        self._known: set[date] = set()

    def ensure(self, conn: psycopg.Connection[tuple[object, ...]], days: Iterable[date]) -> None:
        if not self.native:
            return
        for day in sorted(set(days) - self._known):
            for table in TABLES:
                _create_partition(conn, table, day)
            self._known.add(day)

    def ensure_window(
        self, conn: psycopg.Connection[tuple[object, ...]], *, now: datetime, back: timedelta
    ) -> None:
        """Every day a message may still be accepted for, plus two days ahead."""
        first = (now - back).date()
        last = (now + timedelta(days=2)).date()
        self.ensure(conn, (first + timedelta(days=n) for n in range((last - first).days + 1)))


def apply_retention(
    conn: psycopg.Connection[tuple[object, ...]], *, now: datetime, keep_days: int
) -> list[str]:
    """Drop what is older than ``keep_days``; returns what was dropped (or the policy set)."""
    if backend(conn) == "timescaledb":
        for table in TABLES:
            conn.execute("SELECT remove_retention_policy(%s, if_exists => true)", (table,))
            conn.execute(
                "SELECT add_retention_policy(%s, %s::interval)", (table, f"{keep_days} days")
            )
        return [f"retention policy {keep_days} days"]
    cutoff = (now - timedelta(days=keep_days)).date()
    dropped = []
    for table in TABLES:
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s",
            (table,),
        ).fetchall()
        for (name,) in rows:
            suffix = str(name).rsplit("_p", 1)[-1]
            if suffix.isdigit() and datetime.strptime(suffix, "%Y%m%d").date() < cutoff:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(str(name))))
                dropped.append(str(name))
    return dropped
