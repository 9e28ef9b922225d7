"""Rows of the time series (readings, events, heartbeats): binary COPY, with a slower path
for duplicates.

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

ReadingRow = tuple[datetime, str, str, float, int, str | None, str | None, datetime]
EventRow = tuple[datetime, str, int, str, dict[str, Any] | None, datetime]
HeartbeatRow = tuple[datetime, str, int, float | None, float | None, str | None, datetime]
# A message is its device, its sequence number and its timestamp (the contract's identity).
MessageKey = tuple[str, int, datetime]

_READINGS = "readings (ts, device_id, metric, value, seq, region, preset, received_at)"
_READING_TYPES = ["timestamptz", "text", "text", "float8", "int8", "text", "text", "timestamptz"]
_EVENTS = "events (ts, device_id, seq, type, detail, received_at)"
_EVENT_TYPES = ["timestamptz", "text", "int8", "text", "jsonb", "timestamptz"]
_HEARTBEATS = "heartbeats (ts, device_id, seq, battery_pct, rssi_dbm, firmware, received_at)"
_HEARTBEAT_TYPES = ["timestamptz", "text", "int8", "float8", "float8", "text", "timestamptz"]

_STAGING = (
    "CREATE TEMP TABLE IF NOT EXISTS stage_readings (LIKE readings) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS stage_events (LIKE events) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS stage_heartbeats (LIKE heartbeats) ON COMMIT DELETE ROWS"
)


def prepare_staging(conn: psycopg.Connection[Any]) -> None:
    """Once per connection; the tables empty themselves at every commit."""
    conn.execute(_STAGING)


def _copy(
    conn: psycopg.Connection[Any],
    target: LiteralString,
    types: list[str],
    rows: Sequence[tuple[Any, ...]],
) -> None:
    with conn.cursor() as cur, cur.copy(f"COPY {target} FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types(types)
        for row in rows:
            copy.write_row(row)


def _insert(
    conn: psycopg.Connection[Any],
    *,
    target: LiteralString,
    types: list[str],
    rows: Sequence[tuple[Any, ...]],
    key: tuple[int, int, int],
) -> set[MessageKey]:
    """Returns the keys of the messages whose rows were new."""
    if not rows:
        return set()
    device, seq, ts = key
    try:
        with conn.transaction():  # a savepoint inside the batch's transaction
            _copy(conn, target, types, rows)
        return {(row[device], row[seq], row[ts]) for row in rows}
    except psycopg.errors.UniqueViolation:
        pass
    table, columns = target.split(" ", 1)
    _copy(conn, f"stage_{target}", types, rows)
    inserted = conn.execute(
        f"INSERT INTO {target} SELECT {columns[1:-1]} FROM stage_{table}"
        " ON CONFLICT DO NOTHING RETURNING device_id, seq, ts"
    ).fetchall()
    return {(str(d), int(s), t) for d, s, t in inserted}


def insert_readings(conn: psycopg.Connection[Any], rows: Sequence[ReadingRow]) -> set[MessageKey]:
    return _insert(conn, target=_READINGS, types=_READING_TYPES, rows=rows, key=(1, 4, 0))


def insert_events(conn: psycopg.Connection[Any], rows: Sequence[EventRow]) -> set[MessageKey]:
    jsonable = [(*row[:4], None if row[4] is None else Jsonb(row[4]), row[5]) for row in rows]
    return _insert(conn, target=_EVENTS, types=_EVENT_TYPES, rows=jsonable, key=(1, 2, 0))


def insert_heartbeats(
    conn: psycopg.Connection[Any], rows: Sequence[HeartbeatRow]
) -> set[MessageKey]:
    return _insert(conn, target=_HEARTBEATS, types=_HEARTBEAT_TYPES, rows=rows, key=(1, 2, 0))
