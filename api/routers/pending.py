"""Devices heard from but not registered: what they sent, and registering one in one call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, Problem
from api.state import Conn, Tx
from registry import service
from registry.schemas import DEVICE_ID, DeviceCreated, PendingPage, PendingRegister
from store.audit import Actor
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices/pending", tags=["devices"])

Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
PendingId = Annotated[str, Path(pattern=DEVICE_ID, examples=["SD-9001"])]


@router.get(
    "",
    response_model=PendingPage,
    responses=AUTH_ERRORS,
    summary="Unregistered ids that sent messages, most recently heard first",
    description="Summarised from the dead letters (reason unknown_device) as they are "
    "written: one row per id, however much it sends.",
)
async def get_pending_devices(
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    return await service.list_pending(conn, limit=limit, offset=offset)


@router.post(
    "/{device_id}/register",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    responses={**AUTH_ERRORS, 404: {"model": Problem}, 409: {"model": Problem}},
    summary="Register a pending device; it starts in commissioning unless told otherwise",
)
async def register_pending(
    device_id: PendingId, body: PendingRegister, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.register_pending(conn, device_id, body, actor=Actor.of(who))


@router.delete(
    "/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH_ERRORS, 404: {"model": Problem}},
    summary="Dismiss a pending id that is not ours; it reappears if it speaks again",
)
async def dismiss_pending(device_id: PendingId, conn: Tx, who: Writer) -> None:
    await service.dismiss_pending(conn, device_id, actor=Actor.of(who))
