"""The control centre's one-screen summary.

It reads only what ingest already keeps rolled up: the registry, each device's live status
(newest values, last heard), the incidents, and the alerts with their log. It never scans raw
readings, so its cost follows the number of devices, incidents and alerts, not the hours of data
behind them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from alerts.shift_report import CLASS_ORDER, INCIDENT_CLASS_ORDER
from store.device_states import DEVICE_STATES, FAULT_RULES

# The worst open alert colours a building: the order operators triage in.
# A device's hot-spot value: the first of these it reports (a camera's whole frame first).
HOT_METRICS = ("frame_max_temp_c", "max_temp_c", "cable_temp_c", "temperature_c")
_HOT_METRIC = "CASE " + " ".join(f"WHEN st.latest ? '{m}' THEN '{m}'" for m in HOT_METRICS) + " END"

# Counts, buildings and hot spots are aggregated by the database in one round trip: the
# screen needs a few hundred rows, not one per device.
_DEVICES = f"""
WITH st AS MATERIALIZED ({DEVICE_STATES}),
hot AS (
    SELECT st.id AS device_id, st.kind, st.building, st.lat, st.lon, {_HOT_METRIC} AS metric,
           (st.latest ->> {_HOT_METRIC})::float8 AS value
    FROM st WHERE st.latest IS NOT NULL
)
SELECT
  (SELECT coalesce(json_agg(c), '[]') FROM
     (SELECT kind, state, count(*) AS n FROM st GROUP BY kind, state) c) AS counts,
  (SELECT coalesce(json_agg(b ORDER BY b.id), '[]') FROM
     (SELECT building AS id, avg(lat) AS lat, avg(lon) AS lon, count(*) AS devices,
             bool_and(state = 'offline') AS silent
      FROM st WHERE building IS NOT NULL GROUP BY building) b) AS buildings,
  (SELECT coalesce(json_agg(h), '[]') FROM
     (SELECT * FROM hot WHERE value IS NOT NULL ORDER BY value DESC, device_id
      LIMIT %(top)s) h) AS hot_spots
"""

_OPEN = """
SELECT id, subject, device_id, rule, class, state, building, chattering
FROM alerts WHERE state <> 'resolved' AND site = %(site)s
"""

# What operators have to work: one row per class, state and confirmation.
_OPEN_INCIDENTS = """
SELECT class, state, confirmed_at IS NOT NULL AS confirmed, count(*) AS n
FROM incidents WHERE state <> 'resolved' AND site = %(site)s
GROUP BY 1, 2, 3
"""

_TIMELINE = """
SELECT h.hour,
       count(a.id) FILTER (WHERE a.class = 'fire') AS fire,
       count(a.id) FILTER (WHERE a.class = 'prealarm') AS prealarm,
       count(a.id) FILTER (WHERE a.class = 'supervisory') AS supervisory,
       count(a.id) FILTER (WHERE a.class = 'trouble') AS trouble
FROM generate_series(date_trunc('hour', %(since)s::timestamptz),
                     date_trunc('hour', %(now)s::timestamptz), interval '1 hour') AS h(hour)
LEFT JOIN alerts a ON a.site = %(site)s AND a.state <> 'suppressed'
     AND a.created_at >= %(since)s AND a.created_at >= h.hour
     AND a.created_at < h.hour + interval '1 hour'
GROUP BY h.hour ORDER BY h.hour
"""

# Floods count incidents (alerts.timers): the same measure, next to the signals'.
_RATE = """
SELECT count(*) FILTER (WHERE created_at >= %(now)s - interval '10 minutes') AS recent,
       count(*) AS window,
       (SELECT count(*) FROM incidents
        WHERE site = %(site)s AND created_at >= %(now)s - interval '10 minutes') AS incidents
FROM alerts
WHERE site = %(site)s AND created_at >= %(since)s AND state <> 'suppressed'
  AND rule <> 'alert_flood'
