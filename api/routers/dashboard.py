"""The operator dashboard: static files written by us, served with a strict CSP; and the site's
street lines the plan draws, if a file of them is configured."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, Response
from starlette.staticfiles import StaticFiles

from api.auth import current_principal
from api.schemas import ONE_ERRORS, Problem
from api.state import State
from registry.streets import MAX_BYTES, StreetFileError, street_lines
from store.users import Principal

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

router = APIRouter()
_static = StaticFiles(directory=DASHBOARD_DIR)
_log = logging.getLogger(__name__)
# The parsed street file, kept while the file is unchanged: (path, mtime, size) -> lines.
_streets: dict[tuple[Path, int, int], dict[str, Any]] = {}


@router.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
async def index() -> FileResponse:
    return FileResponse(DASHBOARD_DIR / "index.html", media_type="text/html", headers=_HEADERS)


@router.api_route("/static/{path:path}", methods=["GET", "HEAD"], include_in_schema=False)
async def static(path: str, request: Request) -> Response:
    # StaticFiles refuses paths outside the folder and answers conditional requests.
    response = await _static.get_response(path, request.scope)
    response.headers.update(_HEADERS)
    return response


@router.get(
    "/api/v1/streets",
    tags=["control centre"],
    responses={**ONE_ERRORS, 503: {"model": Problem}},
    summary="The site's street lines (GeoJSON), for the plan",
)
async def streets(
    state: State, _who: Annotated[Principal, Depends(current_principal)]
) -> dict[str, Any]:
    """Every LineString and MultiLineString of FIREWATCH_STREETS_FILE, as MultiLineString
    features with their `name`. 404 when no file is configured: the plan then has no streets.
    503 when the file cannot be read or holds no street lines, saying why."""
    path = state.settings.streets_file
    if path is None:
        raise HTTPException(404, "no street file configured (FIREWATCH_STREETS_FILE)")
    try:
        stat = path.stat()
        key = (path, stat.st_mtime_ns, stat.st_size)
        if key not in _streets:
            if stat.st_size > MAX_BYTES:
                raise StreetFileError(f"larger than {MAX_BYTES // 2**20} MiB")
            lines = await run_in_threadpool(lambda: street_lines(path.read_bytes()))
            _streets.clear()
            _streets[key] = lines
    except OSError as error:
        # The path and the system's reason stay in the server's log: a viewer is not told them.
        _log.error("street file %s unusable: %s", path, error)
        raise HTTPException(503, "the street file cannot be read (see the server's log)") from None
    except StreetFileError as error:
        _log.error("street file %s unusable: %s", path, error)
        raise HTTPException(503, f"the street file is unusable: {error}") from None
    return _streets[key]
