"""Limits on what a request may carry, enforced before any route reads, parses or
authenticates it.

The body is counted as it arrives: a declared Content-Length over the limit is refused before
a byte is read, and a chunked body is cut off at the limit, so a client without a token can
make the process hold at most one limit's worth per request. Most bodies are one JSON object
(the largest, a building with a 1,000-point footprint, is about 40 KiB), so they get 256 KiB,
the size ingest allows a device message; the registry import keeps its 32 MiB.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from contract.text import printable, text_problem
from gateways.isapi_body import BODY_MAX_BYTES as ISAPI_MAX_BYTES
from registry.device_import import MAX_IMPORT_BYTES
from settings import FIELD_PHOTO_CEILING_BYTES

MAX_BODY_BYTES = 256 * 1024
# (method, path) -> limit, for the few routes that take more than MAX_BODY_BYTES.
LARGE_BODIES = {
    ("POST", "/api/v1/devices/import"): MAX_IMPORT_BYTES,
    # A camera's alarm with its pictures; the route drops the pictures unread.
    ("POST", "/api/v1/gateways/isapi"): ISAPI_MAX_BYTES,
}


# A field photo (api/routers/field.py): the route holds it to FIREWATCH_FIELD_PHOTO_MAX_BYTES.
_FIELD_PHOTO = re.compile(r"^/api/v1/field/[^/]+/photo/?$")


def body_limit(method: str, path: str) -> int:
    if method == "POST" and _FIELD_PHOTO.match(path):
        return FIELD_PHOTO_CEILING_BYTES
    return LARGE_BODIES.get((method, path.rstrip("/")), MAX_BODY_BYTES)


def _size(limit: int) -> str:
    return f"{limit // 2**20} MiB" if limit >= 2**20 else f"{limit // 2**10} KiB"


class RequestGuard:
    """413 for a body over its route's limit; 422 for a NUL in the path or the query."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(scope["method"], scope["path"])
        refusal = _refusal(scope, limit)
        if refusal is not None:
            await _answer(send, *refusal)
            return
        received = 0
        refused = False

        async def counted() -> Message:
            """Past the limit, answers 413 itself and tells the route the client has gone: a
            route's own answer to that (FastAPI's 400, ``client_gone``'s) is dropped by
            ``muted``."""
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request" and not refused:
                received += len(message.get("body", b""))
                if received > limit:
                    refused = True
                    await _answer(send, 413, _too_large(limit))
            return {"type": "http.disconnect"} if refused else message

        async def muted(message: Message) -> None:
            if not refused:
                await send(message)

        await self.app(scope, counted, muted)


def _refusal(scope: Scope, limit: int) -> tuple[int, object] | None:
    """What is wrong before a byte of the body is read: a NUL in the URL, a declared length
    over the limit."""
    problem = _url_problem(scope)
    if problem is not None:
        loc, msg = problem
        return 422, [{"type": "text", "loc": loc, "msg": msg, "input": None}]
    declared = _content_length(scope)
    if declared is not None and declared > limit:
        return 413, _too_large(limit)
    return None


def _content_length(scope: Scope) -> int | None:
    for name, value in scope["headers"]:
        if name == b"content-length":
            return int(value) if value.isdigit() else None
    return None


def _too_large(limit: int) -> str:
    return f"the body is over this route's limit of {_size(limit)}"


def _url_problem(scope: Scope) -> tuple[list[str], str] | None:
    """Where and why, in the shape of a validation error. Starlette decodes percent-escapes
    as UTF-8 with replacement, so only NUL can arrive here; the rule is the bodies' all the
    same."""
    problem = text_problem(scope["path"])
    if problem is not None:
        return ["path"], problem
    query = scope.get("query_string", b"").decode("latin-1")
    for name, value in parse_qsl(query, keep_blank_values=True):
        problem = text_problem(name) or text_problem(value)
        if problem is not None:
            return ["query", printable(name)], problem
    return None


async def client_gone(_request: Request, exc: Exception) -> JSONResponse:
    """A client that left before its body was complete (a camera or a phone losing its link,
    a scanner): there is no one to answer, but it is no error of ours. Routes that read their
    own body (the pushes, the import, field photos) meet it as ClientDisconnect; unhandled, it
    was logged as an unhandled exception in the application, a traceback each time."""
    assert isinstance(exc, ClientDisconnect)
    return JSONResponse({"detail": "the body did not arrive whole: the client went away"}, 400)


async def _answer(send: Send, status: int, detail: object) -> None:
    body = orjson.dumps({"detail": detail})
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if status == 413:
        headers.append((b"connection", b"close"))  # the rest of the body is not read
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
