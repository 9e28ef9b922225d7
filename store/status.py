"""Latest state per device, upserted once per batch rather than once per message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
import psycopg


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
# its values only fill metrics the row does not have yet. The batch travels as one JSON
# document: parsing one document costs half of what a jsonb[] of thousands of elements does.
_UPSERT = """
INSERT INTO device_status AS s (device_id, last_seen, last_received_at, last_seq, battery_pct,
                                rssi_dbm, firmware, latest, message_count)
SELECT device_id, last_seen, received_at, last_seq, battery_pct, rssi_dbm, firmware, latest, n
FROM jsonb_to_recordset(%s::jsonb) AS u(device_id text, last_seen timestamptz,
     received_at timestamptz, last_seq bigint, battery_pct float8, rssi_dbm float8,
     firmware text, latest jsonb, n bigint)
ON CONFLICT (device_id) DO UPDATE SET
    last_received_at = greatest(s.last_received_at, excluded.last_received_at),
    message_count = s.message_count + excluded.message_count,
    last_seen = greatest(s.last_seen, excluded.last_seen),
    last_seq = CASE WHEN excluded.last_seen >= s.last_seen
                    THEN excluded.last_seq ELSE s.last_seq END,
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


def upsert_status(conn: psycopg.Connection[Any], updates: Sequence[StatusUpdate]) -> None:
    if not updates:
        return
    # Sorted, so that two ingest workers lock rows in the same order and never deadlock.
    document = orjson.dumps(
        [
            {
                "device_id": u.device_id,
                "last_seen": u.last_seen,
                "received_at": u.received_at,
                "last_seq": u.last_seq,
                "battery_pct": u.battery_pct,
                "rssi_dbm": u.rssi_dbm,
                "firmware": u.firmware,
                "latest": u.latest,
                "n": u.count,
            }
            for u in sorted(updates, key=lambda u: u.device_id)
        ]
    )
    conn.execute(_UPSERT, (document.decode(),))


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
