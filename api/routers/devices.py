"""The device registry: register, list, change, decommission; lifecycle, replacement, audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, status

from api.alert_schemas import AlertRead
from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from api.state import Conn, Tx
from contract.kinds import Kind
from registry import service
from registry.schemas import (
    DEVICE_ID,
    AuditEntry,
    DeviceCreate,
    DeviceCreated,
    DevicePage,
    DeviceRead,
    DeviceStatus,
    DeviceUpdate,
    InitialStatus,
    Replaced,
    Replacement,
    StatusChange,
)
from store.alert_queries import AlertFilter, list_alerts
from store.audit import Actor
from store.devices import SORTABLE, DeviceFilter
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID, examples=["SD-0001"])]
Name = Annotated[str | None, Query(max_length=64)]

_SORT = "^-?(" + "|".join(SORTABLE) + ")$"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Register a device; its broker password is in the answer, only this once",
)
async def register_device(
    body: DeviceCreate,
    conn: Tx,
    who: Writer,
    initial: Annotated[
        InitialStatus, Query(alias="status", description="What the device starts as.")
    ] = InitialStatus.ACTIVE,
) -> dict[str, Any]:
    return await service.register_device(conn, body, status=initial.value, actor=Actor.of(who))


@router.get(
    "",
    response_model=DevicePage,
    responses=AUTH_ERRORS,
    summary="Devices, filtered, sorted, by page",
)
async def get_devices(
    *,
    conn: Conn,
    _who: Reader,
    kind: Kind | None = None,
    device_status: Annotated[DeviceStatus | None, Query(alias="status")] = None,
    site: Name = None,
    building: Name = None,
    zone: Name = None,
    online: bool | None = None,
    q: Annotated[
        str | None,
        Query(max_length=100, description="Part of the id, name, room or building"),
    ] = None,
    sort: Annotated[
        str, Query(pattern=_SORT, description=f"One of {', '.join(SORTABLE)}; '-' descends")
    ] = "id",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    f = DeviceFilter(
        kind=kind.value if kind else None,
        status=device_status.value if device_status else None,
        site=site,
        building=building,
        zone=zone,
        online=online,
        text=q,
    )
    return await service.list_devices(conn, f, sort=sort, limit=limit, offset=offset)


@router.get("/{device_id}", response_model=DeviceRead, responses=ONE_ERRORS, summary="One device")
async def get_one(device_id: DeviceId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_device(conn, device_id)


@router.patch(
    "/{device_id}",
    response_model=DeviceRead,
    responses={**ONE_ERRORS, 409: {"model": Problem}},
    summary="Change a device's place, heartbeat or config",
)
async def patch_device(
    device_id: DeviceId, body: DeviceUpdate, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.update_device(conn, device_id, body, actor=Actor.of(who))


@router.delete(
    "/{device_id}",
    response_model=DeviceRead,
    responses=ONE_ERRORS,
    summary="Decommission a device: its history is kept, its messages are refused",
    description="Idempotent: a device already decommissioned is returned as it is. Nothing "
    "is ever erased, so alerts, readings and the audit log keep their device.",
)
async def decommission_device(
    device_id: DeviceId,
    conn: Tx,
    who: Writer,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    return await service.decommission(conn, device_id, actor=Actor.of(who), reason=reason)


@router.post(
    "/{device_id}/status",
    response_model=DeviceRead,
    responses={**ONE_ERRORS, 409: {"model": Problem, "description": "Not a lifecycle step"}},
    summary="Move a device through its lifecycle",
    description="registered → commissioning → active ⇄ maintenance (with until and reason; "
    "back to active by itself when until passes); active → commissioning to test again; "
    "any → decommissioned, which is final.",
)
async def set_status(
    device_id: DeviceId, body: StatusChange, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.set_status(conn, device_id, body, actor=Actor.of(who))


@router.post(
    "/{device_id}/replace",
    status_code=status.HTTP_201_CREATED,
    response_model=Replaced,
    responses={**ONE_ERRORS, 409: {"model": Problem}},
    summary="Replace a device by a new id at the same place",
    description="The new device takes the old one's location (and its kind, config and "
    "heartbeat unless given; a camera's covers given must be registered buildings); the old "
    "one is decommissioned. replaces / replaced_by link "
    "them, so the place's history stays reachable from either.",
)
async def replace_device(
    device_id: DeviceId, body: Replacement, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.replace(conn, device_id, body, actor=Actor.of(who))


@router.get(
    "/{device_id}/audit",
    response_model=list[AuditEntry],
    responses=ONE_ERRORS,
    summary="Who changed this device, newest first",
)
async def device_audit(
    device_id: DeviceId,
    conn: Conn,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return await service.device_audit(conn, device_id, limit=limit)


@router.get(
    "/{device_id}/alerts",
    response_model=list[AlertRead],
    responses=ONE_ERRORS,
    summary="The technician's view: this device's alerts, suppressed ones included",
    description="Alerts of a device in commissioning or maintenance are recorded as "
    "suppressed and never dispatched to operators; a technician walk-testing it sees them "
    "here.",
)
async def device_alerts(
    device_id: DeviceId,
    conn: Conn,
    _who: Reader,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    await service.get_device(conn, device_id)
    return await list_alerts(conn, AlertFilter(device=device_id, open_only=open_only, limit=limit))
