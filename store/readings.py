"""Readings and events: binary COPY straight into the table, with a slower path for duplicates.

A QoS 1 redelivery must not be stored twice, and COPY cannot skip conflicts. Duplicates are
rare (a restart, a device retrying), so each batch is first copied straight in under a
savepoint; only if that hits the unique index are its rows copied into a staging table and
inserted with ON CONFLICT DO NOTHING, which reports which messages were new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, LiteralString

import psycopg
from psycopg.types.json import Jsonb

ReadingRow = tuple[datetime, str, str, float, int, str | None, datetime]
EventRow = tuple[datetime, str, int, str, dict[str, Any] | None, datetime]

_READING_COLUMNS = "(ts, device_id, metric, value, seq, region, received_at)"
_READING_TYPES = ["timestamptz", "text", "text", "float8", "int8", "text", "timestamptz"]
_EVENT_COLUMNS = "(ts, device_id, seq, type, detail, received_at)"
_EVENT_TYPES = ["timestamptz", "text", "int8", "text", "jsonb", "timestamptz"]

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_readings (ts timestamptz, device_id text, metric text,"
    " value double precision, seq bigint, region text, received_at timestamptz)"
    " ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS stage_events (ts timestamptz, device_id text, seq bigint,"
    " type text, detail jsonb, received_at timestamptz) ON COMMIT DELETE ROWS"
)


def prepare_staging(conn: psycopg.Connection[tuple[Any, ...]]) -> None:
    """Once per connection; the tables empty themselves at every commit."""
    conn.execute(_STAGING)


def _copy(
    conn: psycopg.Connection[Any],
    table: LiteralString,
    columns: LiteralString,
    types: list[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    with (
        conn.cursor() as cur,
        cur.copy(f"COPY {table} {columns} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _insert(
    conn: psycopg.Connection[Any],
    *,
    table: LiteralString,
    columns: LiteralString,
    types: list[str],
    rows: Sequence[tuple[Any, ...]],
    key: tuple[int, int],
) -> set[tuple[str, int]]:
    """Returns the (device_id, seq) of the rows that were new."""
    if not rows:
        return set()
    device, seq = key
    try:
        with conn.transaction():  # a savepoint inside the batch's transaction
            _copy(conn, table, columns, types, rows)
        return {(row[device], row[seq]) for row in rows}
    except psycopg.errors.UniqueViolation:
        pass
    _copy(conn, f"stage_{table}", columns, types, rows)
    inserted = conn.execute(
        f"INSERT INTO {table} {columns} SELECT * FROM stage_{table}"
        " ON CONFLICT DO NOTHING RETURNING device_id, seq"
    ).fetchall()
    return {(str(d), int(s)) for d, s in inserted}


def insert_readings(
    conn: psycopg.Connection[Any], rows: Sequence[ReadingRow]
) -> set[tuple[str, int]]:
    return _insert(
        conn, table="readings", columns=_READING_COLUMNS, types=_READING_TYPES, rows=rows,
        key=(1, 4),
    )  # fmt: skip


def insert_events(conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> set[tuple[str, int]]:
    jsonable = [(*row[:4], None if row[4] is None else Jsonb(row[4]), row[5]) for row in rows]
    return _insert(
        conn, table="events", columns=_EVENT_COLUMNS, types=_EVENT_TYPES, rows=jsonable,
        key=(1, 2),
    )  # fmt: skip
