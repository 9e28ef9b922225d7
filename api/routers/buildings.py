"""Buildings and the safety-grid zones they belong to, with each zone's responsible contact."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from api.state import Conn, Tx
from registry import service
from registry.schemas import (
    PLACE_ID,
    BuildingCreate,
    BuildingPage,
    BuildingRead,
    BuildingUpdate,
    ZoneRead,
    ZoneWrite,
)
from store.audit import Actor
from store.users import Principal

router = APIRouter(tags=["buildings"])

Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
BuildingId = Annotated[str, Path(pattern=PLACE_ID, examples=["B-012"])]
ZoneId = Annotated[str, Path(pattern=PLACE_ID, examples=["G-03"])]


@router.post(
    "/api/v1/buildings",
    status_code=status.HTTP_201_CREATED,
    response_model=BuildingRead,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Add a building",
)
async def add_building(body: BuildingCreate, conn: Tx, who: Writer) -> dict[str, Any]:
    return await service.create_building(conn, body, actor=Actor.of(who))


@router.get(
    "/api/v1/buildings",
    response_model=BuildingPage,
    responses=AUTH_ERRORS,
    summary="Buildings by id",
)
async def get_buildings(
    conn: Conn,
    _who: Reader,
    zone: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    return await service.list_buildings(conn, zone=zone, limit=limit, offset=offset)


@router.get(
    "/api/v1/buildings/{building_id}",
    response_model=BuildingRead,
    responses=ONE_ERRORS,
    summary="One building",
)
async def get_one_building(building_id: BuildingId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_building(conn, building_id)


@router.patch(
    "/api/v1/buildings/{building_id}",
    response_model=BuildingRead,
    responses=ONE_ERRORS,
    summary="Change a building; only the fields sent change",
)
async def patch_building(
    building_id: BuildingId, body: BuildingUpdate, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.update_building(conn, building_id, body, actor=Actor.of(who))


@router.delete(
    "/api/v1/buildings/{building_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        **ONE_ERRORS,
        409: {"model": Problem, "description": "Devices are in it or watch it"},
    },
    summary="Remove a building no device is in or watches",
)
async def remove_building(building_id: BuildingId, conn: Tx, who: Writer) -> Response:
    await service.delete_building(conn, building_id, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/zones",
    response_model=list[ZoneRead],
    responses=AUTH_ERRORS,
    summary="The street's safety-grid zones and their responsible contacts",
)
async def get_zones(conn: Conn, _who: Reader) -> list[dict[str, Any]]:
    return await service.list_zones(conn)


@router.get(
    "/api/v1/zones/{zone_id}", response_model=ZoneRead, responses=ONE_ERRORS, summary="One zone"
)
async def get_one_zone(zone_id: ZoneId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_zone(conn, zone_id)


@router.put(
    "/api/v1/zones/{zone_id}",
    response_model=ZoneRead,
    responses={**AUTH_ERRORS, 201: {"model": ZoneRead, "description": "Created"}},
    summary="Create or replace a zone and its contact",
)
async def put_one_zone(
    zone_id: ZoneId, body: ZoneWrite, conn: Tx, response: Response, who: Writer
) -> dict[str, Any]:
    zone, created = await service.put_zone(conn, zone_id, body, actor=Actor.of(who))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return zone


@router.delete(
    "/api/v1/zones/{zone_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=ONE_ERRORS,
    summary="Remove a zone's record; buildings keep its id",
)
async def remove_zone(zone_id: ZoneId, conn: Tx, who: Writer) -> Response:
    await service.delete_zone(conn, zone_id, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
