"""The readings' roll-ups answer a device's series as the raw readings do: on the server the
suite runs on (stock PostgreSQL's trigger-kept tables, or TimescaleDB's continuous aggregates,
part materialised and part real-time), against the answer computed here from the rows; and
on both servers side by side when the TimescaleDB lane runs beside the native one."""

from __future__ import annotations

import asyncio
import math
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from firewatch.testing import database_server, own_database
from settings import Settings
from store.migrate import available, backend
from store.rollups import RAW_SPAN, bucketed, default_bucket, rollup_for
from store.series import ReadingRow, insert_readings, prepare_staging
from store.timeseries import PartitionKeeper

DEVICE, METRIC = "EM-roll", "cable_temp_c"
START = datetime(2026, 11, 20, 0, 0, tzinfo=UTC)
DAYS = 3


def _rows(seed: int = 5) -> list[ReadingRow]:
    """Three days of one metric at an irregular pace (3 to 40 s apart), plus another metric
    and another device the series must leave out."""
    rng = random.Random(seed)
    rows: list[ReadingRow] = []
    ts, seq = START + timedelta(seconds=rng.uniform(0, 30)), 0
    while ts < START + timedelta(days=DAYS):
        seq += 1
        value = round(35 + 10 * math.sin(seq / 500) + rng.gauss(0, 1), 3)
        rows.append((ts, DEVICE, METRIC, value, seq, None, None, ts))
        rows.append((ts, DEVICE, "current_a", value / 7, seq, None, None, ts))
        rows.append((ts, "EM-other", METRIC, value + 50, seq, None, None, ts))
        ts += timedelta(seconds=rng.uniform(3, 40))
    return rows


def _store(conn: psycopg.Connection[Any], rows: list[ReadingRow]) -> None:
    """In batches as ingest writes them, one redelivered (the ON CONFLICT path); on
    TimescaleDB the first two days are materialised and compressed, the rest is read in real
    time."""
    PartitionKeeper(conn).ensure(conn, {r[0].date() for r in rows})
    prepare_staging(conn)
    half = len(rows) // 2
    for batch in (rows[:half], rows[half - 500 : half + 500], rows[half:]):
        with conn.transaction():
            insert_readings(conn, batch)
    if backend(conn) == "timescaledb":
        until = START + timedelta(days=2)
        conn.execute("CALL refresh_continuous_aggregate('readings_5m', NULL, %s)", (until,))
        conn.execute("CALL refresh_continuous_aggregate('readings_1h', NULL, %s)", (until,))
        for view in ("readings_5m", "readings_1h"):
            conn.execute("SELECT compress_chunk(c) FROM show_chunks(%s::regclass) c", (view,))


def _expected(
    rows: list[ReadingRow], *, since: datetime, until: datetime, bucket_s: int
) -> list[tuple[datetime, float, float, float, int]]:
    epoch = datetime(2000, 1, 1, tzinfo=UTC)
    width = timedelta(seconds=bucket_s)
    found: dict[datetime, list[float]] = defaultdict(list)
    for ts, device, metric, value, *_ in rows:
        if device == DEVICE and metric == METRIC and since <= ts < until:
            found[ts - (ts - epoch) % width].append(value)
    return [(t, min(v), sum(v) / len(v), max(v), len(v)) for t, v in sorted(found.items())]


def _got(url: str, **window: Any) -> list[tuple[datetime, float, float, float, int]]:
    async def read() -> list[dict[str, Any]]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await bucketed(conn, device_id=DEVICE, metric=METRIC, **window)

    return [(p["t"], p["min"], p["avg"], p["max"], p["n"]) for p in asyncio.run(read())]


def _same(got: list[tuple[Any, ...]], expected: list[tuple[Any, ...]]) -> None:
    """Exact but for the mean, summed in another order."""
    assert [(t, lo, hi, n) for t, lo, _, hi, n in got] == [
        (t, lo, hi, n) for t, lo, _, hi, n in expected
    ]
    assert [m for _, _, m, _, _ in got] == pytest.approx([m for _, _, m, _, _ in expected])


