"""The NB-IoT platforms' push routes under one router, so the app factory includes them once."""

from __future__ import annotations

from fastapi import APIRouter

from api.routers import gateways_ctwing, gateways_onenet

router = APIRouter()
router.include_router(gateways_onenet.router)
router.include_router(gateways_ctwing.router)
