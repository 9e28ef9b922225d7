"""Liveness and readiness for load balancers and service managers."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

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
async def readyz(request: Request) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        async with request.app.state.pool.connection(timeout=2) as conn:
            await ping(conn)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"down: {exc}"
    checks["broker"] = "ok" if await request.app.state.broker_ok() else "down"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
