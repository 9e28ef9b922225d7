"""The monthly report's rows: a site's incidents stored in a month, each with its first
acknowledgement, dispatch and arrival, the field's last verdict and its signals' devices, and
the dispatches sent in the month; ``alerts.monthly_report`` computes the report from them."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts import monthly_report as report

# An incident is acknowledged when a person first acknowledged it, on the incident or on its
# signals (as in the shift report); the field's verdict is the last one given.
_INCIDENTS = """
SELECT i.id, i.class, i.building, b.name AS building_name, i.origin, i.created_at,
       i.confirmed_at, i.cause, i.resolved_by, i.call_119_confirmed,
       least(i.acked_at,
             (SELECT min(l.at) FROM incident_log l
              WHERE l.incident_id = i.id AND l.actor <> ALL(%(not_people)s)
                AND (l.action = 'ack' OR l.to_state = 'active_ack'))) AS acked_at,
       d.dispatched_at, d.arrived_at, v.verdict AS field_verdict, v.cause AS field_cause,
       coalesce(m.devices, '[]'::jsonb) AS devices
FROM incidents i
LEFT JOIN buildings b ON b.id = i.building
LEFT JOIN LATERAL (
    SELECT min(created_at) AS dispatched_at, min(arrived_at) AS arrived_at
    FROM dispatches WHERE incident_id = i.id
) d ON true
LEFT JOIN LATERAL (
    SELECT verdict, cause FROM dispatches
    WHERE incident_id = i.id AND verdict IS NOT NULL
    ORDER BY verdict_at DESC, id DESC LIMIT 1
) v ON true
LEFT JOIN LATERAL (
    SELECT jsonb_agg(DISTINCT jsonb_build_object('kind', dv.kind, 'model', dv.config ->> 'model'))
        AS devices
    FROM alerts a JOIN devices dv ON dv.id = a.device_id
    WHERE a.incident_id = i.id
) m ON true
WHERE i.site = %(site)s AND i.created_at >= %(from)s AND i.created_at < %(to)s
ORDER BY i.id
"""

_DISPATCHES = """
SELECT d.id, d.incident_id, d.automatic, d.state, d.created_at, d.accepted_at, d.arrived_at,
       d.verdict, d.cause, d.exhausted_at, d.revoked_at,
       EXISTS (SELECT 1 FROM dispatch_notices n
               WHERE n.dispatch_id = d.id AND n.step = 'escalate') AS escalated
FROM dispatches d
WHERE d.site = %(site)s AND d.created_at >= %(from)s AND d.created_at < %(to)s
ORDER BY d.id
"""


async def monthly_report(
    conn: psycopg.AsyncConnection[Any], *, site: str, month: str, tz: tzinfo
) -> dict[str, Any]:
    """The site's report for ``month`` (``YYYY-MM``, checked by the caller), a calendar month
    on ``tz``'s wall clock."""
    start, end = report.month_window(month, tz)
    params = {"site": site, "from": start, "to": end, "not_people": list(report.NOT_PEOPLE)}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_INCIDENTS, params)
        incidents = await cur.fetchall()
        await cur.execute(_DISPATCHES, params)
        dispatches = await cur.fetchall()
    return report.monthly_report(
        site=site, month=month, start=start, end=end, incidents=incidents, dispatches=dispatches
    )
