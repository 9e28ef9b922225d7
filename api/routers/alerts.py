"""Alerts for operators: the list, one alert in full, the actions, and the live stream."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from alerts.lifecycle import Action, IllegalTransition, State
from api.alert_schemas import AlertDetail, AlertRead
from api.alert_stream import Frame, ReplayTooLong, parse_event_id
from api.auth import StreamSession, current_principal, stream_session
from api.operator_routes import add_operator_routes
from api.schemas import AUTH_ERRORS, Problem
from api.state import AppState, Conn
from api.state import State as App
from api.time_window import Timestamp
from contract.alarms import AlertClass
from store.alert_actions import AlertNotFound, ClaimedByOther, OperatorAction, perform
from store.alert_queries import AlertFilter, alert_detail, list_alerts
from store.users import Principal

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

_ACT: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"model": Problem},
    409: {"model": Problem, "description": "Illegal now"},
}
AlertId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_SITE = "Default: this deployment's site (FIREWATCH_SITE)"


@router.get(
    "", response_model=list[AlertRead], responses=AUTH_ERRORS, summary="Alerts, newest first"
)
async def get_alerts(
    conn: Conn,
    app: App,
    *,
    _who: Annotated[Principal, Depends(current_principal)],
    open_only: Annotated[bool, Query(alias="open", description="Only unresolved alerts")] = False,
    alert_class: Annotated[AlertClass | None, Query(alias="class")] = None,
    state: State | None = None,
    site: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,32}$", description=_SITE)] = None,
    building: Annotated[str | None, Query(max_length=64)] = None,
    device: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        Timestamp | None, Query(alias="from", description="raised at or after")
    ] = None,
    until: Annotated[Timestamp | None, Query(alias="to", description="raised before")] = None,
    before: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="Cursor: the last id of the page before")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    f = AlertFilter(
        open_only=open_only,
        alert_class=alert_class.value if alert_class else None,
        state=state.value if state else None,
        building=building,
        device=device,
        site=site or app.settings.site,
        include_suppressed=state is State.SUPPRESSED,
        since=since,
        until=until,
        before_id=before,
        limit=limit,
    )
    return await list_alerts(conn, f)


@router.get(
    "/stream",
    summary="Every alert and incident change as Server-Sent Events",
    response_class=StreamingResponse,
    responses={
        **AUTH_ERRORS,
        400: {"model": Problem},
        200: {
            "content": {"text/event-stream": {}},
            "description": "`event: alert` with `id: <log id>` and data "
            '`{"event_id", "change", "actor", "from_state", "to_state", "at", '
            '"alert": AlertRead}`, and `event: incident` with `id: <log id>` and data '
            '`{"event_id", "change", "actor", "from_state", "to_state", "at", '
            '"incident": IncidentRead}` (its signals and counts as they are now), both in '
            "one order of ids, which is commit order: Last-Event-ID replays what was missed "
            "of both. An incident's changes: open, join, rise, confirm, return, update, "
            "resolve, and the operators' ack, claim, comment, shelve, unshelve, resolve. "
            "`event: reset` when the gap since Last-Event-ID is too long to replay (reload "
            "the lists); a comment every 15 s as a heartbeat. The stream ends within a few "
            "seconds of its user being disabled or its token rotated.",
        },
    },
)
async def stream_alerts(
    request: Request,
    app: App,
    session: Annotated[StreamSession, Depends(stream_session)],
    last_event_id: Annotated[str | None, Header(max_length=64)] = None,
    site: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,32}$", description=_SITE)] = None,
) -> StreamingResponse:
    try:
        after = parse_event_id(last_event_id) if last_event_id else None
    except ValueError as exc:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, str(exc)) from None
    own_site = site or app.settings.site
    return StreamingResponse(
        _sse(request, app, session=session, after=after, site=own_site),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _sse(
    request: Request, app: AppState, *, session: StreamSession, after: int | None, site: str
) -> AsyncIterator[bytes]:
    """Ends when the session does: its user disabled or its token rotated."""
    hub, pool = app.alert_stream, app.open_pool

    async def still_valid() -> bool:
        return await session.still_valid(pool)

    yield b"retry: 2000\n\n"
    try:
        events = hub.subscribe(pool, after, still_valid=still_valid)
        async for chunk in _site_frames(events, site):
            yield chunk
    except ReplayTooLong:
        yield b"event: reset\ndata: {}\n\n"
        async for chunk in _site_frames(hub.subscribe(pool, None, still_valid=still_valid), site):
            yield chunk


async def _site_frames(events: AsyncIterator[Frame | None], site: str) -> AsyncIterator[bytes]:
    async for event in events:
        if event is None:
            yield b": keepalive\n\n"
        elif event.site == site and event.data is not None:
            yield event.data  # suppressed alerts are the technician's, never dispatched


@router.get(
    "/{alert_id}",
    response_model=AlertDetail,
    responses={**AUTH_ERRORS, 404: {"model": Problem}},
    summary="One alert with its audit trail and the readings around it",
)
async def get_alert(
    alert_id: AlertId,
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    found = await alert_detail(conn, alert_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}")
    return found


async def _act(conn: Conn, app: App, alert_id: int, act: OperatorAction) -> dict[str, Any]:
    try:
        return await perform(
            conn, alert_id, act, now=datetime.now(UTC), window_s=app.settings.correlation_window_s
        )
    except AlertNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no alert {alert_id}") from None
    except IllegalTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    except ClaimedByOther as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"alert {alert_id} is claimed by {exc}; send take_over=true to take it over",
        ) from None


async def _alert_id(alert_id: AlertId) -> int:
    return alert_id


add_operator_routes(
    router,
    item="/{alert_id}",
    target=_alert_id,
    perform=_act,
    response_model=AlertRead,
    responses=_ACT,
    summaries={
        Action.ACK: "Acknowledge",
        Action.SHELVE: "Shelve for a while (never a fire alarm)",
        Action.UNSHELVE: "Unshelve",
        Action.RESOLVE: "Resolve with a cause",
        Action.COMMENT: "Add to the log",
        Action.CLAIM: "Handle it yourself; others see who",
    },
)
