"""Stamps for re-stamped events (a wrong device clock): the same stamp for every copy.

A fire or tamper event whose device time is outside the window is stored at its arrival time,
but a redelivery arrives later. Its stamp is therefore the first copy's, remembered under the
message's own identity (device, seq, device time); the events' unique index then counts every
later copy as a duplicate. A copy is one only within ``SAME_MESSAGE_WITHIN`` of the first: a
device whose clock names no moment says the same identity for every fire of a component (a
GB/T 26875.3 label of zeros, seq made of the state), and its next fire, an hour later, is a
new message. A copy redelivered later than that (ingest away longer) is stored twice: a
duplicate, never a lost fire. The stamp is remembered in its own short transaction, before the
batch's: a batch that fails and is retried takes the same stamp again, and a concurrent worker
that receives another copy waits on the primary key and gets the same one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

import psycopg

# (device_id, seq, device_ts): the contract's identity of a message.
Claim = tuple[str, int, datetime]

# One claim at a time, so each probe is pruned to the one partition of its time.
_STORED_AS_SENT = "SELECT 1 FROM events WHERE device_id = %s AND ts = %s AND seq = %s"

# How long after a re-stamped event's arrival a copy of it is still that event: a device's
# retries and a broker's redelivery after a restart come within seconds to minutes.
SAME_MESSAGE_WITHIN = timedelta(minutes=10)

_REMEMBER = """
INSERT INTO restamped_events AS r (device_id, seq, device_ts, ts)
SELECT * FROM unnest(%s::text[], %s::int8[], %s::timestamptz[], %s::timestamptz[])
ON CONFLICT (device_id, seq, device_ts) DO UPDATE
    SET ts = CASE WHEN r.ts < excluded.ts - %s THEN excluded.ts ELSE r.ts END
RETURNING device_id, seq, device_ts, ts
"""


def stamps(
    conn: psycopg.Connection[Any], arrivals: Iterable[tuple[Claim, datetime]]
) -> dict[Claim, datetime]:
    """The stamp of each claimed message: its own time if it was once stored as sent (a copy
    redelivered after that time left the window), else the first copy's arrival."""
    proposed = dict(arrivals)  # one row per identity: ON CONFLICT may touch a row only once
    if not proposed:
        return {}
    found: dict[Claim, datetime] = {}
    with conn.transaction():
        for device_id, seq, sent in proposed:
            if conn.execute(_STORED_AS_SENT, (device_id, sent, seq)).fetchone():
                found[(device_id, seq, sent)] = sent
        # In key order, so two workers claiming overlapping copies cannot deadlock.
        rest = sorted(c for c in proposed if c not in found)
        if rest:
            rows = conn.execute(
                _REMEMBER,
                (
                    [c[0] for c in rest],
                    [c[1] for c in rest],
                    [c[2] for c in rest],
                    [proposed[c] for c in rest],
                    SAME_MESSAGE_WITHIN,
                ),
            )
            found.update({(d, s, t): stamp for d, s, t, stamp in rows})
    return found


_REMEMBERED = """
SELECT r.device_id, r.seq, r.device_ts, r.ts
FROM restamped_events r
JOIN unnest(%s::text[], %s::int8[], %s::timestamptz[]) AS c(device_id, seq, device_ts)
  USING (device_id, seq, device_ts)
"""


def remembered(conn: psycopg.Connection[Any], claims: Iterable[Claim]) -> dict[Claim, datetime]:
    """The stamps of messages once re-stamped, for copies that arrive when their device time
    is back inside the window: they take the first copy's stamp, and are duplicates."""
    wanted = sorted(set(claims))
    if not wanted:
        return {}
    rows = conn.execute(
        _REMEMBERED, ([c[0] for c in wanted], [c[1] for c in wanted], [c[2] for c in wanted])
    )
    return {(d, s, t): stamp for d, s, t, stamp in rows}


def prune_restamped(conn: psycopg.Connection[Any], *, before: datetime) -> int:
    """Forgets stamps older than ``before`` (the events' own retention): a copy of an event
    that old is refused as stale, and the event it would duplicate is gone."""
    return conn.execute("DELETE FROM restamped_events WHERE ts < %s", (before,)).rowcount
