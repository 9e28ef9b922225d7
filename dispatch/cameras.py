"""Cameras for an incident: the list the operator opens, moving one to its preset, the video
check recorded as a step, and cameras' logins. Refuses with ``registry.errors`` (404, 409);
a camera that cannot be moved raises ``dispatch.ptz.CameraError``.

A move reads what it needs on one pooled connection, gives it back, talks to the camera, and
logs the step on another: an unanswering camera holds no connection and no lock meanwhile.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg_pool import AsyncConnectionPool

from dispatch.ptz import PtzTarget, goto_preset
from dispatch.video import REACH_M, CameraLink, Place, VideoCheck, link, preset_for, stream_type
from registry.errors import Conflict, Invalid, NotFound
from store import cameras as rows
from store.audit import Actor, record

PASSWORD_MAX = 128


def _no_incident(incident_id: int) -> NotFound:
    return NotFound(f"no incident {incident_id}")


def _no_camera(camera_id: str) -> NotFound:
    return NotFound(
        f"no camera {camera_id!r}; GET /api/v1/devices?kind=video_camera lists the cameras"
    )


async def incident_cameras(
    conn: psycopg.AsyncConnection[Any], incident_id: int, *, limit: int
) -> list[dict[str, Any]]:
    """The cameras that can show the incident, in ``dispatch.video.link``'s order."""
    target = await rows.incident_target(conn, incident_id)
    if target is None:
        raise _no_incident(incident_id)
    place = Place(
        building=target["building"], lat=target["lat"], lon=target["lon"], origin=target["origin"]
    )
    found = await rows.candidate_cameras(
        conn,
        site=target["site"],
        building=place.building,
        origin=place.origin,
        lat=place.lat,
        lon=place.lon,
        reach_m=REACH_M,
    )
    return [_view(each) for each in link(place, found, limit=limit)]


def _view(found: CameraLink) -> dict[str, Any]:
    camera = found.camera
    address = found.stream()
    return {
        "camera_id": camera["id"],
        "kind": camera["kind"],
        "name": camera["name"],
        "building": camera["building"],
        "lat": camera["lat"],
        "lon": camera["lon"],
        "status": camera["status"],
        "why": found.why.value,
        "distance_m": None if found.distance_m is None else round(found.distance_m, 1),
        "preset": found.preset,
        "stream": None if address is None else {"url": address, "type": stream_type(address)},
        "can_move": found.can_move,
        "presets": camera["config"].get("presets") or [],
    }


async def move_camera(
    pool: AsyncConnectionPool[Any],
    *,
    incident_id: int,
    camera_id: str,
    number: int | None,
    actor: str,
    timeout_s: float,
) -> dict[str, Any]:
    """Moves the camera to ``number``, or else to its preset on the incident's building, and
    logs ``camera_goto`` on the incident. NotFound, Conflict (resolved incident, a camera that
    cannot move or has no such preset or login), or CameraError from the camera."""
    async with pool.connection() as conn:
        target = await rows.incident_target(conn, incident_id)
        camera = await rows.camera_with_login(conn, camera_id)
    if target is None:
        raise _no_incident(incident_id)
    if camera is None:
        raise _no_camera(camera_id)
    if target["state"] == "resolved":
        raise Conflict(f"incident {incident_id} is resolved")
    if camera["status"] == "decommissioned":
        raise Conflict(f"camera {camera_id} is decommissioned")
    preset = _chosen(camera, number, building=target["building"])
    ptz = camera["config"]["ptz"]
    if camera["username"] is None:
        raise Conflict(
            f"camera {camera_id} has no login for its PTZ control; set one with "
            f"PUT /api/v1/cameras/{camera_id}/credentials"
        )
    if ptz_origin(ptz.get("url")) != camera["ptz_origin"]:
        raise Conflict(
            f"camera {camera_id}'s PTZ address moved to another host since its login was "
            f"given; set its login again with PUT /api/v1/cameras/{camera_id}/credentials"
        )
    await goto_preset(
        PtzTarget(
            camera_id=camera_id,
            driver=ptz.get("driver", "isapi"),
            url=ptz["url"],
            channel=int(ptz.get("channel", 1)),
            username=camera["username"],
            password=camera["password"],
        ),
        preset["number"],
        timeout_s=timeout_s,
    )
    detail = {"camera": camera_id, "preset": preset["number"], "name": preset["name"]}
    log_id, at = await _log(
        pool, incident_id=incident_id, actor=actor, action="camera_goto", detail=detail
    )
    return {
        "incident_id": incident_id,
        "camera_id": camera_id,
        "preset": preset,
        "log_id": log_id,
        "at": at,
    }


