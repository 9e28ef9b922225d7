"""The shift report's rows: the alerts raised, resolved and still open in a shift, and the
devices' states; ``alerts.shift_report`` computes the report from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts import shift_report as report
from store.device_states import DEVICE_STATES, FAULT_RULES

_RAISED = """
SELECT id, subject, rule, class, state, created_at, acked_at, resolved_at, resolved_by, cause,
       escalation_level, count
FROM alerts
WHERE site = %(site)s AND created_at >= %(from)s AND created_at < %(to)s AND state <> 'suppressed'
  AND rule <> 'alert_flood'
"""

# Resolved during the shift, whenever raised: their verdicts and times to resolve.
_RESOLVED = """
SELECT class, cause, resolved_by, created_at, resolved_at
FROM alerts
WHERE site = %(site)s AND resolved_at >= %(from)s AND resolved_at < %(to)s
  AND suppressed_reason IS NULL AND resolved_by <> 'engine'
"""

_HANDOVER = """
SELECT a.id, a.subject, a.rule, a.class, a.state, a.building, a.created_at, a.claimed_by,
       a.acked_by, a.shelved_until, a.escalation_level,
       (SELECT l.detail ->> 'note' FROM alert_log l
        WHERE l.alert_id = a.id AND l.action = 'comment' ORDER BY l.id DESC LIMIT 1) AS last_comment
FROM alerts a
WHERE a.site = %(site)s AND a.state NOT IN ('resolved', 'suppressed') AND a.created_at < %(to)s
ORDER BY array_position(%(classes)s, a.class), a.created_at
"""


async def shift_report(
    conn: psycopg.AsyncConnection[Any],
    *,
    site: str,
    start: datetime,
    end: datetime,
    noisy: int = 10,
) -> dict[str, Any]:
    params = {
        "site": site,
        "from": start,
        "to": end,
        "now": end,
        "classes": list(report.CLASS_ORDER),
        "fault_rules": list(FAULT_RULES),
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_RAISED, params)
        raised = await cur.fetchall()
        await cur.execute(_RESOLVED, params)
        resolved = await cur.fetchall()
        await cur.execute(_HANDOVER, params)
        handover = await cur.fetchall()
        await cur.execute(DEVICE_STATES, params)
        devices = await cur.fetchall()
    return report.shift_report(
        site=site,
        start=start,
        end=end,
        raised=raised,
        resolved=resolved,
        handover=handover,
        devices=devices,
        noisy=noisy,
    )
