"""Retention and the TimescaleDB policies on the real server: applied twice, applied from four
connections at once, following the settings; and a late write into a compressed chunk.

Each test states the backend it needs and skips, saying why, on the other; the TimescaleDB lane
(FIREWATCH_TEST_DATABASE_URL, docs/deploy.md) runs the rest."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from firewatch.testing import own_database
from store.migrate import backend
from store.series import insert_readings, prepare_staging
from store.timeseries import (
    PARTITIONED,
    PartitionKeeper,
    apply_retention,
    compression_delay,
    policies,
)

WEEK_S = 7 * 86400
NOW = datetime(2031, 3, 10, 12, tzinfo=UTC)


@pytest.fixture()
def own() -> Iterator[str]:
    """A database of its own: retention drops every old partition, other tests' included."""
    with own_database("fw_timeseries") as url:
        yield url


def _needs(conn: psycopg.Connection[Any], wanted: str) -> None:
    if backend(conn) != wanted:
        pytest.skip(f"needs {wanted}; this server is {backend(conn)}")


def _jobs(conn: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return conn.execute(
        "SELECT job_id, proc_name, hypertable_name, config::text, schedule_interval"
        " FROM timescaledb_information.jobs WHERE hypertable_name IS NOT NULL ORDER BY job_id"
    ).fetchall()


def _old_partitions(conn: psycopg.Connection[Any]) -> set[str]:
    keeper = PartitionKeeper(conn)
    keeper.ensure_window(conn, now=NOW, back=timedelta(days=3))
    keeper.ensure(conn, [(NOW + timedelta(days=404)).date()])
    return {f"{t}_p203103{d:02d}" for t in PARTITIONED for d in range(7, 13)}


def _retain(conn: psycopg.Connection[Any], *, stale_after_s: float = WEEK_S) -> list[str]:
    return apply_retention(
        conn, now=NOW + timedelta(days=404), keep_days=400, stale_after_s=stale_after_s
    )


def test_native_retention_applied_twice_drops_once(own: str) -> None:
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "native")
        expected = _old_partitions(db)
        assert set(_retain(db)) == expected
        assert _retain(db) == []


def test_timescaledb_policies_applied_twice_change_nothing_the_second_time(own: str) -> None:
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "timescaledb")
        _retain(db)
        first = _jobs(db)
        assert _retain(db) == []
        assert _jobs(db) == first  # the same jobs, ids included: nothing removed, nothing run
        wanted = policies(keep_days=400, stale_after_s=WEEK_S)
        assert sorted((p.proc, p.relation) for p in wanted) == sorted((j[1], j[2]) for j in first)


def _at_once(url: str, run: Any, *, connections: int = 4) -> list[Any]:
    """``run(conn)`` from several connections released together; returns their results, or
    raises the first error any of them met."""
    start = threading.Barrier(connections)
    results: list[Any] = [None] * connections
    errors: list[BaseException] = []

    def one(i: int) -> None:
        try:
            with psycopg.connect(url, autocommit=True) as conn:
                start.wait(timeout=10)
                results[i] = run(conn)
        except BaseException as exc:  # reported to the test below
            errors.append(exc)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]
    return results


def test_native_retention_from_four_connections_drops_each_partition_once(own: str) -> None:
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "native")
        expected = _old_partitions(db)
    dropped = _at_once(own, _retain)
    flat = [name for one in dropped for name in one]
    assert sorted(flat) == sorted(expected)  # each by exactly one connection


def test_timescaledb_policies_from_four_connections_end_as_one_set(own: str) -> None:
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "timescaledb")
    changed = _at_once(own, _retain)
    assert sorted(map(len, changed))[:-1] == [0, 0, 0], changed  # one connection set them
    with psycopg.connect(own, autocommit=True) as db:
        jobs = _jobs(db)
        wanted = policies(keep_days=400, stale_after_s=WEEK_S)
        assert sorted((p.proc, p.relation) for p in wanted) == sorted((j[1], j[2]) for j in jobs)


def test_timescaledb_policies_follow_the_stale_limit(own: str) -> None:
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "timescaledb")
        _retain(db)
        before = {(j[1], j[2]): j for j in _jobs(db)}
        changed = _retain(db, stale_after_s=2 * 86400)
        after = {(j[1], j[2]): j for j in _jobs(db)}
        delay = compression_delay(2 * 86400)
        assert delay == timedelta(days=3)
        compressed = db.execute(
            "SELECT hypertable_name, (config ->> 'compress_after')::interval"
            " FROM timescaledb_information.jobs WHERE proc_name = 'policy_compression'"
        ).fetchall()
        assert sorted(compressed) == [
            (t, delay) for t in ("events", "heartbeats", "readings", "readings_1h", "readings_5m")
        ]
        refreshed = db.execute(
            "SELECT (config ->> 'start_offset')::interval FROM timescaledb_information.jobs"
            " WHERE proc_name = 'policy_refresh_continuous_aggregate'"
        ).fetchall()
        assert refreshed == [(delay,), (delay,)]
        assert len(changed) == 7  # five compression and two refresh policies
        # Retention did not change: its jobs are the very same.
        kept = [k for k in before if k[0] == "policy_retention"]
        assert len(kept) == 5 and all(before[k] == after[k] for k in kept)


def _reading(ts: datetime, seq: int, value: float) -> tuple[Any, ...]:
    return (ts, "D-late", "temperature_c", value, seq, None, None, ts)


def test_timescaledb_late_write_into_a_compressed_chunk(own: str) -> None:
    """A late reading and a redelivered one land in a compressed day: the first is stored,
    the second recognised as a duplicate, and the roll-ups count the late one."""
    with psycopg.connect(own, autocommit=True) as db:
        _needs(db, "timescaledb")
        prepare_staging(db)
        day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        day -= timedelta(days=10)
        rows = [_reading(day + timedelta(minutes=m), m, 20.0 + m) for m in range(0, 60)]
        with db.transaction():
            assert len(insert_readings(db, rows)) == 60
        chunk = db.execute(
            "SELECT c FROM show_chunks('readings') c"
            " JOIN timescaledb_information.chunks i"
            "   ON format('%%I.%%I', i.chunk_schema, i.chunk_name)::regclass = c"
            " WHERE i.range_start <= %s AND i.range_end > %s",
            (day, day),
        ).fetchone()
        assert chunk is not None
        db.execute("SELECT compress_chunk(%s)", (chunk[0],))
        assert db.execute(
            "SELECT is_compressed FROM timescaledb_information.chunks WHERE range_start <= %s"
            " AND range_end > %s AND hypertable_name = 'readings'",
            (day, day),
        ).fetchone() == (True,)
        late = _reading(day + timedelta(minutes=30, seconds=30), 1000, 99.0)
        again = rows[10]
        with db.transaction():
            stored = insert_readings(db, [late, again])
        assert stored == {("D-late", 1000, late[0])}
        assert db.execute(
            "SELECT count(*), max(value) FROM readings WHERE device_id = 'D-late'"
        ).fetchone() == (61, 99.0)
        db.execute("CALL refresh_continuous_aggregate('readings_5m', NULL, NULL)")
        assert db.execute(
            "SELECT n, high FROM readings_5m WHERE device_id = 'D-late' AND bucket = %s",
            (day + timedelta(minutes=30),),
        ).fetchone() == (6, 99.0)
