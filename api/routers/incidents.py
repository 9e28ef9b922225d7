"""Incidents for operators: the list, one incident with its timeline, and the actions, which
cascade to its signals. Their changes reach the live stream (``/api/v1/alerts/stream``) as
``event: incident``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Path, Query, status

from alerts.lifecycle import Action, IllegalTransition
from api.auth import current_principal
from api.incident_schemas import IncidentDetail, IncidentPage, IncidentRead, IncidentState
from api.operator_routes import add_operator_routes
from api.schemas import AUTH_ERRORS, Problem
from api.state import Conn
from api.state import State as App
from api.time_window import Timestamp
from contract.alarms import AlertClass
from store.alert_actions import ClaimedByOther, OperatorAction
from store.incident_actions import IncidentNotFound, perform_incident
from store.incident_queries import IncidentFilter, incident_detail, list_incidents
from store.users import Principal

router = APIRouter(prefix="/api/v1/incidents", tags=["incidents"])

_ACT: dict[int | str, dict[str, Any]] = {
    **AUTH_ERRORS,
    404: {"model": Problem, "description": "No such incident"},
    409: {
        "model": Problem,
        "description": "Illegal now (the message names the allowed actions), a fire's "
        "shelving, or claimed by another operator",
    },
}
IncidentId = Annotated[int, Path(ge=1, le=2**63 - 1)]
_SITE = "Default: this deployment's site (FIREWATCH_SITE)"


@router.get(
    "",
    response_model=IncidentPage,
    responses=AUTH_ERRORS,
    summary="Incidents, newest first, each with its signals",
)
async def get_incidents(
    conn: Conn,
    app: App,
    *,
    _who: Annotated[Principal, Depends(current_principal)],
    open_only: Annotated[
        bool, Query(alias="open", description="Only unresolved incidents")
    ] = False,
    incident_class: Annotated[AlertClass | None, Query(alias="class")] = None,
    state: IncidentState | None = None,
    site: Annotated[str | None, Query(pattern=r"^[a-z0-9-]{1,32}$", description=_SITE)] = None,
    building: Annotated[str | None, Query(max_length=64)] = None,
    since: Annotated[
        Timestamp | None,
        Query(alias="from", description="Opened (its first signal, device clock) at or after"),
    ] = None,
    until: Annotated[Timestamp | None, Query(alias="to", description="Opened before")] = None,
    before: Annotated[
        int | None,
        Query(ge=1, le=2**63 - 1, description="Cursor: next_before of the page before"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    f = IncidentFilter(
        open_only=open_only,
        incident_class=incident_class.value if incident_class else None,
        state=state,
        site=site or app.settings.site,
        building=building,
        since=since,
        until=until,
        before_id=before,
        limit=limit + 1,  # one more tells whether a next page exists
    )
    found = await list_incidents(conn, f)
    page = found[:limit]
    return {"items": page, "next_before": page[-1]["id"] if len(found) > limit else None}


@router.get(
    "/{incident_id}",
    response_model=IncidentDetail,
    responses={**AUTH_ERRORS, 404: {"model": Problem, "description": "No such incident"}},
    summary="One incident with its signals and one timeline of its and their steps",
)
async def get_incident(
    incident_id: IncidentId,
    conn: Conn,
    _who: Annotated[Principal, Depends(current_principal)],
) -> dict[str, Any]:
    found = await incident_detail(conn, incident_id)
    if found is None:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}")
    return found


async def _act(conn: Conn, app: App, incident_id: int, act: OperatorAction) -> dict[str, Any]:
    try:
        return await perform_incident(
            conn,
            incident_id,
            act,
            now=datetime.now(UTC),
            window_s=app.settings.correlation_window_s,
        )
    except IncidentNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no incident {incident_id}") from None
    except IllegalTransition as exc:
        # The lifecycle's message speaks of alerts; its hint names what the incident allows.
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"cannot {exc.action.value} incident {incident_id}, which is {exc.state.value}; "
            + exc.hint,
        ) from None
    except ClaimedByOther as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT,
            f"incident {incident_id} is claimed by {exc}; send take_over=true to take it over",
        ) from None


async def _incident_id(incident_id: IncidentId) -> int:
    return incident_id


add_operator_routes(
    router,
    item="/{incident_id}",
    target=_incident_id,
    perform=_act,
    response_model=IncidentRead,
    responses=_ACT,
    summaries={
        Action.ACK: "Acknowledge the incident and its unacknowledged signals",
        Action.SHELVE: "Shelve the incident and its signals for a while (never a fire)",
        Action.UNSHELVE: "Unshelve the incident's shelved signals",
        Action.RESOLVE: "Resolve the incident and every open signal with a cause",
        Action.COMMENT: "Add to the incident's log",
        Action.CLAIM: "Handle the incident yourself; others see who",
    },
)