# Windows: hourly and 5-minute roll-ups with ragged ends, across the materialised edge; a
# bucket no roll-up tiles; a short span read raw.
WINDOWS = [
    (START - timedelta(hours=1), START + timedelta(days=DAYS, hours=1), 10800),
    (START + timedelta(minutes=7, seconds=13), START + timedelta(days=2, hours=5, seconds=9), 3600),
    (START + timedelta(hours=30, seconds=1), START + timedelta(hours=54, minutes=2), 300),
    (START + timedelta(hours=1), START + timedelta(hours=20), 1000),
    (START + timedelta(hours=47), START + timedelta(hours=49), 60),
]


@pytest.fixture(scope="module")
def stored() -> Any:
    rows = _rows()
    with own_database("fw_rollups") as url:
        with psycopg.connect(url, autocommit=True) as conn:
            _store(conn, rows)
        yield url, rows


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w[2]}s")
def test_series_from_rollups_is_the_raw_answer(
    stored: tuple[str, list[ReadingRow]], window: tuple[datetime, datetime, int]
) -> None:
    url, rows = stored
    since, until, bucket_s = window
    expected = _expected(rows, since=since, until=until, bucket_s=bucket_s)
    assert expected
    _same(_got(url, since=since, until=until, bucket_s=bucket_s), expected)


def test_which_windows_read_a_rollup() -> None:
    """The windows above exercise both roll-ups and the raw path, and the default bucket
    beyond a few hours is one a roll-up tiles."""
    chosen = [rollup_for(since=s, until=u, bucket_s=b) for s, u, b in WINDOWS]
    assert [c[1] if c else None for c in chosen] == [
        "readings_1h",
        "readings_1h",
        "readings_5m",
        None,
        None,
    ]
    for hours in (7, 24, 24 * 7, 24 * 31):
        bucket = default_bucket(timedelta(hours=hours), target=300)
        assert rollup_for(since=START, until=START + timedelta(hours=hours), bucket_s=bucket)
    assert default_bucket(RAW_SPAN, target=300) == 72


def test_both_backends_give_the_same_series(stored: tuple[str, list[ReadingRow]]) -> None:
    """Runs in the TimescaleDB lane: the same readings on the native server beside it."""
    url, rows = stored
    native_server = Settings().database_url
    with psycopg.connect(url) as conn:
        here = backend(conn)
    if here != "timescaledb" or _server(native_server) == _server(database_server()):
        pytest.skip("needs FIREWATCH_TEST_DATABASE_URL on TimescaleDB beside a native server")
    with own_database("fw_rollups_native", server=native_server) as other:
        with psycopg.connect(other, autocommit=True) as conn:
            assert backend(conn) == "native"
            _store(conn, rows)
        for since, until, bucket_s in WINDOWS:
            window = {"since": since, "until": until, "bucket_s": bucket_s}
            _same(_got(url, **window), _got(other, **window))


def _server(url: str) -> tuple[object, object]:
    params = conninfo_to_dict(url)
    return params.get("host"), params.get("port")


def test_native_migration_rolls_up_what_is_already_stored() -> None:
    """Migration 0020 on a database that already holds readings: their roll-ups are made."""
    with own_database("fw_rollups_backfill") as url, psycopg.connect(url) as conn:
        if backend(conn) != "native":
            pytest.skip("native only: on TimescaleDB the migration refreshes the aggregates")
        rows = _rows(seed=9)[:3000]
        PartitionKeeper(conn).ensure(conn, {r[0].date() for r in rows})
        conn.execute("DROP TABLE readings_5m, readings_1h")  # as before migration 0020
        conn.execute("DROP FUNCTION readings_roll_up() CASCADE")
        prepare_staging(conn)
        insert_readings(conn, rows)
        (migration,) = [m for m in available() if m.version == 20 and m.variant == "native"]
        conn.execute(migration.in_transaction.encode())
        conn.commit()
        got = conn.execute(
            "SELECT bucket, n, low, high FROM readings_1h"
            " WHERE device_id = %s AND metric = %s ORDER BY bucket",
            (DEVICE, METRIC),
        ).fetchall()
        expected = _expected(rows, since=START, until=START + timedelta(days=DAYS), bucket_s=3600)
        assert got == [(t, n, lo, hi) for t, lo, _, hi, n in expected]
