"""Rejected messages, kept with their reason so a technician can see what a device sent.

The table is capped per site (store/bounded.py): a batch reads and locks its site's counter
row, stores what fits and counts the rest as dropped, so the hot path never counts rows."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

# Enough to recognise what was sent; a hostile 1 MiB message must not cost 1 MiB a copy.
PAYLOAD_KEEP_BYTES = 4096

DeadLetterRow = tuple[datetime, str, str | None, str, str, bytes, int]

# Creates the counter rows of new sites; locks them in one order (two workers cannot both take
# the last room, nor deadlock); the cap is NULL until maintenance has written it.
_ROOM = """
INSERT INTO bounded_tables AS b (tbl, site)
SELECT 'dead_letters', s FROM unnest(%s::text[]) AS s ORDER BY s
ON CONFLICT (tbl, site) DO UPDATE SET rows = b.rows
RETURNING b.site, b.rows, (SELECT max_rows FROM table_caps WHERE tbl = 'dead_letters')
"""

_TALLY = """
UPDATE bounded_tables b SET rows = b.rows + t.added, dropped = b.dropped + t.refused
FROM unnest(%s::text[], %s::bigint[], %s::bigint[]) AS t (site, added, refused)
WHERE b.tbl = 'dead_letters' AND b.site = t.site
"""


def topic_site(topic: str) -> str:
    """The site a row counts against: the topic's third level, as SQL's ``topic_site``."""
    parts = topic.split("/", 3)
    return parts[2][:64] if len(parts) > 2 else ""


def insert_dead_letters(
    conn: psycopg.Connection[tuple[Any, ...]], rows: Sequence[DeadLetterRow]
) -> None:
    """Stores what fits under each site's cap, oldest first; refused rows are only counted,
    except that an unknown device's still lists it as pending (under that table's own cap)."""
    if not rows:
        return
    with conn.cursor() as cur:
        cur.execute(_ROOM, (sorted({topic_site(r[1]) for r in rows}),))
        room: dict[str, int | None] = {
            site: None if cap is None else max(0, cap - used) for site, used, cap in cur.fetchall()
        }
        kept: list[DeadLetterRow] = []
        refused: list[DeadLetterRow] = []
        for row in rows:
            site = topic_site(row[1])
            left = room[site]
            if left is None or left > 0:
                kept.append(row)
                room[site] = None if left is None else left - 1
            else:
                refused.append(row)
        if kept:
            with cur.copy(
                "COPY dead_letters (received_at, topic, device_id, reason, detail, payload,"
                " payload_size) FROM STDIN (FORMAT BINARY)"
            ) as copy:
                copy.set_types(["timestamptz", "text", "text", "text", "text", "bytea", "int4"])
                for row in kept:
                    copy.write_row(row)
        added = Counter(topic_site(r[1]) for r in kept)
        dropped = Counter(topic_site(r[1]) for r in refused)
        sites = sorted(added.keys() | dropped.keys())
        cur.execute(_TALLY, (sites, [added[s] for s in sites], [dropped[s] for s in sites]))
        unknown = [r for r in refused if r[3] == "unknown_device" and r[2] is not None]
        if unknown:
            cur.execute(
                "SELECT note_unknown_devices(%s::text[], %s::text[], %s::timestamptz[],"
                " %s::bytea[], %s::integer[])",
                (
                    [r[2] for r in unknown],
                    [r[1] for r in unknown],
                    [r[0] for r in unknown],
                    [r[5] for r in unknown],
                    [r[6] for r in unknown],
                ),
            )
