"""Importing and exporting the registry in bulk (CSV or JSON), and the per-kind config schema."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from api.auth import current_principal, require_role
from api.schemas import AUTH_ERRORS, refused_import
from api.state import Conn, Tx
from contract.kinds import Kind
from registry import service
from registry.device_config import kind_schema
from registry.device_import import to_csv, to_json
from registry.schemas import ImportReport, InitialStatus, KindRead
from store.audit import Actor
from store.users import Principal

router = APIRouter(tags=["devices"])


_IMPORT_BODY = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "additionalProperties": False,
                "properties": {
                    "zones": {"type": "array", "items": {"type": "object"}},
                    "buildings": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/BuildingCreate"},
                    },
                    "devices": {
                        "type": "array",
                        "items": {"$ref": "#/components/schemas/DeviceCreate"},
                    },
                },
            },
            "example": {
                "buildings": [{"id": "B-012", "name": "Zilai Fang No. 12"}],
                "devices": [
                    {
                        "id": "SD-0001",
                        "kind": "smoke",
                        "site": "zilai",
                        "building": "B-012",
                        "floor": 2,
                        "room": "corridor",
                    }
                ],
            },
        },
        "text/csv": {
            "schema": {"type": "string"},
            "example": "id,kind,site,building,floor,room,config\n"
            'SD-0001,smoke,zilai,B-012,2,corridor,"{""model"": ""smoke""}"\n',
        },
    },
}


@router.post(
    "/api/v1/devices/import",
    response_model=ImportReport,
    responses={
        **AUTH_ERRORS,
        422: refused_import("ImportReport"),
    },
    openapi_extra={"requestBody": _IMPORT_BODY},
    summary="Register or update many devices (and buildings, zones) at once: all or nothing",
    description="CSV (text/csv) or JSON (application/json), as `firewatch simulate topology` "
    "writes it. Upsert by id; a registered device changes only in the fields a row gives (an "
    "empty CSV cell or a missing JSON key keeps the value; `-` in CSV or `null` in JSON clears "
    "it). A kind or site never changes and a decommissioned id is refused. Any "
    "error and nothing is written; the report names each row, field and reason. New devices' "
    "broker passwords are in `credentials`, only this once.",
)
async def import_devices(
    request: Request,
    conn: Tx,
    who: Annotated[Principal, Depends(require_role("admin", "technician"))],
    dry_run: bool = False,
    initial: Annotated[
        InitialStatus, Query(alias="status", description="What new devices start as.")
    ] = InitialStatus.ACTIVE,
) -> Any:
    data = await request.body()  # at most MAX_IMPORT_BYTES: api/limits.py
    report = await service.import_file(
        conn,
        data,
        content_type=request.headers.get("content-type"),
        status=initial.value,
        dry_run=dry_run,
        actor=Actor.of(who),
    )
    if not report.ok:
        return JSONResponse(report.model_dump(mode="json"), status_code=422)
    return report


@router.get(
    "/api/v1/devices/export",
    response_class=Response,
    responses={
        **AUTH_ERRORS,
        200: {
            "description": "The registry in the import format",
            "content": {
                "application/json": {"schema": {"type": "object"}},
                "text/csv": {"schema": {"type": "string"}},
            },
        },
    },
    summary="The registry in its import format: zones, buildings, devices (not decommissioned)",
)
async def export_devices(
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
    export_format: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Response:
    registry = await service.export(conn)
    if export_format == "csv":
        return Response(
            to_csv(registry["devices"]),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="devices.csv"'},
        )
    return Response(
        to_json(registry),
        media_type="application/json",
        headers={"Content-Disposition": 'attachment; filename="devices.json"'},
    )


@router.get(
    "/api/v1/device-kinds",
    response_model=list[KindRead],
    responses=AUTH_ERRORS,
    summary="Each kind's wire contract and config keys, with defaults and bounds",
)
async def device_kinds(
    _who: Annotated[Principal, Depends(current_principal)],
) -> list[dict[str, Any]]:
    return [kind_schema(kind) for kind in Kind]
