"""China Telecom CTWing's (AEP) subscription push (docs/gateways.md): data reports, event
reports and online/offline reports, answered 200 only once ingest committed them."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.gateway_push import (
    PushReceipt,
    committed,
    peer,
    problem,
    push_responses,
    refuse,
    with_problems,
)
from api.state import get_state
from gateways import ctwing
from gateways.platform_mapping import Unavailable
from gateways.push_targets import Refused

router = APIRouter(prefix="/api/v1/gateways", tags=["gateways"])

OFF = "the CTWing push is off: set FIREWATCH_CTWING_APP_SECRET to the application's secret"

_DATA_REPORT = {
    "upPacketSN": -1,
    "upDataSN": -1,
    "topic": "v1/up/ad",
    "timestamp": 1764906000000,
    "tenantId": "2000033827",
    "serviceId": "",
    "protocol": "lwm2m",
    "productId": "15045240",
    "payload": {"serviceId": "smoke", "serviceData": {"smoke_state": 1, "battery_value": 87}},
    "messageType": "dataReport",
    "deviceType": "",
    "deviceId": "d01308047f864601a821e02dc328eab4",
    "assocAssetId": "",
    "IMSI": "undefined",
    "IMEI": "861941770261953",
}
_ONLINE = {
    "timestamp": 1764906000000,
    "tenantId": "2000033827",
    "protocol": "lwm2m",
    "productId": "15045240",
    "messageType": "deviceOnlineOfflineReport",
    "iccid": "undefined",
    "eventType": 1,
    "deviceId": "d01308047f864601a821e02dc328eab4",
}


@router.post(
    "/ctwing",
    response_model=PushReceipt,
    responses=push_responses(forbidden="The signature headers do not check; dead-lettered"),
    summary="CTWing's subscription push: answered 200 only once ingest has committed it",
    description="Signed with headers application, timestamp and signature = "
    "Base64(HMAC-SHA1(application secret, 'application:{application}\\ntimestamp:{timestamp}"
    "\\n' + body)). Reports map through each device's config.ctwing; a platform retry stores "
    "nothing twice.",
    openapi_extra={
        "parameters": [
            {"name": name, "in": "header", "required": True, "schema": {"type": "string"}}
            for name in ("application", "timestamp", "signature")
        ],
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object"},
                    "examples": {
                        "dataReport": {"summary": "A data report", "value": _DATA_REPORT},
                        "online": {"summary": "A device online", "value": _ONLINE},
                    },
                }
            },
        },
    },
)
async def ctwing_push(request: Request) -> Response:
    state = get_state(request)  # called, not a dependency: sync ones run on a thread
    settings = state.settings
    if not settings.ctwing_app_secret:
        return problem(404, OFF)
    body = await request.body()
    received_at, who = datetime.now(UTC), peer(request)
    try:
        ctwing.check(settings.ctwing_app_secret, headers=request.headers, body=body)
        report = ctwing.open_push(body)
    except Refused as refused:
        return await refuse(
            state, ctwing.GATEWAY, refused, peer=who, raw=body, received_at=received_at
        )
    try:
        maps = await state.push_maps.current(state.open_pool, site=settings.site)
    except Unavailable as exc:
        return problem(503, str(exc))
    out = ctwing.translate(
        report, site=settings.site, devices=maps.ctwing.get, received_at=received_at
    )
    items = with_problems(state, ctwing.GATEWAY, out, peer=who, received_at=received_at)
    ignored = state.push_counters.ignored
    for what, n in (("unmapped", out.ignored), ("offline", out.offline), ("other", out.other)):
        if n:
            ignored[ctwing.GATEWAY, what] += n
    return await committed(
        state, ctwing.GATEWAY, out, items, ignored=out.ignored + out.offline + out.other
    )
