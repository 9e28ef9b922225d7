"""Alert rows, their audit log, and the NOTIFY that tells every API replica about a change."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from alerts.engine import Raise

NOTIFY_CHANNEL = "fw_alerts"

# A raise either opens an alert (logged as 'raise') or counts a repeat on the open one.
# NOTIFY is transactional: listeners hear of the change only once the batch commits.
_APPLY_RAISES = """
WITH d AS (
    SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::timestamptz[],
                         %s::timestamptz[], %s::timestamptz[], %s::int[], %s::jsonb[])
        AS d(device_id, rule, class, raised_at, last_at, received_at, n, detail)
), up AS (
    INSERT INTO alerts AS a (device_id, rule, class, state, raised_at, received_at, last_at,
                             count, detail)
    SELECT device_id, rule, class, 'active_unack', raised_at, received_at, last_at, n, detail
    FROM d ORDER BY device_id, rule
    ON CONFLICT (device_id, rule) WHERE state <> 'resolved' DO UPDATE SET
        count = a.count + excluded.count,
        last_at = greatest(a.last_at, excluded.last_at),
        updated_at = now()
    RETURNING a.id, a.device_id, a.rule, a.class, a.state, a.count, (a.xmax = 0) AS opened
), log AS (
    INSERT INTO alert_log (alert_id, actor, action, to_state, detail)
    SELECT up.id, 'engine', 'raise', up.state, d.detail
    FROM up JOIN d USING (device_id, rule) WHERE up.opened
)
SELECT id, device_id, rule, class, state, count, opened,
       pg_notify(%s, json_build_object('id', id, 'device_id', device_id, 'rule', rule,
                 'class', class, 'state', state, 'count', count,
                 'change', CASE WHEN opened THEN 'raise' ELSE 'repeat' END)::text)
FROM up
"""


def apply_raises(conn: psycopg.Connection[Any], raises: Sequence[Raise]) -> list[dict[str, Any]]:
    if not raises:
        return []
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            _APPLY_RAISES,
            (
                [r.device_id for r in raises],
                [r.rule for r in raises],
                [r.alert_class.value for r in raises],
                [r.at for r in raises],
                [r.last_at for r in raises],
                [r.received_at for r in raises],
                [r.count for r in raises],
                [Jsonb(r.detail) for r in raises],
                NOTIFY_CHANNEL,
            ),
        )
        return cur.fetchall()


_ALERT_COLUMNS = (
    "id, device_id, rule, class, state, raised_at, received_at, last_at, count, detail,"
    " updated_at, resolved_at, cause"
)


async def list_alerts(
    conn: psycopg.AsyncConnection[Any], *, open_only: bool, limit: int
) -> list[dict[str, Any]]:
    where = "WHERE state <> 'resolved'" if open_only else ""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            f"SELECT {_ALERT_COLUMNS} FROM alerts {where} ORDER BY raised_at DESC LIMIT %s",
            (limit,),
        )
        return await cur.fetchall()
