"""Latest state per device, upserted once per batch rather than once per message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import psycopg
from psycopg.types.json import Jsonb


@dataclass(slots=True)
class StatusUpdate:
    """What one batch learned about one device."""

    device_id: str
    last_seen: datetime
    received_at: datetime
    last_seq: int
    count: int = 0
    battery_pct: float | None = None
    rssi_dbm: float | None = None
    firmware: str | None = None
    latest: dict[str, float] = field(default_factory=dict)


# An older message (a redelivery, a gateway flushing its buffer) never overwrites newer state;
# its values only fill metrics the row does not have yet.
_UPSERT = """
INSERT INTO device_status AS s (device_id, last_seen, last_received_at, last_seq, battery_pct,
                                rssi_dbm, firmware, latest, message_count)
SELECT * FROM unnest(%s::text[], %s::timestamptz[], %s::timestamptz[], %s::bigint[],
                     %s::float8[], %s::float8[], %s::text[], %s::jsonb[], %s::bigint[])
ON CONFLICT (device_id) DO UPDATE SET
    last_received_at = greatest(s.last_received_at, excluded.last_received_at),
    message_count = s.message_count + excluded.message_count,
    last_seen = greatest(s.last_seen, excluded.last_seen),
    last_seq = CASE WHEN excluded.last_seen >= s.last_seen THEN excluded.last_seq ELSE s.last_seq END,
    battery_pct = CASE WHEN excluded.last_seen >= s.last_seen
                       THEN coalesce(excluded.battery_pct, s.battery_pct)
                       ELSE coalesce(s.battery_pct, excluded.battery_pct) END,
    rssi_dbm = CASE WHEN excluded.last_seen >= s.last_seen
                    THEN coalesce(excluded.rssi_dbm, s.rssi_dbm)
                    ELSE coalesce(s.rssi_dbm, excluded.rssi_dbm) END,
    firmware = CASE WHEN excluded.last_seen >= s.last_seen
                    THEN coalesce(excluded.firmware, s.firmware)
                    ELSE coalesce(s.firmware, excluded.firmware) END,
    latest = CASE WHEN excluded.last_seen >= s.last_seen THEN s.latest || excluded.latest
                  ELSE excluded.latest || s.latest END
"""


def upsert_status(conn: psycopg.Connection[tuple[Any, ...]], updates: Sequence[StatusUpdate]) -> None:
    if not updates:
        return
    # Sorted, so that two ingest workers lock rows in the same order and never deadlock.
    ordered = sorted(updates, key=lambda u: u.device_id)
    conn.execute(
        _UPSERT,
        (
            [u.device_id for u in ordered],
            [u.last_seen for u in ordered],
            [u.received_at for u in ordered],
            [u.last_seq for u in ordered],
            [u.battery_pct for u in ordered],
            [u.rssi_dbm for u in ordered],
            [u.firmware for u in ordered],
            [Jsonb(u.latest) for u in ordered],
            [u.count for u in ordered],
        ),
    )


def upsert_frames(
    conn: psycopg.Connection[tuple[Any, ...]], frames: Sequence[tuple[str, datetime, int, bytes]]
) -> None:
    """Keep each camera's newest frame, for the heat-map view; history is kept as readings."""
    for device_id, ts, seq, payload in sorted(frames):
        conn.execute(
            "INSERT INTO camera_frames_latest AS f (device_id, ts, seq, payload)"
            " VALUES (%s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE"
            " SET ts = excluded.ts, seq = excluded.seq, payload = excluded.payload"
            " WHERE excluded.ts >= f.ts",
            (device_id, ts, seq, payload),
        )
