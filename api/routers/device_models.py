"""Device models for mapped MQTT: how a device that publishes its own JSON on its own topic
becomes contract messages (docs/gateways.md, "Mapped MQTT")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response, status

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem
from api.state import Conn, Tx
from registry import device_models as service
from registry.device_models import (
    MODEL_NAME,
    DeviceModelCreate,
    DeviceModelPage,
    DeviceModelRead,
    DeviceModelUpdate,
)
from registry.schemas import AuditEntry
from store.audit import Actor
from store.users import Principal

router = APIRouter(prefix="/api/v1/device-models", tags=["device models"])

Reader = Annotated[Principal, Depends(current_principal)]
Writer = Annotated[Principal, Depends(require_role("admin", "technician"))]
ModelName = Annotated[str, Path(pattern=MODEL_NAME, examples=["zigbee2mqtt-smoke"])]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DeviceModelRead,
    responses={**AUTH_ERRORS, 409: {"model": Problem}},
    summary="Add a device model: its topic, time, metric and event mappings",
    description="Ingest's mapped MQTT session subscribes to the model's topic within "
    "FIREWATCH_MAPPED_MQTT_REFRESH_S; a device uses it through config.mqtt = "
    '{"model": <name>, "topic": <what {device} stands for>}.',
)
async def add_model(body: DeviceModelCreate, conn: Tx, who: Writer) -> dict[str, Any]:
    return await service.create_model(conn, body, actor=Actor.of(who))


@router.get(
    "", response_model=DeviceModelPage, responses=AUTH_ERRORS, summary="Device models by name"
)
async def get_models(
    conn: Conn,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    return await service.list_models(conn, limit=limit, offset=offset)


@router.get(
    "/{name}", response_model=DeviceModelRead, responses=ONE_ERRORS, summary="One device model"
)
async def get_one_model(name: ModelName, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_model(conn, name)


@router.patch(
    "/{name}",
    response_model=DeviceModelRead,
    responses={
        **ONE_ERRORS,
        409: {"model": Problem, "description": "Its devices are of the old kind"},
    },
    summary="Change a device model; only the fields sent change",
)
async def patch_model(
    name: ModelName, body: DeviceModelUpdate, conn: Tx, who: Writer
) -> dict[str, Any]:
    return await service.update_model(conn, name, body, actor=Actor.of(who))


@router.delete(
    "/{name}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ONE_ERRORS, 409: {"model": Problem, "description": "Devices still name it"}},
    summary="Remove a device model no device names",
)
async def remove_model(name: ModelName, conn: Tx, who: Writer) -> Response:
    await service.delete_model(conn, name, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/{name}/audit",
    response_model=list[AuditEntry],
    responses=AUTH_ERRORS,
    summary="Who changed this model, newest first (kept after it is removed)",
)
async def model_audit(
    name: ModelName,
    conn: Conn,
    _who: Reader,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    return await service.model_audit(conn, name, limit=limit)
