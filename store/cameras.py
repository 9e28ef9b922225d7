"""Cameras for video linkage: where an incident is, the cameras that may show it, one camera
with its login for its PTZ driver, camera logins kept apart from the registry's rows, and the
video steps written to an incident's log (``video_check``, ``camera_goto``) with their NOTIFY.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from contract.kinds import Kind
from store.incidents import LOG, IncidentChange
from store.notify import NOTIFY

CAMERA_KINDS = (Kind.VIDEO_CAMERA.value, Kind.THERMAL_CAMERA.value)
_METRES_PER_DEGREE = 111_320.0

# The incident, with its building's position, or else its camera's (a camera's target
# outside every registered building).
_TARGET = """
SELECT i.id, i.site, i.building, i.origin, i.state,
       coalesce(b.lat, o.lat) AS lat, coalesce(b.lon, o.lon) AS lon
FROM incidents i
LEFT JOIN buildings b ON b.id = i.building
LEFT JOIN devices o ON o.id = i.origin
WHERE i.id = %s
"""

# Cameras with a preset on the building, the incident's own camera, and every camera in a box
# around the position as wide as the farthest any camera may see: dispatch.video measures.
_CANDIDATES = """
SELECT id, kind, name, building, lat, lon, status, config
FROM devices
WHERE kind = ANY(%(kinds)s) AND status <> 'decommissioned'
  AND (%(site)s::text IS NULL OR site = %(site)s)
  AND (config -> 'presets' @> %(shown)s::jsonb
       OR id = %(origin)s
       OR (lat BETWEEN %(south)s AND %(north)s AND lon BETWEEN %(west)s AND %(east)s))
ORDER BY id
"""

_CAMERA = """
SELECT d.id, d.kind, d.name, d.building, d.lat, d.lon, d.status, d.config,
       c.username, c.password, c.ptz_origin
FROM devices d LEFT JOIN camera_credentials c ON c.device_id = d.id
WHERE d.id = %s AND d.kind = ANY(%s)
"""

_CREDENTIALS = "SELECT device_id, username, updated_at, updated_by FROM camera_credentials"


async def incident_target(
    conn: psycopg.AsyncConnection[Any], incident_id: int
) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_TARGET, (incident_id,))
        return await cur.fetchone()


async def candidate_cameras(
    conn: psycopg.AsyncConnection[Any],
    *,
    site: str | None,
    building: str | None,
    origin: str | None,
    lat: float | None,
    lon: float | None,
    reach_m: float,
) -> list[dict[str, Any]]:
    """Cameras not decommissioned that may show the place: a preset on ``building``, the
    incident's ``origin`` camera, or within ``reach_m`` of the position along each axis."""
    box: dict[str, float | None] = dict.fromkeys(("south", "north", "west", "east"))
    if lat is not None and lon is not None:
        dlat = reach_m / _METRES_PER_DEGREE
        dlon = reach_m / (_METRES_PER_DEGREE * max(math.cos(math.radians(lat)), 0.01))
        box = {"south": lat - dlat, "north": lat + dlat, "west": lon - dlon, "east": lon + dlon}
    shown = [{"buildings": [building]}] if building else None
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            _CANDIDATES,
            {
                "kinds": list(CAMERA_KINDS),
                "site": site,
                "shown": Jsonb(shown) if shown else None,
                "origin": origin,
                **box,
            },
        )
        return await cur.fetchall()


async def camera_with_login(
    conn: psycopg.AsyncConnection[Any], camera_id: str
) -> dict[str, Any] | None:
    """A camera's registry row with its login (``username``, ``password``, and the
    ``ptz_origin`` it was given for; None when it has none): for its PTZ driver only, never
    for an answer."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(_CAMERA, (camera_id, list(CAMERA_KINDS)))
        return await cur.fetchone()


async def is_camera(conn: psycopg.AsyncConnection[Any], camera_id: str) -> bool:
    cur = await conn.execute(
        "SELECT 1 FROM devices WHERE id = %s AND kind = ANY(%s)", (camera_id, list(CAMERA_KINDS))
    )
    return await cur.fetchone() is not None


async def save_login(
    conn: psycopg.AsyncConnection[Any],
    *,
    camera_id: str,
    username: str,
    password: str,
    ptz_origin: str | None,
    by: str,
) -> dict[str, Any]:
    """Replaces the camera's login, for the PTZ address ``ptz_origin`` (scheme://host[:port]);
    the row as ``login_of`` shows it (no password)."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "INSERT INTO camera_credentials (device_id, username, password, ptz_origin,"
            " updated_by) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (device_id) DO UPDATE"
            " SET username = excluded.username, password = excluded.password,"
            " ptz_origin = excluded.ptz_origin,"
            " updated_by = excluded.updated_by, updated_at = now()"
            " RETURNING device_id, username, updated_at, updated_by",
            (camera_id, username, password, ptz_origin, by),
        )
        row = await cur.fetchone()
    assert row is not None
    return row


async def login_of(conn: psycopg.AsyncConnection[Any], camera_id: str) -> dict[str, Any] | None:
    """Who the camera's login is and when it was set: never its password."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(f"{_CREDENTIALS} WHERE device_id = %s", (camera_id,))
        return await cur.fetchone()


async def forget_login(conn: psycopg.AsyncConnection[Any], camera_id: str) -> bool:
    cur = await conn.execute("DELETE FROM camera_credentials WHERE device_id = %s", (camera_id,))
    return cur.rowcount > 0


async def lock_incident(conn: psycopg.AsyncConnection[Any], incident_id: int) -> str | None:
    """The incident's state, its row locked for the step about to be logged as every writer
    of incidents locks it (FOR NO KEY UPDATE, after no other row lock: the order of
    ``store.incidents`` holds); None for no such incident."""
    cur = await conn.execute(
        "SELECT state FROM incidents WHERE id = %s FOR NO KEY UPDATE", (incident_id,)
    )
    row = await cur.fetchone()
    return None if row is None else str(row[0])


async def log_step(
    conn: psycopg.AsyncConnection[Any],
    *,
    incident_id: int,
    state: str,
    actor: str,
    action: str,
    detail: dict[str, Any],
) -> tuple[int, datetime]:
    """One step of the incident's timeline that changes no state, announced to the live
    stream as its ``event: incident``; returns the log row's id and time. The incident is
    locked by the caller (``lock_incident``)."""
    change = IncidentChange(
        id=incident_id, action=action, from_state=state, to_state=state, detail=detail
    )
    async with conn.cursor() as cur:
        await cur.execute(LOG + " RETURNING id, at", change.log_params(actor))
        row = await cur.fetchone()
        await cur.execute(NOTIFY, change.notification())
    assert row is not None
    return int(row[0]), row[1]
