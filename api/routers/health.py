"""Liveness, readiness and metrics, for load balancers, service managers and Prometheus."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from api.state import State
from store.database import ping

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="The process is alive")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and broker are connected",
    responses={503: {"description": "Not ready; the body says which part is down"}},
)
async def readyz(state: State) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        async with state.open_pool.connection(timeout=2) as conn:
            await ping(conn)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {exc}"
    checks["broker"] = "ok" if await state.broker_ok() else "down"
    if state.session_problem is not None:  # ingest runs in this process
        checks["mqtt_session"] = state.session_problem() or "ok"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "The Prometheus text format"}
    },
)
async def metrics(state: State) -> Response:
    # In a thread: the table sizes are read from the database at scrape time (api/metrics.py).
    text = await asyncio.to_thread(generate_latest, state.metrics)
    return Response(text, media_type=CONTENT_TYPE_LATEST)