def _chosen(camera: dict[str, Any], number: int | None, *, building: str | None) -> Any:
    """The preset to move to; Conflict saying why there is none."""
    config, name = camera["config"], camera["id"]
    presets = config.get("presets") or []
    if not config.get("ptz"):
        raise Conflict(f"camera {name} cannot be moved: it has no PTZ control (config.ptz)")
    if not presets:
        raise Conflict(f"camera {name} has no presets (config.presets)")
    known = ", ".join(f"{p['number']} ({p['name']})" for p in presets)
    if number is not None:
        chosen = next((p for p in presets if p["number"] == number), None)
        if chosen is None:
            raise Conflict(f"camera {name} has no preset {number}; its presets: {known}")
        return chosen
    shows = preset_for(config, building) if building else None
    if shows is None:
        raise Conflict(
            f"camera {name} has no preset on {building or 'this incident'}; "
            f"give one of its presets: {known}"
        )
    return shows


async def record_video_check(
    conn: psycopg.AsyncConnection[Any],
    *,
    incident_id: int,
    camera_id: str,
    result: VideoCheck,
    note: str | None,
    actor: str,
) -> dict[str, Any]:
    """The operator's look through a camera as the incident's ``video_check`` step, in the
    caller's transaction. NotFound; Conflict for a resolved incident."""
    state = await rows.lock_incident(conn, incident_id)
    if state is None:
        raise _no_incident(incident_id)
    if not await rows.is_camera(conn, camera_id):
        raise _no_camera(camera_id)
    if state == "resolved":
        raise Conflict(f"incident {incident_id} is resolved; its video check comes too late")
    detail: dict[str, Any] = {"camera": camera_id, "result": result.value}
    if note:
        detail["note"] = note
    log_id, at = await rows.log_step(
        conn, incident_id=incident_id, state=state, actor=actor, action="video_check", detail=detail
    )
    return {
        "id": log_id,
        "incident_id": incident_id,
        "at": at,
        "actor": actor,
        "camera_id": camera_id,
        "result": result.value,
        "note": note,
    }


async def _log(
    pool: AsyncConnectionPool[Any],
    *,
    incident_id: int,
    actor: str,
    action: str,
    detail: dict[str, Any],
) -> tuple[int, datetime]:
    async with pool.connection() as conn, conn.transaction():
        state = await rows.lock_incident(conn, incident_id)
        assert state is not None  # incidents are never deleted
        return await rows.log_step(
            conn, incident_id=incident_id, state=state, actor=actor, action=action, detail=detail
        )


# Logins.


def ptz_origin(url: Any) -> str | None:
    """``scheme://host[:port]`` of a PTZ address, lowercase and without user info: a login
    given for one answers no other (migration 0016 computes the same)."""
    if not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if not parts.scheme or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}".lower()


async def set_login(
    conn: psycopg.AsyncConnection[Any],
    camera_id: str,
    *,
    username: str,
    password: str,
    actor: Actor,
) -> dict[str, Any]:
    """Replaces the camera's login, audited without the password, for the PTZ address the
    camera has now. Invalid (never echoing the password) for one that cannot be a camera's."""
    camera = await rows.camera_with_login(conn, camera_id)
    if camera is None:
        raise _no_camera(camera_id)
    if not 1 <= len(password) <= PASSWORD_MAX or not password.isprintable():
        raise Invalid(
            ("password",),
            f"must be 1..{PASSWORD_MAX} printable characters (not shown here)",
            None,
        )
    saved = await rows.save_login(
        conn,
        camera_id=camera_id,
        username=username,
        password=password,
        ptz_origin=ptz_origin((camera["config"].get("ptz") or {}).get("url")),
        by=actor.name,
    )
    await record(
        conn,
        actor,
        subject_type="device",
        subject_id=camera_id,
        action="set_camera_login",
        detail={"username": username},
    )
    return saved


async def get_login(conn: psycopg.AsyncConnection[Any], camera_id: str) -> dict[str, Any]:
    if not await rows.is_camera(conn, camera_id):
        raise _no_camera(camera_id)
    found = await rows.login_of(conn, camera_id)
    if found is None:
        raise NotFound(f"camera {camera_id} has no login; PUT one")
    return found


async def delete_login(conn: psycopg.AsyncConnection[Any], camera_id: str, *, actor: Actor) -> None:
    if not await rows.is_camera(conn, camera_id):
        raise _no_camera(camera_id)
    if not await rows.forget_login(conn, camera_id):
        raise NotFound(f"camera {camera_id} has no login")
    await record(
        conn, actor, subject_type="device", subject_id=camera_id, action="forget_camera_login"
    )
