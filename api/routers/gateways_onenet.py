"""China Mobile OneNET's HTTP push (docs/gateways.md): the URL check, and data-point and
online/offline messages in plain and secure mode, answered 200 only once ingest committed them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from api.gateway_push import (
    PushReceipt,
    committed,
    peer,
    problem,
    push_responses,
    refuse,
    with_problems,
)
from api.schemas import Problem
from api.state import get_state
from contract.messages import Reason
from gateways import onenet
from gateways.platform_mapping import Unavailable
from gateways.push_targets import Refused

router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"])

OFF = "the OneNET push is off: set FIREWATCH_ONENET_TOKEN to the push's token"
CHECK_MAX = 256

_PLAIN = {
    "msg": {"at": 1764906000000, "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": 52013},
    "msg_signature": "<Base64(MD5(token + nonce + msg as it stands))>",
    "nonce": "Xq3b7Lp0",
}
_SECURE = {
    "enc_msg": "<Base64(AES-256-CBC(16 random bytes + length + msg))>",
    "msg_signature": "<Base64(MD5(token + nonce + enc_msg))>",
    "nonce": "Xq3b7Lp0",
}


@router.get(
    "/onenet",
    response_model=None,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}, "example": "4nD0m"}},
            "description": "msg, echoed: the URL and the token check",
        },
        403: {"model": Problem, "description": "The signature does not check; dead-lettered"},
        404: {"model": Problem, "description": "The gateway is off: the answer names the setting"},
        503: {"model": Problem, "description": "The refusal is not recorded yet; send again"},
    },
    summary="OneNET's URL check: answers msg when Base64(MD5(token + nonce + msg)) matches",
)
async def onenet_url_check(
    request: Request,
    msg: Annotated[str, Query(min_length=1, max_length=CHECK_MAX)],
    nonce: Annotated[str, Query(min_length=1, max_length=onenet.NONCE_MAX)],
    signature: Annotated[str, Query(min_length=1, max_length=CHECK_MAX)],
) -> PlainTextResponse | JSONResponse:
    state = get_state(request)
    token = state.settings.onenet_token
    if not token:
        return problem(404, OFF)
    if onenet.url_check_ok(token, msg=msg, nonce=nonce, signature_=signature):
        state.push_counters.answered[onenet.GATEWAY, 200] += 1
        return PlainTextResponse(msg)
    refused = Refused(Reason.BAD_SIGNATURE, "the URL check's signature does not match", 403)
    raw = request.url.query.encode()
    return await refuse(
        state, onenet.GATEWAY, refused, peer=peer(request), raw=raw, received_at=_now()
    )


@router.post(
    "/onenet",
    response_model=PushReceipt,
    responses=push_responses(forbidden="msg_signature does not check; dead-lettered"),
    summary="OneNET's data push: answered 200 only once ingest has committed it",
    description="Type 1 (data point) and type 2 (online) messages map through each device's "
    "config.onenet; a platform retry stores nothing twice. Plain or secure (enc_msg) mode.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "plain": {"summary": "Plain mode", "value": _PLAIN},
                        "secure": {"summary": "Secure mode", "value": _SECURE},
                    },
                }
            },
        }
    },
)
async def onenet_push(request: Request) -> Response:
    state = get_state(request)  # called, not a dependency: sync ones run on a thread
    settings = state.settings
    if not settings.onenet_token:
        return problem(404, OFF)
    body = await request.body()
    received_at, who = _now(), peer(request)
    try:
        reports = onenet.open_push(
            body, token=settings.onenet_token, aes_key=settings.onenet_aes_key
        )
    except Refused as refused:
        if refused.status == 503:  # our key is missing: the platform sends again once it is set
            return problem(503, refused.detail)
        return await refuse(
            state, onenet.GATEWAY, refused, peer=who, raw=body, received_at=received_at
        )
    try:
        maps = await state.push_maps.current(state.open_pool, site=settings.site)
    except Unavailable as exc:
        return problem(503, str(exc))
    out = onenet.translate(
        reports, site=settings.site, devices=maps.onenet.get, received_at=received_at
    )
    items = with_problems(state, onenet.GATEWAY, out, peer=who, received_at=received_at)
    ignored = state.push_counters.ignored
    for what, n in (("unmapped", out.ignored), ("offline", out.offline), ("other", out.other)):
        if n:
            ignored[onenet.GATEWAY, what] += n
    return await committed(
        state, onenet.GATEWAY, out, items, ignored=out.ignored + out.offline + out.other
    )


def _now() -> datetime:
    return datetime.now(UTC)
