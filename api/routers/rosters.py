"""The safety grid's people, the channels that reach them, each zone's on-call roster and
supervisor chain, and who would be called at a given time. Admins edit them; operators (and
admins) read them, phones included, so a viewer's or a technician's token reads none. A
channel's secrets are never answered, only masked."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from fastapi.responses import JSONResponse

from api.auth import require_role
from api.schemas import AUTH_ERRORS, ONE_ERRORS, Problem, refused_import
from api.state import Conn, Tx
from api.state import State as App
from api.time_window import EARLIEST, LATEST, Timestamp
from dispatch import roster_service as service
from dispatch.model import ChannelKind
from dispatch.roster_import import (
    import_rosters,
    media_type_of,
    parse,
    unreadable,
)
from dispatch.roster_schemas import (
    ID,
    ChannelRead,
    ChannelWrite,
    OnCallRead,
    PersonPage,
    PersonRead,
    PersonRole,
    PersonWrite,
    RosterImportReport,
    RosterRead,
    RosterWrite,
    SupervisorsRead,
    SupervisorsWrite,
)
from registry.import_files import ImportFormatError
from registry.schemas import AuditEntry
from store.audit import Actor
from store.users import Principal

router = APIRouter(tags=["rosters"])

Reader = Annotated[Principal, Depends(require_role("admin", "operator"))]
Editor = Annotated[Principal, Depends(require_role("admin"))]
PersonId = Annotated[str, Path(pattern=ID, examples=["wang.fang"])]
ChannelId = Annotated[str, Path(pattern=ID, examples=["wecom-g03"])]
ZoneId = Annotated[str, Path(pattern=ID, examples=["G-03"])]
AuditLimit = Annotated[int, Query(ge=1, le=1000)]

_CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "Created"}}
_IN_USE: dict[int | str, dict[str, Any]] = {409: {"model": Problem}}


# People.


@router.get(
    "/api/v1/people",
    response_model=PersonPage,
    responses=AUTH_ERRORS,
    summary="The grid's people by id",
)
async def get_people(
    conn: Conn,
    _who: Reader,
    *,
    role: PersonRole | None = None,
    active: bool | None = None,
    zone: Annotated[
        str | None, Query(pattern=ID, description="On its roster or supervisor chain")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    return await service.list_people(
        conn,
        role=role.value if role else None,
        active=active,
        zone=zone,
        limit=limit,
        offset=offset,
    )


@router.get(
    "/api/v1/people/{person_id}",
    response_model=PersonRead,
    responses=ONE_ERRORS,
    summary="One person",
)
async def get_person(person_id: PersonId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_person(conn, person_id)


@router.put(
    "/api/v1/people/{person_id}",
    response_model=PersonRead,
    responses={**AUTH_ERRORS, **_CREATED, **_IN_USE},
    summary="Create or replace a person and their channels",
    description="409: a supervisor in a zone's chain cannot change role until taken out of it.",
)
async def put_person(
    person_id: PersonId, body: PersonWrite, conn: Tx, response: Response, who: Editor
) -> dict[str, Any]:
    person, created = await service.put_person(conn, person_id, body, actor=Actor.of(who))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return person


@router.delete(
    "/api/v1/people/{person_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ONE_ERRORS, **_IN_USE},
    summary="Remove a person on no roster or chain",
)
async def delete_person(person_id: PersonId, conn: Tx, who: Editor) -> Response:
    await service.delete_person(conn, person_id, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/people/{person_id}/audit",
    response_model=list[AuditEntry],
    responses=ONE_ERRORS,
    summary="Who changed this person, newest first",
)
async def person_audit(
    person_id: PersonId, conn: Conn, _who: Reader, limit: AuditLimit = 200
) -> list[dict[str, Any]]:
    return await service.person_audit(conn, person_id, limit=limit)


# Channels.


@router.get(
    "/api/v1/channels",
    response_model=list[ChannelRead],
    responses=AUTH_ERRORS,
    summary="Channels by id, secrets masked",
)
async def get_channels(
    conn: Conn,
    _who: Reader,
    zone: Annotated[str | None, Query(pattern=ID)] = None,
    kind: ChannelKind | None = None,
) -> list[dict[str, Any]]:
    return await service.list_channels(conn, zone=zone, kind=kind.value if kind else None)


@router.get(
    "/api/v1/channels/{channel_id}",
    response_model=ChannelRead,
    responses=ONE_ERRORS,
    summary="One channel, secrets masked",
)
async def get_channel(channel_id: ChannelId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_channel(conn, channel_id)


@router.put(
    "/api/v1/channels/{channel_id}",
    response_model=ChannelRead,
    responses={**AUTH_ERRORS, **_CREATED},
    summary="Create or replace a channel; a masked secret sent back keeps the stored one",
)
async def put_channel(
    channel_id: ChannelId, body: ChannelWrite, conn: Tx, response: Response, who: Editor
) -> dict[str, Any]:
    channel, created = await service.put_channel(conn, channel_id, body, actor=Actor.of(who))
    if created:
        response.status_code = status.HTTP_201_CREATED
    return channel


@router.delete(
    "/api/v1/channels/{channel_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ONE_ERRORS, **_IN_USE},
    summary="Remove a channel nobody is reached on",
)
async def delete_channel(channel_id: ChannelId, conn: Tx, who: Editor) -> Response:
    await service.delete_channel(conn, channel_id, actor=Actor.of(who))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/api/v1/channels/{channel_id}/audit",
    response_model=list[AuditEntry],
    responses=ONE_ERRORS,
    summary="Who changed this channel, newest first (secrets masked)",
)
async def channel_audit(
    channel_id: ChannelId, conn: Conn, _who: Reader, limit: AuditLimit = 200
) -> list[dict[str, Any]]:
    return await service.channel_audit(conn, channel_id, limit=limit)


# Each zone's roster, supervisor chain and who is on call.


@router.get(
    "/api/v1/zones/{zone_id}/roster",
    response_model=RosterRead,
    responses=ONE_ERRORS,
    summary="The zone's shifts, by position",
)
async def get_roster(zone_id: ZoneId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_roster(conn, zone_id)


@router.put(
    "/api/v1/zones/{zone_id}/roster",
    response_model=RosterRead,
    responses=ONE_ERRORS,
    summary="Replace the zone's shifts",
    description="Times are the site's wall clock (FIREWATCH_SITE_TIMEZONE, Beijing time by "
    "default); a shift whose end is at or before its start ends the next day.",
)
async def put_roster(zone_id: ZoneId, body: RosterWrite, conn: Tx, who: Editor) -> dict[str, Any]:
    return await service.put_roster(conn, zone_id, body, actor=Actor.of(who))


@router.get(
    "/api/v1/zones/{zone_id}/supervisors",
    response_model=SupervisorsRead,
    responses=ONE_ERRORS,
    summary="The zone's supervisor chain, level 1 first",
)
async def get_supervisors(zone_id: ZoneId, conn: Conn, _who: Reader) -> dict[str, Any]:
    return await service.get_supervisors(conn, zone_id)


@router.put(
    "/api/v1/zones/{zone_id}/supervisors",
    response_model=SupervisorsRead,
    responses=ONE_ERRORS,
    summary="Replace the zone's supervisor chain",
)
async def put_supervisors(
    zone_id: ZoneId, body: SupervisorsWrite, conn: Tx, who: Editor
) -> dict[str, Any]:
    return await service.put_supervisors(conn, zone_id, body, actor=Actor.of(who))


@router.get(
    "/api/v1/zones/{zone_id}/roster/audit",
    response_model=list[AuditEntry],
    responses=ONE_ERRORS,
    summary="Who changed the zone's shifts or chain, newest first",
)
async def roster_audit(
    zone_id: ZoneId, conn: Conn, _who: Reader, limit: AuditLimit = 200
) -> list[dict[str, Any]]:
    return await service.roster_audit(conn, zone_id, limit=limit)


@router.get(
    "/api/v1/zones/{zone_id}/on-call",
    response_model=OnCallRead,
    responses={**ONE_ERRORS, 400: {"model": Problem, "description": "A time without a zone"}},
    summary="Who would be called for the zone, in order",
)
async def get_on_call(
    zone_id: ZoneId,
    conn: Conn,
    app: App,
    _who: Reader,
    at: Annotated[
        Timestamp | None, Query(description="Default: now. With its offset: ...T22:00:00+08:00")
    ] = None,
) -> dict[str, Any]:
    when = at or datetime.now(UTC)
    if when.tzinfo is None or not EARLIEST <= when <= LATEST:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            "at needs a time zone and must lie between 2000 and 2100, "
            "e.g. 2026-11-29T22:00:00+08:00",
        )
    return await service.on_call(conn, zone_id, at=when, tz=app.settings.tz)


# Import.

_IMPORT_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/json": {
            "schema": {"type": "object"},
            "example": {
                "channels": [{"id": "sms", "kind": "sms", "config": {"url": "https://…"}}],
                "people": [
                    {"id": "wang.fang", "name": "王芳", "phone": "13800138000", "channels": ["sms"]}
                ],
                "shifts": [
                    {
                        "zone": "G-03",
                        "person": "wang.fang",
                        "position": 0,
                        "start": "08:00",
                        "end": "20:00",
                    }
                ],
            },
        },
        "text/csv": {
            "schema": {"type": "string"},
            "example": "zone,person,position,weekdays,start,end\n"
            "G-03,wang.fang,0,1-5,20:00,08:00\n",
        },
    },
}


@router.post(
    "/api/v1/rosters/import",
    response_model=RosterImportReport,
    responses={
        **AUTH_ERRORS,
        415: {"model": Problem, "description": "Neither text/csv nor application/json"},
        422: refused_import("RosterImportReport"),
    },
    openapi_extra={"requestBody": _IMPORT_BODY},
    summary="Import people, channels, shifts and supervisor chains: all or nothing",
    description="JSON with sections people, channels, shifts, supervisors; or a CSV of one "
    "section, told by its header. People and channels are created or replaced by id; the "
    "shifts and supervisors of each zone named replace that zone's. Any error and nothing is "
    "written; the report names each row, field and reason.",
)
async def import_file(request: Request, conn: Tx, who: Editor, dry_run: bool = False) -> Any:
    try:
        media_type = media_type_of(request.headers.get("content-type"))
    except ImportFormatError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, str(exc)) from None
    try:
        document = parse(await request.body(), media_type)
    except ImportFormatError as exc:
        report = unreadable(str(exc), dry_run=dry_run)
    else:
        report = await import_rosters(conn, document, dry_run=dry_run, actor=Actor.of(who))
    if not report.ok:
        return JSONResponse(report.model_dump(mode="json"), status_code=422)
    return report
