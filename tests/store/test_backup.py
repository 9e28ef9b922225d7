"""Backups as docs/deploy.md takes them, restored into a new database with the real pg_dump and
pg_restore: the whole database comes back row for row (on TimescaleDB a compressed chunk and
the continuous aggregates included), and the "registry and alerts only" dump leaves out the
readings, heartbeats and roll-ups while keeping the rest."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from firewatch.testing import own_database
from store.backup import TIMESCALEDB_EXCLUDES, state_dump_excludes
from store.database import drop_database, ensure_database
from store.migrate import backend
from store.series import insert_events, insert_heartbeats, insert_readings, prepare_staging
from store.timeseries import PartitionKeeper

NOW = datetime.now(UTC).replace(microsecond=0)
BULKY = ("readings", "heartbeats", "readings_5m", "readings_1h")


@pytest.fixture(scope="module")
def source() -> Iterator[str]:
    """Two weeks of a few devices' readings, events and heartbeats, a device and an alert; on
    TimescaleDB the oldest day compressed and the aggregates part materialised."""
    if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
        pytest.skip("pg_dump and pg_restore are not installed")
    with own_database("fw_backup") as url, psycopg.connect(url, autocommit=True) as conn:
        days = [NOW - timedelta(days=d) for d in range(14)]
        # each day's readings run ten hours on, so they can fall in the next day's partition
        PartitionKeeper(conn).ensure(
            conn, {t.date() for d in days for t in (d, d + timedelta(minutes=600))}
        )
        prepare_staging(conn)
        with conn.transaction():
            insert_readings(
                conn,
                [
                    (d + timedelta(minutes=m), f"D{n}", "temperature_c", 20.0 + m, m, None, None, d)
                    for d in days
                    for n in range(3)
                    for m in range(0, 600, 7)
                ],
            )
            insert_events(conn, [(d, "D1", 1, "alarm", {"why": "test"}, d) for d in days])
            insert_heartbeats(conn, [(d, "D2", 2, 90.0, -70.0, "1.0", d) for d in days])
        conn.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s) VALUES ('D1', 'smoke', 'zilai', 60)"
        )
        conn.execute(
            "INSERT INTO alerts (device_id, subject, family, rule, class, state, raised_at,"
            " received_at, last_at, created_at, site)"
            " VALUES ('D1', 'D1', 'smoke', 'smoke_alarm', 'fire', 'active_unack', now(), now(),"
            " now(), now(), 'zilai')"
        )
        if backend(conn) == "timescaledb":
            conn.execute("SELECT compress_chunk(c) FROM show_chunks('readings', %s) c", (days[-2],))
            conn.execute("CALL refresh_continuous_aggregate('readings_5m', NULL, %s)", (days[3],))
            conn.execute("CALL refresh_continuous_aggregate('readings_1h', NULL, %s)", (days[3],))
        yield url


def _counts(url: str) -> dict[str, int]:
    """Rows of every table and view of ours (the time series through their parents)."""
    with psycopg.connect(url, autocommit=True) as conn:
        names = [
            str(r[0])
            for r in conn.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v')"
                " AND NOT c.relispartition ORDER BY 1"
            )
        ]
        return {
            name: int(
                conn.execute(  # type: ignore[index]
                    sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(name))
                ).fetchone()[0]
            )
            for name in names
        }


def _restore(url: str, dump: Path) -> str:
    """docs/deploy.md's restore into a new database on the same server."""
    target = make_conninfo(url, dbname=f"fw_restored_{uuid.uuid4().hex[:10]}")
    ensure_database(target)
    with psycopg.connect(url, autocommit=True) as conn:
        timescale = backend(conn) == "timescaledb"
    with psycopg.connect(target, autocommit=True) as conn:
        if timescale:
            conn.execute("CREATE EXTENSION timescaledb")
            conn.execute("SELECT timescaledb_pre_restore()")
    done = subprocess.run(
        ["pg_restore", "--no-owner", "-d", _dsn(target), str(dump)],
        capture_output=True,
        text=True,
        check=False,
    )
    with psycopg.connect(target, autocommit=True) as conn:
        if timescale:
            conn.execute("SELECT timescaledb_post_restore()")
    assert done.returncode == 0, done.stderr
    return target


def _dsn(url: str) -> str:
    return make_conninfo("", **{k: v for k, v in conninfo_to_dict(url).items() if v is not None})


def _dump(url: str, path: Path, *, exclude: list[str]) -> Path:
    subprocess.run(
        [
            "pg_dump",
            "-Fc",
            "-d",
            _dsn(url),
            "-f",
            str(path),
            *(f"--exclude-table-data={p}" for p in exclude),
        ],
        check=True,
    )
    return path


def test_a_whole_dump_restores_every_row(source: str, tmp_path: Path) -> None:
    restored = _restore(source, _dump(source, tmp_path / "whole.dump", exclude=[]))
    try:
        before, after = _counts(source), _counts(restored)
        assert all(before[t] > 0 for t in (*BULKY, "events", "devices", "alerts"))
        assert after == before
    finally:
        drop_database(restored)


def test_a_state_dump_leaves_the_time_series_out(source: str, tmp_path: Path) -> None:
    with psycopg.connect(source) as conn:
        excludes = state_dump_excludes(conn)
    restored = _restore(source, _dump(source, tmp_path / "state.dump", exclude=excludes))
    try:
        before, after = _counts(source), _counts(restored)
        assert {t: after[t] for t in BULKY} == dict.fromkeys(BULKY, 0)
        assert {t: n for t, n in after.items() if t not in BULKY} == {
            t: n for t, n in before.items() if t not in BULKY
        }
        assert before["events"] > 0 and before["alerts"] > 0
    finally:
        drop_database(restored)


def test_the_deploy_guide_prints_the_same_exclusions() -> None:
    guide = (Path(__file__).resolve().parents[2] / "docs" / "deploy.md").read_text("utf-8")
    assert " ".join(TIMESCALEDB_EXCLUDES.split()) in " ".join(guide.split())
