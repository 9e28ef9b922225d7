"""Readings and events: binary COPY into a staging table, then one insert that skips duplicates.

COPY cannot skip conflicts, and a QoS 1 redelivery must not be stored twice, so rows land
in a temporary table first; the insert reports which (device, seq) pairs were new.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

ReadingRow = tuple[datetime, str, str, float, int, str | None, datetime]
EventRow = tuple[datetime, str, int, str, dict[str, Any] | None, datetime]

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


def insert_readings(
    conn: psycopg.Connection[tuple[Any, ...]], rows: Sequence[ReadingRow]
) -> set[tuple[str, int]]:
    """Returns the (device_id, seq) of the messages that were new."""
    if not rows:
        return set()
    with conn.cursor() as cur:
        with cur.copy(
            "COPY stage_readings (ts, device_id, metric, value, seq, region, received_at)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["timestamptz", "text", "text", "float8", "int8", "text", "timestamptz"])
            for row in rows:
                copy.write_row(row)
        cur.execute(
            "WITH ins AS (INSERT INTO readings SELECT * FROM stage_readings"
            " ON CONFLICT DO NOTHING RETURNING device_id, seq)"
            " SELECT DISTINCT device_id, seq FROM ins"
        )
        return {(str(d), int(s)) for d, s in cur.fetchall()}


def insert_events(
    conn: psycopg.Connection[tuple[Any, ...]], rows: Sequence[EventRow]
) -> set[tuple[str, int]]:
    if not rows:
        return set()
    with conn.cursor() as cur:
        with cur.copy(
            "COPY stage_events (ts, device_id, seq, type, detail, received_at)"
            " FROM STDIN (FORMAT BINARY)"
        ) as copy:
            copy.set_types(["timestamptz", "text", "int8", "text", "jsonb", "timestamptz"])
            for ts, device_id, seq, kind, detail, received_at in rows:
                copy.write_row(
                    (ts, device_id, seq, kind, None if detail is None else Jsonb(detail), received_at)
                )
        cur.execute(
            "INSERT INTO events SELECT * FROM stage_events"
            " ON CONFLICT DO NOTHING RETURNING device_id, seq"
        )
        return {(str(d), int(s)) for d, s in cur.fetchall()}
