"""A camera's login to its own HTTP API, for moving it to a preset: set and removed by
technicians, shown as who and when, never read back. Kept out of the device's config, so a
registry export or an audit entry never carries it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Response, status

from api.auth import require_role
from api.camera_schemas import CameraLoginRead, CameraLoginWrite
from api.schemas import ONE_ERRORS
from api.state import Tx
from dispatch.cameras import delete_login, get_login, set_login
from store.audit import Actor
from store.users import Principal

router = APIRouter(prefix="/api/v1/cameras", tags=["video"])

CameraId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{1,64}$")]
Technician = Annotated[Principal, Depends(require_role("technician", "admin"))]


@router.put(
    "/{camera_id}/credentials",
    response_model=CameraLoginRead,
    responses=ONE_ERRORS,
    summary="Set the camera's login (digest, for its PTZ control); the password is kept, "
    "never shown",
)
async def put_credentials(
    camera_id: CameraId, body: CameraLoginWrite, conn: Tx, who: Technician
) -> dict[str, Any]:
    return await set_login(
        conn, camera_id, username=body.username, password=body.password, actor=Actor.of(who)
    )


@router.get(
    "/{camera_id}/credentials",
    response_model=CameraLoginRead,
    responses=ONE_ERRORS,
    summary="Who the camera logs in as, and when it was set: never the password",
)
async def read_credentials(camera_id: CameraId, conn: Tx, _who: Technician) -> dict[str, Any]:
    return await get_login(conn, camera_id)


@router.delete(
    "/{camera_id}/credentials",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ONE_ERRORS,
    summary="Forget the camera's login",
)
async def forget_credentials(camera_id: CameraId, conn: Tx, who: Technician) -> Response:
    await delete_login(conn, camera_id, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
