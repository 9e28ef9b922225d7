"""``POST /api/v1/gateways/isapi``: thermal cameras' own alarm pushes (Hikvision ISAPI event
notifications), answered 200 only once ingest has committed what they said.

A camera logs in as its device id, with HTTP Digest or Basic (its alarm host's
``httpAuthenticationMethod``). Digest needs the password in clear, which the registry keeps
for one password only: the camera's own login (``PUT /api/v1/cameras/{id}/credentials``, kept
for its PTZ control). Basic checks either that login's password or the device password issued
at registration (kept only as a hash, so Digest cannot check it). docs/gateways.md says why
and how to set a camera up.

Answers: 200 committed; 401 with Digest and Basic challenges (a wrong login is also
dead-lettered as ``bad_signature``, at most ``REFUSALS_PER_S`` a second after a burst, so a
scanner cannot fill the dead letters); 400 malformed and 413 an alert part over 64 KiB (both
dead-lettered); 408 a body that does not arrive within ``READ_TIMEOUT_S``; 503 with
Retry-After when ingest did not commit in time (the camera sends it again, which stores
nothing twice). Pictures are dropped unread: an alarm is never refused for its picture's size.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry

from api.schemas import Problem
from api.state import AppState, State
from contract.messages import Reason
from contract.topics import DEVICE_ID_RE
from dispatch.field_links import link_secret
from gateways import http_auth, isapi
from gateways.carrier import NotCarried
from gateways.isapi_body import ALERT_MAX_BYTES, Body, BodyReader, Refused
from gateways.isapi_metrics import IsapiCollector, IsapiCounters
from store.dead_letters import PAYLOAD_KEEP_BYTES
from store.isapi_auth import CameraSecrets, camera_secrets

log = logging.getLogger(__name__)

PATH = "/api/v1/gateways/isapi"
REALM = "firewatch"
READ_TIMEOUT_S = 30.0
RETRY_AFTER_S = 5
REFUSALS_BURST = 20
REFUSALS_PER_S = 1.0

_OK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
    b"<requestURL>" + PATH.encode() + b"</requestURL><statusCode>1</statusCode>"
    b"<statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>\n"
)


@dataclass(slots=True)
class _Receiver:
    """One app's counters, nonce key and refusal budget (a token bucket)."""

    counters: IsapiCounters = field(default_factory=IsapiCounters)
    # Until derived from the site's shared secret (its first request): every api replica
    # behind one address must accept the others' nonces, or a camera is told "stale" forever.
    nonce_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    shared: bool = False
    tokens: float = REFUSALS_BURST
    refilled: float = field(default_factory=time.monotonic)

    def may_record(self) -> bool:
        now = time.monotonic()
        self.tokens = min(REFUSALS_BURST, self.tokens + (now - self.refilled) * REFUSALS_PER_S)
        self.refilled = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


# Keyed by the app's metrics registry: one receiver per app, gone with it.
_RECEIVERS: weakref.WeakKeyDictionary[CollectorRegistry, _Receiver] = weakref.WeakKeyDictionary()


def _receiver(state: AppState) -> _Receiver:
    found = _RECEIVERS.get(state.metrics)
    if found is None:
        found = _RECEIVERS[state.metrics] = _Receiver()
        state.metrics.register(IsapiCollector(found.counters))
    return found


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """The metrics are on /metrics from the start, before any camera has pushed."""
    _receiver(app.state.firewatch)
    yield


router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"], lifespan=_lifespan)


def _problem(code: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"detail": detail}, status_code=code, headers=headers)


def _challenge(receiver: _Receiver, detail: str, *, stale: bool = False) -> Response:
    values = http_auth.challenges(realm=REALM, key=receiver.nonce_key, now=time.time(), stale=stale)
    response = _problem(status.HTTP_401_UNAUTHORIZED, detail)
    for value in values:
        response.headers.append("WWW-Authenticate", value)
    return response


