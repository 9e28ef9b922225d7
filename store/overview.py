"""The control centre's one-screen summary.

It reads only what ingest already keeps rolled up: the registry, each device's live status
(newest values, last heard), and the alerts with their log. It never scans raw readings, so its
cost follows the number of devices and alerts, not the hours of data behind them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from store.device_states import DEVICE_STATES

# The worst open alert colours a building: the order operators triage in.
CLASS_ORDER = ("fire", "prealarm", "supervisory", "trouble")
FAULT_RULES = ("fault", "sensor_stuck", "tamper")
HOT_METRICS = ("frame_max_temp_c", "max_temp_c", "cable_temp_c", "temperature_c")

_OPEN = """
SELECT id, subject, device_id, rule, class, state, building, chattering
FROM alerts WHERE state <> 'resolved' AND site = %(site)s
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

_RATE = """
SELECT count(*) FILTER (WHERE created_at >= %(now)s - interval '10 minutes') AS recent,
       count(*) AS window
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
    conn: psycopg.AsyncConnection[Any], *, site: str, hours: int, now: datetime,
    hot_spots: int = 10, events: int = 20,
) -> dict[str, Any]:  # fmt: skip
    since = now - timedelta(hours=hours)
    params = {"site": site, "now": now, "since": since, "events": events}
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(DEVICE_STATES, params)
        devices = await cur.fetchall()
        await cur.execute(_OPEN, params)
        open_alerts = await cur.fetchall()
        await cur.execute(_TIMELINE, params)
        timeline = await cur.fetchall()
        await cur.execute(_RATE, params)
        rate = await cur.fetchone()
        await cur.execute(_LATEST, params)
        latest = await cur.fetchall()
    assert rate is not None
    dispatched = [a for a in open_alerts if a["state"] != "suppressed"]
    faulty = {a["device_id"] for a in dispatched if a["rule"] in FAULT_RULES}
    for d in devices:
        if d["state"] == "online" and d["id"] in faulty:
            d["state"] = "fault"
    return {
        "generated_at": now, "hours": hours, "site": site,
        "devices": _device_counts(devices),
        "open_alerts": _open_counts(dispatched),
        "timeline": timeline,
        "alarm_rate": {
            "last_10min": rate["recent"],
            "per_10min_avg": round(rate["window"] / (hours * 6), 2),
            "flood": any(a["rule"] == "alert_flood" for a in dispatched),
            "chattering_devices": sorted({a["subject"] for a in dispatched if a["chattering"]}),
        },
        "hot_spots": _hot_spots(devices, hot_spots),
        "buildings": _buildings(devices, dispatched),
        "latest_events": latest,
    }  # fmt: skip


def _device_counts(devices: list[dict[str, Any]]) -> dict[str, Any]:
    states = ("online", "offline", "fault", "maintenance", "commissioning")
    by_kind: dict[str, dict[str, int]] = {}
    for d in devices:
        counts = by_kind.setdefault(d["kind"], dict.fromkeys(states, 0))
        counts[d["state"]] += 1
    return {"total": len(devices), "by_kind": by_kind}


def _open_counts(alerts: list[dict[str, Any]]) -> dict[str, Any]:
    by_class = dict.fromkeys(CLASS_ORDER, 0)
    by_state: dict[str, int] = {}
    for a in alerts:
        by_class[a["class"]] += 1
        by_state[a["state"]] = by_state.get(a["state"], 0) + 1
    return {"total": len(alerts), "by_class": by_class, "by_state": by_state}


def _hot_spots(devices: list[dict[str, Any]], top: int) -> list[dict[str, Any]]:
    """The hottest newest value per device: cameras' frames, cables, rooms."""
    found = []
    for d in devices:
        latest = d["latest"] or {}
        for metric in HOT_METRICS:
            if metric in latest:
                found.append({"device_id": d["id"], "kind": d["kind"], "metric": metric,
                              "value": latest[metric], "building": d["building"],
                              "lat": d["lat"], "lon": d["lon"]})  # fmt: skip
                break
    found.sort(key=lambda h: h["value"], reverse=True)
    return found[:top]


def _buildings(devices: list[dict[str, Any]], alerts: list[dict[str, Any]]) -> list[dict[str, Any]]:
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
    grouped: dict[str, list[dict[str, Any]]] = {}
    for d in devices:
        if d["building"] is not None:
            grouped.setdefault(d["building"], []).append(d)
    out = []
    for building, members in sorted(grouped.items()):
        placed = [m for m in members if m["lat"] is not None and m["lon"] is not None]
        silent = all(m["state"] == "offline" for m in members)
        out.append({
            "id": building,
            "lat": sum(m["lat"] for m in placed) / len(placed) if placed else None,
            "lon": sum(m["lon"] for m in placed) / len(placed) if placed else None,
            "state": worst.get(building) or ("offline" if silent else "normal"),
            "open_alerts": open_count.get(building, 0),
            "devices": len(members),
        })  # fmt: skip
    return out
