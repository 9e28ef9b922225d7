"""The grid worker's side: the field page and its API, reached with a signed link and no login.
The link grants its one dispatch: read the incident, answer the steps, send photos. A link
that is forged, expired, revoked or spent (its dispatch closed) gets a 403 that says so: an
HTML page in Chinese for the page, JSON for the API.

A photo is checked before it is stored: the declared size and type first, then the link in
full (no body is read for a forged, expired, revoked or spent link, a resolved incident or a
dispatch full of photos), then the bytes as they arrive (at most the configured size, within
FIREWATCH_FIELD_PHOTO_READ_S) and their first bytes against the declared type. No database
connection is held while the body arrives: the check and the store are two short
transactions, so slow phones cannot take the pool from every other route.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from html import escape
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Request, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.staticfiles import StaticFiles

from api.dispatch_schemas import FieldRefusal, FieldStep
from api.schemas import Problem
from api.state import Conn
from api.state import State as App
from dispatch.field_answers import (
    PHOTO_TYPES,
    answer_photo,
    answer_step,
    image_problem,
    photo_welcome,
    view_link,
)
from dispatch.field_links import Refusal, link_secret, open_link
from dispatch.steps import Answer

FIELD_DIR = FilePath(__file__).resolve().parent.parent / "field"

# Nothing from another host; the service worker is ours; photos preview as blob: URLs.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "
    "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# The token is in the path: no Referer carries it anywhere, no cache keeps the answers.
_HEADERS = {
    "Content-Security-Policy": CSP,
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
}
_STATIC_HEADERS = {**_HEADERS, "Cache-Control": "no-cache"}

REFUSALS = {
    Refusal.FORGED: (
        "链接无效",
        "这个链接不是本系统发出的，或者已被改动。请使用派单消息里的原始链接。",
    ),
    Refusal.EXPIRED: ("链接已过期", "这个链接已经过期。如仍需前往，请联系值班员重新派单。"),
    Refusal.REVOKED: ("派单已撤销", "值班员已撤销这次派单，链接已失效，无需前往。"),
    Refusal.CLOSED: (
        "派单已结束",
        "这次派单已经提交了结论，链接不能再次使用。如有新情况，请直接联系值班员。",
    ),
}

Token = Annotated[str, Path(max_length=400, description="The signed token of the field link.")]
_REFUSED: dict[int | str, dict[str, Any]] = {
    403: {"model": FieldRefusal, "description": "Forged, expired, revoked or spent link"}
}
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {
        "model": Problem,
        "description": "The incident is resolved, or another person took the dispatch",
    }
}

page = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/field", tags=["field"])
_static = StaticFiles(directory=FIELD_DIR)


def refusal_page(reason: Refusal) -> HTMLResponse:
    title, text = REFUSALS[reason]
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f'<title>{escape(title)}</title><link rel="stylesheet" href="/field/static/style.css">'
        f'</head><body><main class="refused" data-reason="{reason.value}">'
        f"<h1>{escape(title)}</h1><p>{escape(text)}</p></main></body></html>"
    )
    return HTMLResponse(body, status_code=status.HTTP_403_FORBIDDEN, headers=_HEADERS)


def refusal_json(reason: Refusal) -> JSONResponse:
    title, text = REFUSALS[reason]
    return JSONResponse(
        {"detail": f"{title}：{text}", "reason": reason.value},
        status_code=status.HTTP_403_FORBIDDEN,
        headers=_HEADERS,
    )


def _view(found: dict[str, Any], app: App) -> JSONResponse:
    """What the worker sees, with the photo limit the page checks before queueing one."""
    body = {**found, "photo_max_bytes": app.settings.field_photo_max_bytes}
    return JSONResponse(jsonable_encoder(body), headers=_HEADERS)


@page.api_route("/field/sw.js", methods=["GET", "HEAD"])
async def service_worker() -> FileResponse:
    """At /field/ so that it serves every field page offline (its scope is its folder)."""
    return FileResponse(FIELD_DIR / "sw.js", media_type="text/javascript", headers=_STATIC_HEADERS)


@page.api_route("/field/static/{path:path}", methods=["GET", "HEAD"])
async def static(path: str, request: Request) -> Response:
    response = await _static.get_response(path, request.scope)
    response.headers.update(_STATIC_HEADERS)
    return response


@page.get("/field/{token}")
async def field_page(token: Token, conn: Conn, app: App) -> Response:
    """The page, for a link that opens; the page reads the incident itself
    (``GET /api/v1/field/{token}``), so offline it still opens from the service worker."""
    async with conn.transaction():
        secret = await link_secret(conn, app.settings)
        found = await open_link(conn, token, secret=secret, now=datetime.now(UTC), use="views")
    if isinstance(found, Refusal):
        return refusal_page(found)
    return FileResponse(FIELD_DIR / "index.html", media_type="text/html", headers=_HEADERS)


@api.get(
    "/{token}",
    responses=_REFUSED,
    summary="The incident as the grid worker may see it, and how far the dispatch is",
)
async def field_incident(token: Token, conn: Conn, app: App) -> Response:
    async with conn.transaction():
        secret = await link_secret(conn, app.settings)
        found = await view_link(conn, token, secret=secret, now=datetime.now(UTC))
    if isinstance(found, Refusal):
        return refusal_json(found)
    return _view(found, app)


@api.post(
    "/{token}/steps",
    responses={**_REFUSED, **_CONFLICT},
    summary="Accept, on my way, arrived, or the verdict (with its cause, a note)",
)
async def field_step(token: Token, conn: Conn, app: App, body: FieldStep) -> Response:
    """A step the dispatch is already at or past is answered as done (``repeated``): the
    page's offline queue may send one twice."""
    answer = Answer(step=body.step, verdict=body.verdict, cause=body.cause, note=body.note)
    async with conn.transaction():
        secret = await link_secret(conn, app.settings)
        found = await answer_step(conn, token, answer, secret=secret, now=datetime.now(UTC))
    if isinstance(found, Refusal):
        return refusal_json(found)
    return _view(found, app)


