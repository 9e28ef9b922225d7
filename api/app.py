"""The FastAPI app factory; its lifespan owns the connection pools."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool
from starlette.requests import ClientDisconnect

from api.alert_stream import AlertStream
from api.errors import add_registry_errors
from api.limits import RequestGuard, client_gone
from api.metrics import registry_for
from api.routers import (
    alerts,
    buildings,
    camera_credentials,
    dashboard,
    device_bulk,
    device_models,
    devices,
    dispatches,
    docs,
    field,
    gateways_isapi,
    health,
    incident_cameras,
    incidents,
    me,
    monthly_report,
    overview,
    pending,
    platform_push,
    readings,
    reports,
    rosters,
    users,
    wall,
)
from api.schemas import Problem
from api.state import AppState
from api.validation import validation_error
from gateways.carrier import InboxCarrier
from settings import MqttTarget, Settings

POOL_MAX = 10
AUTH_POOL_MAX = 3


def broker_reachable(target: MqttTarget) -> Callable[[], Awaitable[bool]]:
    """Readiness of the broker for an API running without ingest in its process."""

    async def probe() -> bool:
        try:
            _, writer = await asyncio.wait_for(
                asyncio.open_connection(target.host, target.port), timeout=1.0
            )
        except (OSError, TimeoutError):
            return False
        writer.close()
        return True

    return probe


def create_app(
    settings: Settings,
    *,
    broker_ok: Callable[[], Awaitable[bool]] | None = None,
    session_problem: Callable[[], str | None] | None = None,
    collectors: Sequence[Collector] = (),
) -> FastAPI:
    """``collectors``: more for /metrics (ingest's, when it runs in this process);
    ``session_problem``: its broker session's recent trouble, which /readyz reports."""
    stream = AlertStream(settings.database_url)
    state = AppState(
        settings=settings,
        alert_stream=stream,
        metrics=registry_for(
            sse_clients=lambda: stream.clients,
            database_url=settings.database_url,
            collectors=collectors,
        ),
        broker_ok=broker_ok or broker_reachable(settings.mqtt),
        session_problem=session_problem,
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=POOL_MAX, open=False)
        # Token checks have their own: a route holds its connection while its token is
        # checked, so with one pool a burst of requests held every connection, each waiting
        # for a second one (PoolTimeout, a 500, after 30 s).
        auth_pool = AsyncConnectionPool(
            settings.database_url, min_size=1, max_size=AUTH_POOL_MAX, open=False
        )
        await pool.open()
        await auth_pool.open()
        state.pool, state.auth_pool = pool, auth_pool
        carrier = InboxCarrier(settings.database_url, timeout_s=settings.gateway_commit_timeout_s)
        await carrier.start()
        state.gateway_carrier = carrier
        streaming = asyncio.create_task(stream.run(), name="alert-stream")
        try:
            yield
        finally:
            await carrier.stop()
            state.gateway_carrier = None
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
            await auth_pool.close()
            await pool.close()
            state.pool = state.auth_pool = None

    app = FastAPI(
        title="Firewatch",
        version="0.1.0",
        summary="Fire-safety monitoring for the Zilai Street old quarter",
        lifespan=lifespan,
        docs_url=None,  # served offline by api/routers/docs.py
        redoc_url=None,
        # Any request may be refused for its size before a route sees it (api/limits.py).
        responses={
            # FastAPI's own answer to a body it cannot read at all (not JSON's syntax: a 422).
            400: {"model": Problem, "description": "The body could not be parsed"},
            413: {"model": Problem, "description": "The body is over the route's limit"},
        },
    )
    app.add_middleware(RequestGuard)
    app.state.firewatch = state
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(ClientDisconnect, client_gone)
    add_registry_errors(app)
    # In order: routes are matched in the order they are added.
    for routes in (
        health,
        platform_push,  # early: platforms push hundreds of times a second
        docs,
        # Before devices: /devices/import, /export and /pending are not device ids.
        device_bulk,
        pending,
        devices,
        device_models,
        buildings,
        rosters,
        users,
        me,
        alerts,
        incidents,
        incident_cameras,
        camera_credentials,
        dispatches,
        field,
        overview,
        readings,
        reports,
        monthly_report,
        dashboard,
        wall,
        gateways_isapi,
    ):
        app.include_router(routes.router)
    return app
