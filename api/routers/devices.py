"""The device registry: register, list, change, decommission; lifecycle, replacement, audit."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status

from api.alert_schemas import AlertRead
from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from contract.kinds import KIND_SPECS, Kind
from registry.device_status import change_status
from registry.lifecycle import IllegalTransition
from registry.registration import check_places, checked_config, register
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
from store.audit import Actor, audit_of, record
from store.device_lifecycle import UnknownDevice
from store.devices import (
    SORTABLE,
    DeviceExists,
    DeviceFilter,
    get_device,
    list_devices,
    update_device,
)
from store.users import Principal

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])

Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
DeviceId = Annotated[str, Path(pattern=DEVICE_ID, examples=["SD-0001"])]
Name = Annotated[str | None, Query(max_length=64)]

_SORT = "^-?(" + "|".join(SORTABLE) + ")$"


def not_found(device_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND,
        f"no device {device_id!r}; GET /api/v1/devices?q=... finds one by part of its id",
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceCreated,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Register a device; its broker password is in the answer, only this once",
)
async def register_device(
    body: DeviceCreate,
    request: Request,
    who: Writer,
    initial: Annotated[
        InitialStatus, Query(alias="status", description="What the device starts as.")
    ] = InitialStatus.ACTIVE,
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            return await register(
                conn, body.model_dump(), status=initial.value, actor=Actor.of(who)
            )
        except DeviceExists:
            raise HTTPException(
                status.HTTP_409_CONFLICT,
                f"device {body.id!r} is already registered; PATCH it, or replace it",
            ) from None


@router.get(
    "",
    response_model=DevicePage,
    responses=AUTH_ERRORS,
    summary="Devices, filtered, sorted, by page",
)
async def get_devices(
    *,
    request: Request,
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
    async with request.app.state.pool.connection() as conn:
        items, total = await list_devices(conn, f, sort=sort, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/{device_id}", response_model=DeviceRead, responses=ONE_ERRORS, summary="One device")
async def get_one(device_id: DeviceId, request: Request, _who: Reader) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        device = await get_device(conn, device_id)
    if device is None:
        raise not_found(device_id)
    return device


@router.patch(
    "/{device_id}",
    response_model=DeviceRead,
    responses={**ONE_ERRORS, 409: {"model": Problem}},
    summary="Change a device's place, heartbeat or config",
)
async def patch_device(
    device_id: DeviceId, body: DeviceUpdate, request: Request, who: Writer
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    async with request.app.state.pool.connection() as conn, conn.transaction():
        current = await get_device(conn, device_id, lock=True)
        if current is None:
            raise not_found(device_id)
        if current["status"] == "decommissioned":
            raise HTTPException(
                status.HTTP_409_CONFLICT, "a decommissioned device is kept as it was"
            )
        kind = Kind(current["kind"])
        if "heartbeat_s" in changes and changes["heartbeat_s"] is None:
            changes["heartbeat_s"] = KIND_SPECS[kind].heartbeat_s
        if "config" in changes:
            changes["config"] = checked_config(kind, changes["config"] or {})
        await check_places(
            conn, building=changes.get("building"), config=changes.get("config") or {}
        )
        changed = {k: [current[k], v] for k, v in changes.items() if current[k] != v}
        device = await update_device(conn, device_id, {k: changes[k] for k in changed})
        if changed:
            await record(
                conn,
                Actor.of(who),
                subject_type="device",
                subject_id=device_id,
                action="update",
                detail=changed,
            )
    assert device is not None
    return device


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
    request: Request,
    who: Writer,
    reason: Annotated[str | None, Query(max_length=500)] = None,
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        current = await get_device(conn, device_id, lock=True)
        if current is None:
            raise not_found(device_id)
        if current["status"] != "decommissioned":
            await change_status(
                conn, device_id, "decommissioned", actor=Actor.of(who), reason=reason
            )
        device = await get_device(conn, device_id)
    assert device is not None
    return device


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
    device_id: DeviceId, body: StatusChange, request: Request, who: Writer
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            await change_status(
                conn,
                device_id,
                body.status.value,
                actor=Actor.of(who),
                reason=body.reason,
                until=body.until,
            )
        except UnknownDevice:
            raise not_found(device_id) from None
        except IllegalTransition as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        device = await get_device(conn, device_id)
    assert device is not None
    return device


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
    device_id: DeviceId, body: Replacement, request: Request, who: Writer
) -> dict[str, Any]:
    actor = Actor.of(who)
    async with request.app.state.pool.connection() as conn, conn.transaction():
        old = await get_device(conn, device_id, lock=True)
        if old is None:
            raise not_found(device_id)
        if old["status"] == "decommissioned":
            successor = f" (replaced by {old['replaced_by']})" if old["replaced_by"] else ""
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"{device_id!r} is decommissioned already{successor}"
            )
        kind = body.kind or Kind(old["kind"])
        same_kind = kind.value == old["kind"]
        config = body.config if body.config is not None else (old["config"] if same_kind else {})
        fields = {
            "id": body.new_id,
            "kind": kind,
            "site": old["site"],
            "name": body.name or old["name"],
            "building": old["building"],
            "floor": old["floor"],
            "room": old["room"],
            "lat": old["lat"],
            "lon": old["lon"],
            "zone": old["zone"],
            "heartbeat_s": body.heartbeat_s or (old["heartbeat_s"] if same_kind else None),
            "config": checked_config(kind, config),
            "replaces": device_id,
        }
        if body.config is not None:  # the place is inherited, a new camera's coverage is not
            await check_places(conn, building=None, config=fields["config"])
        try:
            new = await register(
                conn,
                fields,
                status=body.status.value,
                actor=actor,
                detail={"replaces": device_id},
                check_place=False,
            )
        except DeviceExists:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"device {body.new_id!r} is already registered"
            ) from None
        await change_status(
            conn,
            device_id,
            "decommissioned",
            actor=actor,
            reason=body.reason or f"replaced by {body.new_id}",
            replaced_by=body.new_id,
        )
        old = await get_device(conn, device_id)
    return {"old": old, "new": new}


@router.get(
    "/{device_id}/audit",
    response_model=list[AuditEntry],
    responses=ONE_ERRORS,
    summary="Who changed this device, newest first",
)
async def device_audit(
    device_id: DeviceId,
    request: Request,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    async with request.app.state.pool.connection() as conn:
        if await get_device(conn, device_id) is None:
            raise not_found(device_id)
        return await audit_of(conn, subject_type="device", subject_id=device_id, limit=limit)


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
    request: Request,
    _who: Reader,
    open_only: Annotated[bool, Query(alias="open")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    async with request.app.state.pool.connection() as conn:
        if await get_device(conn, device_id) is None:
            raise not_found(device_id)
        return await list_alerts(
            conn, AlertFilter(device=device_id, open_only=open_only, limit=limit)
        )
