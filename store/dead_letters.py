"""Rejected messages, kept with their reason so a technician can see what a device sent."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

# Enough to recognise what was sent; a hostile 1 MiB message must not cost 1 MiB a copy.
PAYLOAD_KEEP_BYTES = 4096

DeadLetterRow = tuple[datetime, str, str | None, str, str, bytes, int]


def insert_dead_letters(
    conn: psycopg.Connection[tuple[Any, ...]], rows: Sequence[DeadLetterRow]
) -> None:
    if not rows:
        return
    with (
        conn.cursor() as cur,
        cur.copy(
            "COPY dead_letters (received_at, topic, device_id, reason, detail, payload,"
            " payload_size) FROM STDIN (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["timestamptz", "text", "text", "text", "text", "bytea", "int4"])
        for row in rows:
            copy.write_row(row)
