"""Operators send an incident to the grid: dispatch it to the zone's on-call worker, follow
who was reached and what they answered, revoke a dispatch, and record the 119 call a real
fire calls for. Admins choose per site whether a confirmed fire is dispatched by itself.
Every step is also in the incident's timeline and on the live stream (``event: incident``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Response, status

from api.auth import current_principal, require_role
from api.dispatch_schemas import (
    Call119Body,
    Call119Read,
    DispatchCreate,
    DispatchRead,
    DispatchSettingsRead,
    DispatchSettingsUpdate,
    IncidentDispatches,
)
from api.schemas import AUTH_ERRORS, Problem
from api.state import Conn, Tx
from api.state import State as App
from dispatch.dispatcher import DispatchConfig, dispatch_incident
from store import dispatches as rows
from store.audit import Actor
from store.deliveries import deliveries_of
from store.field import photo
from store.users import Principal

router = APIRouter(prefix="/api/v1", tags=["dispatch"])

Id = Annotated[int, Path(ge=1, le=2**63 - 1)]
Site = Annotated[str, Path(pattern=r"^[a-z0-9-]{1,32}$")]
Operator = Annotated[Principal, Depends(require_role("operator", "admin"))]
Admin = Annotated[Principal, Depends(require_role("admin"))]
Anyone = Annotated[Principal, Depends(current_principal)]
_NO_INCIDENT: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such incident"}
}
_NO_DISPATCH: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such dispatch"}
}


async def _dispatch_read(conn: Conn, incident_id: int, *, accept_s: float) -> list[dict[str, Any]]:
    found = await rows.dispatches_of(conn, incident_id)
    for d in found:
        waiting = d["state"] == "notifying" and d["exhausted_at"] is None and d["notified_at"]
        d["accept_due_at"] = d["notified_at"] + timedelta(seconds=accept_s) if waiting else None
        d["deliveries"] = await deliveries_of(conn, dispatch_id=d["id"])
        for p in d["photos"]:
            p["url"] = f"/api/v1/dispatches/{d['id']}/photos/{p['id']}"
    return found


async def _incident_exists(conn: Conn, incident_id: int) -> None:
    if await rows.incident_facts(conn, incident_id) is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")


@router.post(
    "/incidents/{incident_id}/dispatch",
    status_code=status.HTTP_201_CREATED,
    response_model=DispatchRead,
    responses={
        **AUTH_ERRORS,
        **_NO_INCIDENT,
        409: {
            "model": Problem,
            "description": "Resolved, dispatched already, in no zone, nobody on call, or "
            "no FIREWATCH_PUBLIC_URL a phone can open",
        },
    },
    summary="Send the incident to its zone's on-call grid worker (or a zone's, a person's)",
)
async def dispatch(
    incident_id: Id,
    conn: Tx,
    app: App,
    who: Operator,
    body: Annotated[DispatchCreate | None, Body()] = None,
) -> dict[str, Any]:
    settings = app.settings
    dispatch_id = await dispatch_incident(
        conn,
        incident_id,
        actor=who.name,
        now=datetime.now(UTC),
        config=await DispatchConfig.of(conn, settings),
        zone=body.zone if body else None,
        person_id=body.person_id if body else None,
    )
    found = await _dispatch_read(conn, incident_id, accept_s=settings.dispatch_accept_s)
    return next(d for d in found if d["id"] == dispatch_id)


@router.get(
    "/incidents/{incident_id}/dispatches",
    response_model=IncidentDispatches,
    responses={**AUTH_ERRORS, **_NO_INCIDENT},
    summary="The incident's dispatches with their notices, answers and deliveries, its 119 "
    "call and when each step of its handling happened",
)
async def incident_dispatches(
    incident_id: Id, conn: Conn, app: App, _who: Anyone
) -> dict[str, Any]:
    await _incident_exists(conn, incident_id)
    steps = await rows.milestones(conn, incident_id)
    detected = steps["detected"]
    steps["seconds"] = {
        name: (at - detected).total_seconds()
        for name, at in steps.items()
        if name != "detected" and at is not None
    }
    return {
        "incident_id": incident_id,
        "call_119": await rows.call_119_of(conn, incident_id),
        "milestones": steps,
        "items": await _dispatch_read(conn, incident_id, accept_s=app.settings.dispatch_accept_s),
    }


@router.post(
    "/dispatches/{dispatch_id}/revoke",
    response_model=DispatchRead,
    responses={
        **AUTH_ERRORS,
        **_NO_DISPATCH,
        409: {"model": Problem, "description": "Closed already (a verdict, or revoked)"},
    },
    summary="Withdraw a dispatch: its links stop working and nobody more is called",
)
async def revoke(dispatch_id: Id, conn: Tx, app: App, who: Operator) -> dict[str, Any]:
    found = await rows.dispatch_row(conn, dispatch_id, lock=True)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no dispatch {dispatch_id}")
    if found["closed_at"] is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"dispatch {dispatch_id} is closed already ({found['state']})",
        )
    await rows.revoke(conn, dispatch_id, by=who.name, now=datetime.now(UTC))
    await rows.log_steps(
        conn, found["incident_id"], [(who.name, "revoke", {"dispatch": dispatch_id})]
    )
    incident = found["incident_id"]
    items = await _dispatch_read(conn, incident, accept_s=app.settings.dispatch_accept_s)
    return next(d for d in items if d["id"] == dispatch_id)


@router.post(
    "/incidents/{incident_id}/call-119",
    response_model=Call119Read,
    responses={
        **AUTH_ERRORS,
        **_NO_INCIDENT,
        409: {"model": Problem, "description": "Recorded already, and not asked again since"},
    },
    summary="Record whether the fire brigade (119) was called: what a real-fire verdict asks",
)
async def call_119(incident_id: Id, conn: Tx, who: Operator, body: Call119Body) -> dict[str, Any]:
    found = await rows.lock_incident(conn, incident_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    if found["call_119_at"] is not None:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"the 119 call of incident {incident_id} is recorded already",
        )
    await rows.record_call_119(
        conn,
        incident_id,
        confirmed=body.confirmed,
        note=body.note,
        by=who.name,
        now=datetime.now(UTC),
    )
    detail = {"confirmed": body.confirmed, "note": body.note}
    await rows.log_steps(conn, incident_id, [(who.name, "call_119", detail)])
    return await rows.call_119_of(conn, incident_id)


@router.get(
    "/dispatches/{dispatch_id}/photos/{photo_id}",
    response_class=Response,
    responses={
        **AUTH_ERRORS,
        404: {"model": Problem, "description": "No such photo of this dispatch"},
        200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}},
    },
    summary="A photo sent from the field",
)
async def get_photo(dispatch_id: Id, photo_id: Id, conn: Conn, _who: Anyone) -> Response:
    found = await photo(conn, dispatch_id=dispatch_id, photo_id=photo_id)
    if found is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"no photo {photo_id} of dispatch {dispatch_id}"
        )
    content_type, data = found
    return Response(
        data,
        media_type=content_type,
        headers={"Cache-Control": "private, max-age=86400", "X-Content-Type-Options": "nosniff"},
    )


@router.get(
    "/sites/{site}/dispatch-settings",
    response_model=DispatchSettingsRead,
    responses=AUTH_ERRORS,
    summary="Whether the site's confirmed fires are dispatched by themselves",
)
async def get_settings(site: Site, conn: Conn, _who: Admin) -> dict[str, Any]:
    return await rows.dispatch_settings(conn, site)


@router.put(
    "/sites/{site}/dispatch-settings",
    response_model=DispatchSettingsRead,
    responses=AUTH_ERRORS,
    summary="Turn the automatic dispatch of confirmed fires on or off (audited)",
)
async def put_settings(
    site: Site, conn: Tx, who: Admin, body: DispatchSettingsUpdate
) -> dict[str, Any]:
    return await rows.put_dispatch_settings(
        conn, site=site, auto_dispatch_fire=body.auto_dispatch_fire, actor=Actor.of(who)
    )
