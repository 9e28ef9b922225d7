"""The control centre's one-screen summary."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from api.auth import current_principal
from api.overview_schemas import Overview
from api.schemas import Problem
from api.state import Conn, State
from store.overview import overview
from store.users import Principal

router = APIRouter(prefix="/api/v1", tags=["control centre"])


@router.get(
    "/overview",
    response_model=Overview,
    responses={401: {"model": Problem}},
    summary="Devices, open incidents and alerts, the timeline, hot spots and buildings at a glance",
)
async def get_overview(
    conn: Conn,
    state: State,
    _who: Annotated[Principal, Depends(current_principal)],
    hours: Annotated[int, Query(ge=1, le=168, description="The timeline's length")] = 24,
    site: Annotated[
        str | None, Query(pattern=r"^[a-z0-9-]{1,32}$", description="Default: this deployment's")
    ] = None,
) -> dict[str, Any]:
    return await overview(
        conn, site=site or state.settings.site, hours=hours, now=datetime.now(UTC)
    )
