"""Reading alerts (operator actions are their own issue)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from api.auth import current_principal
from api.schemas import AlertRead, Problem
from store.alerts import list_alerts
from store.users import Principal

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])


@router.get(
    "",
    response_model=list[AlertRead],
    responses={401: {"model": Problem}},
    summary="Alerts, newest first",
)
async def get_alerts(
    request: Request,
    _who: Annotated[Principal, Depends(current_principal)],
    open_only: Annotated[bool, Query(alias="open", description="Only unresolved alerts")] = False,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[dict[str, Any]]:
    async with request.app.state.pool.connection() as conn:
        return await list_alerts(conn, open_only=open_only, limit=limit)
