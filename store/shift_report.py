"""The shift report: what happened between two times, how fast people answered, and what the
next shift inherits.

Times to acknowledge and resolve run from when the alert was stored (the server's clock, the
moment an operator could first have seen it) to the person's action. The false-alarm ratio
counts operators' verdicts on fire and pre-alarm alerts: false alarms over real fires plus
false alarms; tests and maintenance are neither, so they are left out.
"""

from __future__ import annotations

from datetime import datetime
from statistics import median
from typing import Any

import psycopg
from psycopg.rows import dict_row

from store.device_states import DEVICE_STATES, FAULT_RULES
from store.overview import CLASS_ORDER

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


def _durations(pairs: list[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    seconds = [(done - start).total_seconds() for start, done in pairs if done is not None]
    return {
        "count": len(seconds),
        "median_s": round(median(seconds), 1) if seconds else None,
        "worst_s": round(max(seconds), 1) if seconds else None,
    }


async def shift_report(
    conn: psycopg.AsyncConnection[Any],
    *,
    site: str,
    start: datetime,
    end: datetime,
    noisy: int = 10,
) -> dict[str, Any]:
    params = {"site": site, "from": start, "to": end, "now": end, "classes": list(CLASS_ORDER),
              "fault_rules": list(FAULT_RULES)}  # fmt: skip
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_RAISED, params)
        raised = await cur.fetchall()
        await cur.execute(_RESOLVED, params)
        resolved = await cur.fetchall()
        await cur.execute(_HANDOVER, params)
        handover = await cur.fetchall()
        await cur.execute(DEVICE_STATES, params)
        devices = await cur.fetchall()
    by_class = {c: [a for a in raised if a["class"] == c] for c in CLASS_ORDER}
    verdicts = [r["cause"] for r in resolved if r["class"] in ("fire", "prealarm")]
    judged = verdicts.count("false_alarm") + verdicts.count("real_fire")
    noise: dict[str, int] = {}
    for a in raised:
        noise[a["subject"]] = noise.get(a["subject"], 0) + a["count"]
    offline = [d for d in devices if d["state"] == "offline"]
    return {
        "site": site, "from": start, "to": end,
        "alerts": {
            "total": len(raised),
            "by_class": {c: len(v) for c, v in by_class.items()},
            "escalated": sum(1 for a in raised if a["escalation_level"] > 0),
        },
        "time_to_ack": {
            c: _durations([(a["created_at"], a["acked_at"]) for a in v])
            for c, v in by_class.items()
        },
        "time_to_resolve": {
            c: _durations([(r["created_at"], r["resolved_at"]) for r in resolved
                           if r["class"] == c])
            for c in CLASS_ORDER
        },
        "verdicts": {cause: verdicts.count(cause) for cause in sorted(set(verdicts))},
        "false_alarm_ratio": round(verdicts.count("false_alarm") / judged, 3) if judged else None,
        "devices_offline": {
            "count": len(offline),
            "devices": [{"device_id": d["id"], "kind": d["kind"], "building": d["building"],
                         "last_heard": d["last_received_at"]} for d in offline[:100]],
        },
        "noisiest": [{"subject": s, "alerts": n} for s, n in
                     sorted(noise.items(), key=lambda kv: (-kv[1], kv[0]))[:noisy]],
        "handover": handover,
    }  # fmt: skip
