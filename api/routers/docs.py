"""/docs (Swagger UI) and /redoc with their files served from a Python package, never a CDN: the
control centre may have no internet. A CSP keeps every request on this host, as ReDoc's bundle
still asks a CDN for a logo of its own."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

# Swagger UI's and ReDoc's bundles as the fastapi-offline package ships them.
ASSETS_DIR = Path(fastapi_offline.__file__).resolve().parent / "static"
ASSETS = "/docs/assets"

router = APIRouter(include_in_schema=False)
_static = StaticFiles(directory=ASSETS_DIR)
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _csp(page: str) -> str:
    """Styles inline (both viewers inject theirs), the page's own inline script by its hash,
    ReDoc's search in a blob: worker; nothing from another host."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
    )


def _page(html: HTMLResponse) -> HTMLResponse:
    page = bytes(html.body).decode()
    return HTMLResponse(page, headers={"Content-Security-Policy": _csp(page)})


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _page(
        get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{request.app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            oauth2_redirect_url=None,
        )
    )


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    root = request.scope.get("root_path", "")
    return _page(
        get_redoc_html(
            openapi_url=f"{root}/openapi.json",
            title=f"{request.app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
    )


@router.api_route(ASSETS + "/{path:path}", methods=["GET", "HEAD"])
async def assets(path: str, request: Request) -> Response:
    # StaticFiles refuses paths outside the folder and answers conditional requests.
    return await _static.get_response(path, request.scope)
