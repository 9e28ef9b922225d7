"""Video linkage for operators: the cameras that can show an incident, moving one to the
preset on its building, and the video check recorded as a step of the incident's timeline
(``event: incident`` on the live stream)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Path, Query, status

from api.auth import current_principal, require_role
from api.camera_schemas import GotoBody, GotoRead, IncidentCamera, VideoCheckBody, VideoCheckRead
from api.schemas import AUTH_ERRORS, Problem
from api.state import Conn, Tx
from api.state import State as App
from dispatch.cameras import incident_cameras, move_camera, record_video_check
from dispatch.ptz import CameraError, CameraTimeout
from store.users import Principal

router = APIRouter(prefix="/api/v1/incidents", tags=["video"])

IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
CameraId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Operator = Annotated[Principal, Depends(require_role("operator", "admin"))]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "No such incident or camera"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": Problem, "description": "The incident is resolved"}
}


@router.get(
    "/{incident_id}/cameras",
    response_model=list[IncidentCamera],
    responses={**AUTH_ERRORS, 404: {"model": Problem, "description": "No such incident"}},
    summary="The cameras that can show the incident, each with the address to open",
    description="First the camera whose target the incident is (if it has no building), "
    "then cameras with a preset on its building, nearest first, then the nearest cameras "
    "within their range. Never a camera's login.",
)
async def get_incident_cameras(
    incident_id: IncidentId,
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[dict[str, Any]]:
    return await incident_cameras(conn, incident_id, limit=limit)


@router.post(
    "/{incident_id}/cameras/{camera_id}/goto",
    response_model=GotoRead,
    responses={
        **AUTH_ERRORS,
        **_NOT_FOUND,
        409: {
            "model": Problem,
            "description": "The incident is resolved, or the camera is decommissioned or has "
            "no PTZ control, no such preset (none on the building) or no login",
        },
        502: {"model": Problem, "description": "The camera refused, or could not be reached"},
        504: {"model": Problem, "description": "The camera did not answer in time"},
    },
    summary="Move a PTZ camera to a preset (default: its preset on the incident's building)",
)
async def goto(
    incident_id: IncidentId,
    camera_id: CameraId,
    app: App,
    who: Operator,
    body: Annotated[GotoBody | None, Body()] = None,
) -> dict[str, Any]:
    # No pooled connection is held while the camera is awaited (dispatch.cameras).
    try:
        return await move_camera(
            app.open_pool,
            incident_id=incident_id,
            camera_id=camera_id,
            number=body.preset if body else None,
            actor=who.name,
            timeout_s=app.settings.camera_timeout_s,
        )
    except CameraTimeout as exc:
        raise HTTPException(status.HTTP_504_GATEWAY_TIMEOUT, str(exc)) from None
    except CameraError as exc:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(exc)) from None


@router.post(
    "/{incident_id}/video-check",
    response_model=VideoCheckRead,
    status_code=status.HTTP_201_CREATED,
    responses={**AUTH_ERRORS, **_NOT_FOUND, **_CONFLICT},
    summary="Record what a camera showed: fire, smoke, nothing, or a blocked view",
)
async def video_check(
    incident_id: IncidentId, conn: Tx, who: Operator, body: VideoCheckBody
) -> dict[str, Any]:
    return await record_video_check(
        conn,
        incident_id=incident_id,
        camera_id=body.camera_id,
        result=body.result,
        note=body.note,
        actor=who.name,
    )
