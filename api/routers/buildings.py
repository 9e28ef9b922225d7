"""Buildings and the safety-grid zones they belong to, with each zone's responsible contact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from registry.schemas import (
    PLACE_ID,
    BuildingCreate,
    BuildingPage,
    BuildingRead,
    BuildingUpdate,
    ZoneRead,
    ZoneWrite,
)
from store.audit import Actor, record
from store.buildings import (
    BuildingExists,
    InUse,
    create_building,
    delete_building,
    delete_zone,
    get_building,
    get_zone,
    list_buildings,
    list_zones,
    put_zone,
    update_building,
)
from store.users import Principal

router = APIRouter(tags=["buildings"])

Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
BuildingId = Annotated[str, Path(pattern=PLACE_ID, examples=["B-012"])]
ZoneId = Annotated[str, Path(pattern=PLACE_ID, examples=["G-03"])]


def _no_building(building_id: str) -> HTTPException:
    return HTTPException(
        status.HTTP_404_NOT_FOUND, f"no building {building_id!r}; GET /api/v1/buildings lists them"
    )


@router.post(
    "/api/v1/buildings",
    status_code=status.HTTP_201_CREATED,
    response_model=BuildingRead,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Add a building",
)
async def add_building(body: BuildingCreate, request: Request, who: Writer) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            building = await create_building(conn, body.model_dump())
        except BuildingExists:
            raise HTTPException(
                status.HTTP_409_CONFLICT, f"building {body.id!r} exists; PATCH it instead"
            ) from None
        await record(
            conn, Actor.of(who), subject_type="building", subject_id=body.id, action="create"
        )
    return building


@router.get(
    "/api/v1/buildings",
    response_model=BuildingPage,
    responses=AUTH_ERRORS,
    summary="Buildings by id",
)
async def get_buildings(
    request: Request,
    _who: Reader,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        items, total = await list_buildings(conn, zone=zone, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/api/v1/buildings/{building_id}",
    response_model=BuildingRead,
    responses=ONE_ERRORS,
    summary="One building",
)
async def get_one_building(
    building_id: BuildingId, request: Request, _who: Reader
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        building = await get_building(conn, building_id)
    if building is None:
        raise _no_building(building_id)
    return building


@router.patch(
    "/api/v1/buildings/{building_id}",
    response_model=BuildingRead,
    responses=ONE_ERRORS,
    summary="Change a building; only the fields sent change",
)
async def patch_building(
    building_id: BuildingId, body: BuildingUpdate, request: Request, who: Writer
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    if changes.get("rented", False) is None:
        changes["rented"] = False
    async with request.app.state.pool.connection() as conn, conn.transaction():
        building = await update_building(conn, building_id, changes)
        if building is None:
            raise _no_building(building_id)
        await record(
            conn,
            Actor.of(who),
            subject_type="building",
            subject_id=building_id,
            action="update",
            detail=body.model_dump(mode="json", exclude_unset=True),
        )
    return building


@router.delete(
    "/api/v1/buildings/{building_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **ONE_ERRORS,
        409: {"model": Problem, "description": "Devices are in it or watch it"},
    },
    summary="Remove a building no device is in or watches",
)
async def remove_building(building_id: BuildingId, request: Request, who: Writer) -> Response:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        try:
            removed = await delete_building(conn, building_id)
        except InUse as exc:
            raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
        if not removed:
            raise _no_building(building_id)
        await record(
            conn, Actor.of(who), subject_type="building", subject_id=building_id, action="delete"
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/zones",
    response_model=list[ZoneRead],
    responses=AUTH_ERRORS,
    summary="The street's safety-grid zones and their responsible contacts",
)
async def get_zones(request: Request, _who: Reader) -> list[dict[str, Any]]:
    async with request.app.state.pool.connection() as conn:
        return await list_zones(conn)


@router.get(
    "/api/v1/zones/{zone_id}", response_model=ZoneRead, responses=ONE_ERRORS, summary="One zone"
)
async def get_one_zone(zone_id: ZoneId, request: Request, _who: Reader) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn:
        zone = await get_zone(conn, zone_id)
    if zone is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND,
            f"no zone {zone_id!r}; PUT /api/v1/zones/{zone_id} creates it",
        )
    return zone


@router.put(
    "/api/v1/zones/{zone_id}",
    response_model=ZoneRead,
    responses={**AUTH_ERRORS, 201: {"model": ZoneRead, "description": "Created"}},
    summary="Create or replace a zone and its contact",
)
async def put_one_zone(
    zone_id: ZoneId, body: ZoneWrite, request: Request, response: Response, who: Writer
) -> dict[str, Any]:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        zone, created = await put_zone(conn, zone_id, body.model_dump())
        await record(
            conn,
            Actor.of(who),
            subject_type="zone",
            subject_id=zone_id,
            action="create" if created else "update",
            detail=body.model_dump(mode="json"),
        )
    if created:
        response.status_code = status.HTTP_201_CREATED
    return zone


@router.delete(
    "/api/v1/zones/{zone_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ONE_ERRORS,
    summary="Remove a zone's record; buildings keep its id",
)
async def remove_zone(zone_id: ZoneId, request: Request, who: Writer) -> Response:
    async with request.app.state.pool.connection() as conn, conn.transaction():
        if not await delete_zone(conn, zone_id):
            raise HTTPException(status.HTTP_404_NOT_FOUND, f"no zone {zone_id!r}")
        await record(conn, Actor.of(who), subject_type="zone", subject_id=zone_id, action="delete")
    return Response(status_code=status.HTTP_204_NO_CONTENT)
