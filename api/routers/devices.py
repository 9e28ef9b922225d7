"""Registering devices (the full registry is its own issue)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request, status

from alerts.kinds import KIND_SPECS
from api.auth import require_role
from api.schemas import DeviceCreate, DeviceRead, Problem
from store.devices import DeviceExists, create_device
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceRead,
    responses={409: {"model": Problem}, 401: {"model": Problem}, 403: {"model": Problem}},
    summary="Register a device",
)
async def register_device(
    body: DeviceCreate,
    request: Request,
    _who: Annotated[Principal, Depends(require_role("admin", "technician"))],
) -> dict[str, Any]:
    fields = body.model_dump(exclude_none=True)
    fields.setdefault("heartbeat_s", KIND_SPECS[body.kind].heartbeat_s)
    fields["kind"] = body.kind.value
    async with request.app.state.pool.connection() as conn:
        try:
            return await create_device(conn, fields)
        except DeviceExists:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"device {body.id!r} is already registered"
            ) from None
