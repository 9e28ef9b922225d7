"""The operator dashboard: static files written by us, served with a strict CSP."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

DASHBOARD_DIR = Path(__file__).resolve().parent.parent / "dashboard"

# Nothing may be fetched from another host; blob: carries heat maps fetched with a token.
# Inline styles: the shift report, fetched with the token, opens as a blob: document that
# inherits this policy, and it carries its own <style>.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob: data:; "
    "connect-src 'self'; media-src 'none'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# Revalidate every time, so an upgrade reaches every console without a hard reload.
_HEADERS = {"Cache-Control": "no-cache", "Content-Security-Policy": CSP}

router = APIRouter(include_in_schema=False)
_static = StaticFiles(directory=DASHBOARD_DIR)


@router.api_route("/", methods=["GET", "HEAD"])
async def index() -> FileResponse:
    return FileResponse(DASHBOARD_DIR / "index.html", media_type="text/html", headers=_HEADERS)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"])
async def static(path: str, request: Request) -> Response:
    # StaticFiles refuses paths outside the folder and answers conditional requests.
    response = await _static.get_response(path, request.scope)
    response.headers.update(_HEADERS)
    return response
