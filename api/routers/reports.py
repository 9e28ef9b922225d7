"""The shift report, for the hand-over between operators: JSON for tools, HTML to print."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response

from api.auth import current_principal
from api.report_text import Lang
from api.schemas import Problem
from api.shift_report_html import render
from api.state import Conn, State
from api.time_window import Timestamp, window
from store.shift_report import shift_report
from store.users import Principal

router = APIRouter(prefix="/api/v1/reports", tags=["control centre"])

DEFAULT_SHIFT = timedelta(hours=12)
MAX_SHIFT = timedelta(days=7)


class Format(StrEnum):
    JSON = "json"
    HTML = "html"


@router.get(
    "/shift",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {}, "text/html": {}},
            "description": "Incidents (what operators worked) and signals (alerts) counted "
            "apart: each by class, with times to acknowledge and resolve (median and worst), "
            "verdicts, the false-alarm ratio and the open ones to hand over; incidents also "
            "say how many were confirmed, signals how many escalated. Then devices offline and "
            "the noisiest devices.",
        },
        400: {"model": Problem},
        401: {"model": Problem},
    },
    summary="What happened during a shift and what the next one inherits",
)
async def get_shift_report(
    conn: Conn,
    state: State,
    _who: Annotated[Principal, Depends(current_principal)],
    *,
    since: Annotated[
        Timestamp | None, Query(alias="from", description="Default: 12 h before to")
    ] = None,
    until: Annotated[Timestamp | None, Query(alias="to", description="Default: now")] = None,
    fmt: Annotated[Format, Query(alias="format")] = Format.JSON,
    lang: Annotated[Lang, Query(description="The printed page's language")] = Lang.ZH,
) -> Response:
    since, until = window(since, until, default=DEFAULT_SHIFT, longest=MAX_SHIFT)
    report: dict[str, Any] = await shift_report(
        conn, site=state.settings.site, start=since, end=until
    )
    if fmt is Format.HTML:
        return HTMLResponse(render(report, tz=state.settings.tz, lang=lang))
    return JSONResponse(jsonable_encoder(report))
