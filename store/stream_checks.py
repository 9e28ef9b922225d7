"""A site's devices in buildings, and what was stored of their readings, for the tests and the
benchmark of ingest on a broker cluster (tests/broker/, bench/cluster.py)."""

from __future__ import annotations

from typing import Any

import psycopg

from contract.kinds import KIND_SPECS, Kind


def register_in_buildings(
    conn: psycopg.Connection[Any], site: str, count: int, *, buildings: int
) -> list[str]:
    """Smoke detectors spread over ``buildings`` buildings, so partitioned workers share them."""
    ids = [f"{site}-{n:04d}" for n in range(count)]
    heartbeat = KIND_SPECS[Kind.SMOKE].heartbeat_s
    with (
        conn.cursor() as cur,
        cur.copy("COPY devices (id, kind, site, heartbeat_s, building) FROM STDIN") as copy,
    ):
        for n, device_id in enumerate(ids):
            copy.write_row((device_id, Kind.SMOKE.value, site, heartbeat, f"B-{n % buildings:03d}"))
    return ids


def out_of_order(conn: psycopg.Connection[Any], site: str) -> int:
    """Rows stored after a later ``seq`` of the same device: received_at is when ingest took
    the message, so a device's rows, ordered by seq, must have non-decreasing received_at."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT received_at, lag(received_at) OVER"
        " (PARTITION BY device_id ORDER BY seq) AS before FROM readings"
        " WHERE device_id LIKE %s) AS r WHERE received_at < before",
        (f"{site}-%",),
    ).fetchone()
    return int(row[0]) if row else 0
