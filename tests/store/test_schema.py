"""Migrations, partitions and retention on the real server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from firewatch.testing import own_database
from store.database import has_timescaledb
from store.migrate import available, backend, migrate
from store.timeseries import PARTITIONED, PartitionKeeper, apply_retention


def test_migrate_twice_applies_nothing_the_second_time(db: psycopg.Connection[Any]) -> None:
    assert migrate(db, progress=lambda _l: None) == []
    recorded = db.execute(
        "SELECT version, variant FROM schema_migrations ORDER BY version"
    ).fetchall()
    assert [v for v, _ in recorded] == sorted({m.version for m in available()})
    # The server's backend, not another's, for every version that has two.
    expected = "timescaledb" if has_timescaledb(db) else "native"
    assert {v for _, v in recorded if v} == {expected}
    assert backend(db) == expected


def test_unique_indexes_on_time_series_include_time(db: psycopg.Connection[Any]) -> None:
    """TimescaleDB refuses a unique index without the time column; keep both backends alike."""
    rows = db.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " JOIN pg_class c ON c.oid = i.indrelid"
        " WHERE c.relname IN ('readings', 'events', 'heartbeats') AND i.indisunique"
    ).fetchall()
    assert {name for name, _ in rows} == {"readings", "events", "heartbeats"}
    assert all("ts" in definition for _, definition in rows)


def test_partitions_are_made_ahead_and_dropped_after_retention() -> None:
    # A database of its own: retention drops every old partition, other tests' included.
    with own_database("fw_retention") as url, psycopg.connect(url, autocommit=True) as db:
        _partitions_and_retention(db)


def _partitions_and_retention(db: psycopg.Connection[Any]) -> None:
    keeper = PartitionKeeper(db)
    if not keeper.native:
        pytest.skip("native partitions only: TimescaleDB makes and drops its own chunks")
    now = datetime(2031, 3, 10, 12, tzinfo=UTC)
    keeper.ensure_window(db, now=now, back=timedelta(days=3))
    names = {
        r[0]
        for r in db.execute(
            "SELECT relname FROM pg_class WHERE relname LIKE 'readings_p2031%' AND relkind = 'r'"
        )
    }
    assert names == {f"readings_p203103{d:02d}" for d in range(7, 13)}
    db.execute(
        "INSERT INTO readings VALUES (%s, 'D', 'temperature_c', 20, 1, NULL, NULL, now())",
        (now,),
    )
    keeper.ensure(db, [(now + timedelta(days=404)).date()])
    assert db.execute("SELECT count(*) FROM readings_1h").fetchone() == (1,)
    dropped = apply_retention(
        db, now=now + timedelta(days=404), keep_days=400, stale_after_s=7 * 86400
    )
    assert set(dropped) == {f"{t}_p203103{d:02d}" for t in PARTITIONED for d in range(7, 13)}
    assert db.execute("SELECT count(*) FROM readings").fetchone() == (0,)
    assert db.execute("SELECT count(*) FROM readings_1h").fetchone() == (0,)
