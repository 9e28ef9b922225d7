"""The shift report's rows: the incidents and alerts raised, resolved and still open in a shift,
and the devices' states; ``alerts.shift_report`` computes the report from them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts import shift_report as report
from store.device_states import DEVICE_STATES, FAULT_RULES

# Verdicts are people's: what the engine or a migration closed is no one's judgement.
_NOT_PEOPLE = "('engine', 'migration')"

_RAISED = """
SELECT id, subject, rule, class, state, created_at, acked_at, resolved_at, resolved_by, cause,
       escalation_level, count
FROM alerts
WHERE site = %(site)s AND created_at >= %(from)s AND created_at < %(to)s AND state <> 'suppressed'
  AND rule <> 'alert_flood'
"""

# Resolved during the shift, whenever raised: their verdicts and times to resolve.
_RESOLVED = f"""
SELECT class, cause, resolved_by, created_at, resolved_at
FROM alerts
WHERE site = %(site)s AND resolved_at >= %(from)s AND resolved_at < %(to)s
  AND suppressed_reason IS NULL AND resolved_by NOT IN {_NOT_PEOPLE}
"""

_HANDOVER = """
SELECT a.id, a.subject, a.rule, a.class, a.state, a.building, a.incident_id, a.created_at,
       a.claimed_by, a.acked_by, a.shelved_until, a.escalation_level,
       (SELECT l.detail ->> 'note' FROM alert_log l
        WHERE l.alert_id = a.id AND l.action = 'comment' ORDER BY l.id DESC LIMIT 1) AS last_comment
FROM alerts a
WHERE a.site = %(site)s AND a.state NOT IN ('resolved', 'suppressed') AND a.created_at < %(to)s
ORDER BY array_position(%(classes)s, a.class), a.created_at
"""

# An incident is acknowledged when a person first acknowledged it, on the incident or on its
# signals (its state then became active_ack): a later acknowledgement, after a new signal raised
# its class, does not move the time.
_INCIDENTS_RAISED = f"""
SELECT i.id, i.class, i.confirmed_at, i.created_at,
       least(i.acked_at,
             (SELECT min(l.at) FROM incident_log l
              WHERE l.incident_id = i.id AND l.actor NOT IN {_NOT_PEOPLE}
                AND (l.action = 'ack' OR l.to_state = 'active_ack'))) AS acked_at
FROM incidents i
WHERE i.site = %(site)s AND i.created_at >= %(from)s AND i.created_at < %(to)s
"""

_INCIDENTS_RESOLVED = f"""
SELECT class, cause, resolved_by, created_at, resolved_at
FROM incidents
WHERE site = %(site)s AND resolved_at >= %(from)s AND resolved_at < %(to)s
  AND resolved_by NOT IN {_NOT_PEOPLE}
"""

_INCIDENTS_HANDOVER = """
SELECT i.id, i.class, i.state, i.building, i.origin, i.confirmed_at, i.created_at, i.claimed_by,
       i.acked_by, i.shelved_until,
       (SELECT count(*) FROM alerts a WHERE a.incident_id = i.id AND a.state <> 'resolved')
           AS open_signals,
       (SELECT l.detail ->> 'note' FROM incident_log l
        WHERE l.incident_id = i.id AND l.action = 'comment' ORDER BY l.id DESC LIMIT 1)
           AS last_comment
FROM incidents i
WHERE i.site = %(site)s AND i.state <> 'resolved' AND i.created_at < %(to)s
ORDER BY array_position(%(classes)s, i.class), i.created_at
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

        async def rows(query: str) -> list[dict[str, Any]]:
            await cur.execute(query, params)
            return await cur.fetchall()

        incidents = report.Rows(
            raised=await rows(_INCIDENTS_RAISED),
            resolved=await rows(_INCIDENTS_RESOLVED),
            handover=await rows(_INCIDENTS_HANDOVER),
        )
        signals = report.Rows(
            raised=await rows(_RAISED),
            resolved=await rows(_RESOLVED),
            handover=await rows(_HANDOVER),
        )
        devices = await rows(DEVICE_STATES)
    return report.shift_report(
        site=site,
        start=start,
        end=end,
        incidents=incidents,
        signals=signals,
        devices=devices,
        noisy=noisy,
    )