@api.post(
    "/{token}/photo",
    status_code=status.HTTP_201_CREATED,
    responses={
        **_REFUSED,
        **_CONFLICT,
        408: {"model": Problem, "description": "Not all sent within FIREWATCH_FIELD_PHOTO_READ_S"},
        413: {"model": Problem, "description": "Over FIREWATCH_FIELD_PHOTO_MAX_BYTES"},
        415: {"model": Problem, "description": "Not a JPEG, PNG or WebP image"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in PHOTO_TYPES},
        }
    },
    summary="A photo from the site: the raw image as the body, its type as Content-Type",
)
async def field_photo(token: Token, request: Request, app: App) -> Response:
    settings = app.settings
    limit = settings.field_photo_max_bytes
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return _too_large(limit)
    content_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if content_type not in PHOTO_TYPES:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            f"send the photo as one of {', '.join(PHOTO_TYPES)}, not {content_type or 'nothing'}",
        )
    now = datetime.now(UTC)
    async with app.open_pool.connection() as conn, conn.transaction():
        secret = await link_secret(conn, settings)
        refused = await photo_welcome(
            conn, token, max_photos=settings.field_photos_max, secret=secret, now=now
        )
    if refused is not None:
        return refusal_json(refused)
    try:
        async with asyncio.timeout(settings.field_photo_read_s):
            data = await _body(request, limit)
    except TimeoutError:
        return _answer(
            status.HTTP_408_REQUEST_TIMEOUT,
            f"照片上传超时，请重试（the photo did not arrive within "
            f"{settings.field_photo_read_s:g} s）",
        )
    if data is None:
        return _too_large(limit)
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the body is empty")
    problem = image_problem(content_type, data)
    if problem is not None:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, problem)
    async with app.open_pool.connection() as conn, conn.transaction():
        found = await answer_photo(
            conn,
            token,
            content_type=content_type,
            data=data,
            max_photos=settings.field_photos_max,
            secret=secret,
            now=datetime.now(UTC),
        )
    if isinstance(found, Refusal):
        return refusal_json(found)
    body = {"photo": found, "content_type": content_type, "size": len(data)}
    return JSONResponse(body, status_code=status.HTTP_201_CREATED, headers=_HEADERS)


async def _body(request: Request, limit: int) -> bytes | None:
    """The body, or None once it passes ``limit`` bytes (the rest is not read)."""
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            return None
    return bytes(data)


def _too_large(limit: int) -> JSONResponse:
    return _answer(
        status.HTTP_413_CONTENT_TOO_LARGE,
        f"照片太大：最大 {limit / 2**20:.1f} MiB（the photo is over {limit} bytes）",
    )


def _answer(code: int, detail: str) -> JSONResponse:
    """The rest of the body is not read: the connection closes after the answer."""
    return JSONResponse(
        {"detail": detail}, status_code=code, headers={**_HEADERS, "Connection": "close"}
    )


# One router for the app to include: the page's routes and the API's.
router = APIRouter()
router.include_router(page)
router.include_router(api)