def _login_problem(
    auth: http_auth.Authorization,
    known: CameraSecrets | None,
    *,
    request: Request,
    receiver: _Receiver,
) -> str | None:
    """Why the login does not check (for the dead letter), None when it does, "stale" for a
    right Digest answer to an old nonce."""
    if known is None:
        return f"no registered camera {auth.username[:64]!r}"
    if auth.scheme is http_auth.Scheme.BASIC:
        by_hash = known.password_hash is not None and http_auth.matches_mosquitto_hash(
            auth.password, known.password_hash
        )
        by_login = known.camera_password is not None and hmac.compare_digest(
            auth.password.encode(), known.camera_password.encode()
        )
        return None if by_hash or by_login else f"wrong password for {auth.username!r} (Basic)"
    if known.camera_password is None:
        return (
            f"Digest for {auth.username!r} needs the camera's login in the registry "
            "(PUT /api/v1/cameras/{id}/credentials); or log in with Basic"
        )
    check = http_auth.check_digest(
        auth,
        method=request.method,
        path=request.url.path,
        realm=REALM,
        password=known.camera_password,
        key=receiver.nonce_key,
        now=time.time(),
    )
    if check is http_auth.DigestCheck.STALE:
        return "stale"
    return (
        None if check is http_auth.DigestCheck.OK else f"wrong Digest answer for {auth.username!r}"
    )


async def _share_nonce_key(state: AppState, receiver: _Receiver) -> Response | None:
    """Derives the Digest nonces' key from the site's shared secret (the field links'), so
    every api replica accepts the others' nonces; the 503 to answer if it cannot be read."""
    try:
        async with state.open_pool.connection(
            timeout=state.settings.gateway_commit_timeout_s
        ) as conn:
            secret = await link_secret(conn, state.settings)
    except psycopg.Error as exc:
        receiver.counters.not_carried += 1
        return _problem(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"the registry cannot be read: {type(exc).__name__}",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    receiver.nonce_key = hmac.new(secret, b"isapi digest nonces", "sha256").digest()
    receiver.shared = True
    return None


async def _dead_letter(state: AppState, item: Any) -> None:
    """A refusal, carried like any message; the answer does not wait on it succeeding."""
    try:
        await state.carrier.carry([item], gateway=isapi.GATEWAY)
    except NotCarried as exc:
        log.warning("an ISAPI refusal was not dead-lettered: %s", exc)


async def _read(request: Request, head: bytearray) -> Body:
    """The body through the reader, keeping in ``head`` what a dead letter keeps of it.
    Raises Refused, or TimeoutError after READ_TIMEOUT_S."""
    reader = BodyReader(request.headers.get("content-type"))
    async with asyncio.timeout(READ_TIMEOUT_S):
        async for chunk in request.stream():
            if len(head) < PAYLOAD_KEEP_BYTES:
                head += chunk[: PAYLOAD_KEEP_BYTES - len(head)]
            reader.feed(chunk)
    return reader.finish()


_DOCUMENTED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Committed by ingest: an ISAPI ResponseStatus",
        "content": {"application/xml": {"schema": {"type": "string"}}},
    },
    400: {"model": Problem, "description": "Not an EventNotificationAlert (dead-lettered)"},
    401: {
        "model": Problem,
        "description": "No credentials, or wrong ones (dead-lettered): Digest and Basic "
        "challenges in WWW-Authenticate",
    },
    408: {"model": Problem, "description": f"The body took over {READ_TIMEOUT_S:g} s"},
    413: {
        "model": Problem,
        "description": f"The alert part is over {ALERT_MAX_BYTES // 1024} KiB (dead-lettered), "
        "or the whole body over 16 MiB; pictures of any size below that are dropped",
    },
    503: {
        "model": Problem,
        "description": "Not committed in time, or the registry unreadable: send again "
        "(Retry-After)",
    },
}
_BODY = {"schema": {"type": "string", "format": "binary"}}