"""

_LATEST = """
SELECT l.at, l.alert_id, a.subject, a.rule, a.class, l.action, l.actor, l.to_state
FROM alert_log l JOIN alerts a ON a.id = l.alert_id
WHERE a.site = %(site)s AND a.state <> 'suppressed' AND l.action <> 'repeat'
ORDER BY l.id DESC LIMIT %(events)s
"""


async def overview(
    conn: psycopg.AsyncConnection[Any],
    *,
    site: str,
    hours: int,
    now: datetime,
    hot_spots: int = 10,
    events: int = 20,
) -> dict[str, Any]:
    since = now - timedelta(hours=hours)
    params = {
        "site": site,
        "now": now,
        "since": since,
        "events": events,
        "top": hot_spots,
        "fault_rules": list(FAULT_RULES),
    }
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_DEVICES, params)
        rolled = await cur.fetchone()
        await cur.execute(_OPEN, params)
        open_alerts = await cur.fetchall()
        await cur.execute(_OPEN_INCIDENTS, params)
        open_incidents = await cur.fetchall()
        await cur.execute(_TIMELINE, params)
        timeline = await cur.fetchall()
        await cur.execute(_RATE, params)
        rate = await cur.fetchone()
        await cur.execute(_LATEST, params)
        latest = await cur.fetchall()
    assert rolled is not None and rate is not None
    dispatched = [a for a in open_alerts if a["state"] != "suppressed"]
    return {
        "generated_at": now,
        "hours": hours,
        "site": site,
        "devices": _device_counts(rolled["counts"]),
        "open_alerts": _open_counts(dispatched),
        "open_incidents": _incident_counts(open_incidents),
        "timeline": timeline,
        "alarm_rate": {
            "last_10min": rate["recent"],
            "incidents_last_10min": rate["incidents"],
            "per_10min_avg": round(rate["window"] / (hours * 6), 2),
            "flood": any(a["rule"] == "alert_flood" for a in dispatched),
            "chattering_devices": sorted({a["subject"] for a in dispatched if a["chattering"]}),
        },
        "hot_spots": rolled["hot_spots"],
        "buildings": _buildings(rolled["buildings"], dispatched),
        "latest_events": latest,
    }


def _device_counts(counts: list[dict[str, Any]]) -> dict[str, Any]:
    states = ("online", "offline", "fault", "maintenance", "commissioning")
    by_kind: dict[str, dict[str, int]] = {}
    for c in counts:
        by_kind.setdefault(c["kind"], dict.fromkeys(states, 0))[c["state"]] = c["n"]
    return {"total": sum(c["n"] for c in counts), "by_kind": by_kind}


def _open_counts(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    by_class = dict.fromkeys(CLASS_ORDER, 0)
    by_state: dict[str, int] = {}
    for a in alerts:
        by_class[a["class"]] += 1
        by_state[a["state"]] = by_state.get(a["state"], 0) + 1
    return {"total": len(alerts), "by_class": by_class, "by_state": by_state}


def _incident_counts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    by_class = dict.fromkeys(INCIDENT_CLASS_ORDER, 0)
    by_state: dict[str, int] = {}
    for r in rows:
        by_class[r["class"]] += r["n"]
        by_state[r["state"]] = by_state.get(r["state"], 0) + r["n"]
    return {
        "total": sum(r["n"] for r in rows),
        "by_class": by_class,
        "by_state": by_state,
        "confirmed": sum(r["n"] for r in rows if r["confirmed"]),
    }


def _buildings(rolled: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each building's worst open alert class, or offline when none of its devices speaks."""
    rank = {c: i for i, c in enumerate(CLASS_ORDER)}
    worst: dict[str, str] = {}
    open_count: dict[str, int] = {}
    for a in alerts:
        b = a["building"]
        if b is None:
            continue
        open_count[b] = open_count.get(b, 0) + 1
        if b not in worst or rank[a["class"]] < rank[worst[b]]:
            worst[b] = a["class"]
    for b in rolled:
        silent = b.pop("silent")
        b["state"] = worst.get(b["id"]) or ("offline" if silent else "normal")
        b["open_alerts"] = open_count.get(b["id"], 0)
    return rolled
