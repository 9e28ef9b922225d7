"""The monthly report, the figures the street's own report quotes: JSON for tools, a printable
page in Chinese (or English) for the month's paperwork."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import AfterValidator

from alerts.monthly_report import check_month
from api.auth import current_principal
from api.monthly_report_html import render
from api.report_text import Lang
from api.routers.reports import Format
from api.schemas import Problem
from api.state import Conn, State
from store.monthly_report import monthly_report
from store.users import Principal

router = APIRouter(prefix="/api/v1/reports", tags=["control centre"])

Month = Annotated[str, AfterValidator(check_month)]


@router.get(
    "/monthly",
    response_class=Response,
    responses={
        200: {
            "content": {"application/json": {}, "text/html": {}},
            "description": "A calendar month on the site's clock: incidents by class and "
            "verdict (with the field's causes), dispatches (automatic, escalated, accepted, "
            "arrived, verdicts), median and worst time to acknowledge, to dispatch and to "
            "arrive, the real fires handled, and the false-alarm ratio overall, by device "
            "model and by building (docs/dispatch.md).",
        },
        401: {"model": Problem},
        422: {"model": Problem, "description": "A month not YYYY-MM, or a malformed site"},
    },
    summary="The month's figures for the street's report",
)
async def get_monthly_report(
    conn: Conn,
    state: State,
    _who: Annotated[Principal, Depends(current_principal)],
    *,
    month: Annotated[
        Month | None,
        Query(max_length=7, description="YYYY-MM; default: this month, on the site's clock"),
    ] = None,
    site: Annotated[
        str | None, Query(pattern=r"^[a-z0-9-]{1,32}$", description="Default: this site")
    ] = None,
    fmt: Annotated[Format, Query(alias="format")] = Format.JSON,
    lang: Annotated[Lang, Query(description="The printed page's language")] = Lang.ZH,
) -> Response:
    settings = state.settings
    month = month or datetime.now(UTC).astimezone(settings.tz).strftime("%Y-%m")
    report: dict[str, Any] = await monthly_report(
        conn, site=site or settings.site, month=month, tz=settings.tz
    )
    if fmt is Format.HTML:
        return HTMLResponse(render(report, lang=lang))
    return JSONResponse(jsonable_encoder(report))
