"""What the NB-IoT platform push routes share (api/routers/gateways_onenet.py, _ctwing.py):
carrying a push to ingest, answering 200 only once it is committed, and the refusals.

Platforms cannot sign in, so these routes take no token; each push proves itself by its
platform's signature. A push that cannot be taken is dead-lettered as it came (carried like
any message) before it is answered, so nothing refused is lost from view either.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson
from fastapi import Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from api.schemas import Problem
from api.state import AppState
from contract.messages import Reason
from gateways import messages
from gateways.carrier import NotCarried
from gateways.push_targets import Refused, Translated
from ingest.pipeline import Inbound
from store.dead_letters import PAYLOAD_KEEP_BYTES

RETRY_AFTER_S = 5
PROBLEM_RAW_MAX = 64 * 1024  # a refused message's own report, as dead-lettered


class PushReceipt(BaseModel):
    """What ingest committed of the push; the platform needs only the 200."""

    messages: int = Field(description="Contract messages made and committed")
    refused: int = Field(description="Messages of the push dead-lettered (see the dead letters)")
    ignored: int = Field(description="Fields no device config maps, offline reports, others")


def problem(status: int, detail: str) -> JSONResponse:
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def push_responses(*, forbidden: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI answers of a push route besides its 200 (413 is the app's, for every route)."""
    return {
        400: {"model": Problem, "description": "The body is not a push; dead-lettered"},
        403: {"model": Problem, "description": forbidden},
        404: {"model": Problem, "description": "The gateway is off: the answer names the setting"},
        503: {
            "model": Problem,
            "description": f"Ingest did not commit in time; send again (Retry-After: "
            f"{RETRY_AFTER_S} s). What was handed over is stored once.",
            "headers": {"Retry-After": {"schema": {"type": "integer"}}},
        },
    }


def peer(request: Request) -> str:
    return request.client.host if request.client is not None else "unknown"


async def carry(state: AppState, gateway: str, items: Sequence[Inbound]) -> JSONResponse | None:
    """None once ingest has committed ``items``; the 503 to answer when it has not."""
    try:
        await state.carrier.carry(items, gateway=gateway)
    except NotCarried as exc:
        state.push_counters.answered[gateway, 503] += 1
        return problem(503, f"not stored yet: {exc}")
    return None


async def refuse(
    state: AppState,
    gateway: str,
    refused: Refused,
    *,
    peer: str,
    raw: bytes,
    received_at: datetime,
) -> JSONResponse:
    """Dead-letters the push as it came (its first bytes, as a dead letter keeps) and answers
    its refusal (or 503 if not carried). Beyond the refusal budget, a burst of them from the
    internet is only counted."""
    if not state.push_refusals.may_record():
        state.push_counters.ignored[gateway, "refusal_over_budget"] += 1
        state.push_counters.answered[gateway, refused.status] += 1
        return problem(refused.status, refused.detail)
    item = messages.refusal(
        gateway,
        state.settings.site,
        peer=peer,
        reason=refused.reason,
        detail=refused.detail,
        raw=raw[:PAYLOAD_KEEP_BYTES],
        received_at=received_at,
    )
    not_carried = await carry(state, gateway, [item])
    if not_carried is not None:
        return not_carried
    state.push_counters.refused[gateway, refused.reason.value] += 1
    state.push_counters.answered[gateway, refused.status] += 1
    return problem(refused.status, refused.detail)


def with_problems(
    state: AppState, gateway: str, out: Translated, *, peer: str, received_at: datetime
) -> list[Inbound]:
    """The push's messages and a dead letter (reason schema) for each report it could not use."""
    refusals = [
        messages.refusal(
            gateway,
            state.settings.site,
            peer=peer,
            reason=Reason.SCHEMA,
            detail=detail,
            raw=_raw(report),
            received_at=received_at,
        )
        for detail, report in out.problems
    ]
    return [*out.items, *refusals]


def _raw(report: Any) -> bytes:
    try:
        raw = orjson.dumps(report)
    except TypeError:  # an integer beyond 64 bits: orjson's limit, not JSON's
        raw = repr(report).encode()
    return raw[:PROBLEM_RAW_MAX]


async def committed(
    state: AppState, gateway: str, out: Translated, items: Sequence[Inbound], *, ignored: int
) -> Response:
    """Carries the push's messages; the receipt (a PushReceipt, written directly: platforms
    push hundreds of times a second) once committed, the 503 otherwise."""
    not_carried = await carry(state, gateway, items)
    if not_carried is not None:
        return not_carried
    counters = state.push_counters
    counters.answered[gateway, 200] += 1
    counters.messages[gateway] += len(out.items)
    if out.problems:
        counters.refused[gateway, Reason.SCHEMA.value] += len(out.problems)
    receipt = {"messages": len(out.items), "refused": len(out.problems), "ignored": ignored}
    return Response(orjson.dumps(receipt), media_type="application/json")
