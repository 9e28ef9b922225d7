"""Devices heard from but not registered: what they sent, and registering one in one call."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, Problem
from registry.registration import register
from registry.schemas import DEVICE_ID, DeviceCreated, PendingPage, PendingRegister
from store.audit import Actor, record
from store.devices import DeviceExists
from store.pending import forget_pending, get_pending, list_pending
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices/pending", tags=["devices"])

Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
PendingId = Annotated[str, Path(pattern=DEVICE_ID, examples=["SD-9001"])]
_PAYLOAD_SHOWN = 1024


def _view(row: dict[str, Any]) -> dict[str, Any]:
    parts = row["last_topic"].split("/")
    payload = bytes(row["last_payload"][:_PAYLOAD_SHOWN])
    return {
        **row,
        "site": parts[2] if len(parts) > 2 else None,
        "last_payload": payload.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
    }


def _not_pending(device_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"no unregistered messages from {device_id!r}; register a device that has not spoken "
        "yet with POST /api/v1/devices",
    )


@router.get(
    "",
    response_model=PendingPage,
    responses=AUTH_ERRORS,
    summary="Unregistered ids that sent messages, most recently heard first",
    description="Summarised from the dead letters (reason unknown_device) as they are "
    "written: one row per id, however much it sends.",
)
async def get_pending_devices(
    request: Request,
    _who: Annotated[Principal, Depends(current_principal)],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        rows, total = await list_pending(conn, limit=limit, offset=offset)
    return {"items": [_view(r) for r in rows], "total": total, "limit": limit, "offset": offset}


@router.post(
    "/{device_id}/register",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    responses={**AUTH_ERRORS, 404: {"model": Problem}, 409: {"model": Problem}},
    summary="Register a pending device; it starts in commissioning unless told otherwise",
)
async def register_pending(
    device_id: PendingId, body: PendingRegister, request: Request, who: Writer
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        pending = await get_pending(conn, device_id)
        if pending is None:
            raise _not_pending(device_id)
        fields = body.model_dump(exclude={"status"})
        fields["id"] = device_id
        # Ingest parsed the id out of fw/v1/{site}/{id}/..., so the topic names a site.
        fields["site"] = body.site or _view(pending)["site"]
        try:
            return await register(
                conn,
                fields,
                status=body.status.value,
                actor=Actor.of(who),
                detail={"from_pending": pending["count"]},
            )
        except DeviceExists:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"device {device_id!r} is already registered"
            ) from None


@router.delete(
    "/{device_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**AUTH_ERRORS, 404: {"model": Problem}},
    summary="Dismiss a pending id that is not ours; it reappears if it speaks again",
)
async def dismiss_pending(device_id: PendingId, request: Request, who: Writer) -> None:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        if not await forget_pending(conn, device_id):
            raise _not_pending(device_id)
        await record(
            conn,
            Actor.of(who),
            subject_type="device",
            subject_id=device_id,
            action="dismiss_pending",
        )