@router.post(
    "/isapi",
    response_class=Response,
    responses=_DOCUMENTED,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                t: _BODY
                for t in (
                    "application/xml",
                    "application/json",
                    "multipart/form-data",
                    "multipart/mixed",
                )
            },
        }
    },
    summary="A thermal camera's alarm (Hikvision ISAPI EventNotificationAlert, XML or JSON, "
    "alone or multipart with pictures); HTTP Digest or Basic as the device id",
)
async def isapi_notification(request: Request, state: State) -> Response:  # noqa: C901, PLR0911 - one answer per way a post can end
    receiver = _receiver(state)
    counters = receiver.counters
    counters.received += 1
    received_at = datetime.now(UTC)
    peer = request.client.host if request.client else "unknown"
    if not receiver.shared and (unreadable := await _share_nonce_key(state, receiver)):
        return unreadable
    auth = http_auth.parse(request.headers.get("authorization"))
    if auth is None:
        counters.challenged += 1
        return _challenge(receiver, "log in with HTTP Digest or Basic, the device id as user")
    known = None
    if DEVICE_ID_RE.fullmatch(auth.username):
        try:
            wait = state.settings.gateway_commit_timeout_s
            async with state.open_pool.connection(timeout=wait) as conn:
                known = await camera_secrets(conn, auth.username)
        except psycopg.Error as exc:  # the pool's timeout too: the camera sends again
            counters.not_carried += 1
            return _problem(
                status.HTTP_503_SERVICE_UNAVAILABLE,
                f"the registry cannot be read: {type(exc).__name__}",
                headers={"Retry-After": str(RETRY_AFTER_S)},
            )
    problem = _login_problem(auth, known, request=request, receiver=receiver)
    if problem == "stale":
        return _challenge(receiver, "the nonce is stale: answer the new one", stale=True)
    if problem is not None:
        counters.refused[Reason.BAD_SIGNATURE.value] += 1
        if receiver.may_record():
            raw = orjson.dumps(
                {"scheme": auth.scheme.value, "username": auth.username[:64], "path": PATH}
            )
            refused = Refused(Reason.BAD_SIGNATURE, problem)
            site = known.site if known is not None else state.settings.site
            device = known.device_id if known is not None else None
            await _dead_letter(
                state,
                isapi.refusal(
                    site,
                    peer=peer,
                    refused=refused,
                    raw=raw,
                    received_at=received_at,
                    device_id=device,
                ),
            )
        else:
            counters.unrecorded += 1
        return _challenge(receiver, "the credentials do not check")
    assert known is not None
    head = bytearray()
    try:
        body = await _read(request, head)
        notification = isapi.notification(body, assume_tz=state.settings.tz)
    except TimeoutError:
        return _problem(status.HTTP_408_REQUEST_TIMEOUT, "the body did not arrive in time")
    except Refused as refused:
        counters.refused[refused.reason.value] += 1
        await _dead_letter(
            state,
            isapi.refusal(
                known.site,
                peer=peer,
                refused=refused,
                raw=bytes(head),
                received_at=received_at,
                device_id=known.device_id,
            ),
        )
        code = 413 if refused.reason is Reason.OVERSIZE else 400
        return _problem(code, refused.detail)
    items = isapi.contract_messages(
        notification, site=known.site, device_id=known.device_id, received_at=received_at
    )
    try:
        await state.carrier.carry(items, gateway=isapi.GATEWAY)
    except NotCarried as exc:
        counters.not_carried += 1
        return _problem(
            status.HTTP_503_SERVICE_UNAVAILABLE,
            f"not committed: {exc}",
            headers={"Retry-After": str(RETRY_AFTER_S)},
        )
    counters.committed += 1
    counters.messages += len(items)
    counters.pictures_dropped += body.pictures
    counters.picture_bytes_dropped += body.dropped_bytes
    return Response(_OK, media_type="application/xml")
