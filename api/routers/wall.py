"""The wall display (大屏) for the control centre's video wall, at /wall: static files of our own
under the console's policy. It only reads the API, with a viewer token the page keeps in the
wall's browser; it imports the console's modules from /static/js rather than copying them."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from api.routers.dashboard import CSP

WALL_DIR = Path(__file__).resolve().parent.parent / "wall"

# Revalidate every time, so an upgrade reaches the wall at its next reload. No Referer: the
# wall is opened from a link that may carry its token in the fragment.
_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}

router = APIRouter(include_in_schema=False)
_static = StaticFiles(directory=WALL_DIR)


@router.api_route("/wall", methods=["GET", "HEAD"])
async def wall() -> FileResponse:
    return FileResponse(WALL_DIR / "index.html", media_type="text/html", headers=_HEADERS)


@router.api_route("/wall/static/{path:path}", methods=["GET", "HEAD"])
async def static(path: str, request: Request) -> Response:
    # StaticFiles refuses paths outside the folder and answers conditional requests.
    response = await _static.get_response(path, request.scope)
    response.headers.update(_HEADERS)
    return response
