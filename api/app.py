"""The FastAPI app factory; its lifespan owns the connection pool."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI
from psycopg_pool import AsyncConnectionPool

from api.alert_stream import AlertStream
from api.routers import alerts, devices, health
from firewatch.settings import MqttTarget, Settings


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
    settings: Settings, *, broker_ok: Callable[[], Awaitable[bool]] | None = None
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = AsyncConnectionPool(settings.database_url, min_size=1, max_size=10, open=False)
        await pool.open()
        app.state.pool = pool
        stream = app.state.alert_stream = AlertStream(settings.database_url)
        streaming = asyncio.create_task(stream.run(), name="alert-stream")
        try:
            yield
        finally:
            streaming.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await streaming
            await pool.close()

    app = FastAPI(
        title="Firewatch",
        version="0.1.0",
        summary="Fire-safety monitoring for the Zilai Street old quarter",
        lifespan=lifespan,
    )
    app.state.broker_ok = broker_ok or broker_reachable(MqttTarget(settings.mqtt_url))
    app.include_router(health.router)
    app.include_router(devices.router)
    app.include_router(alerts.router)
    return app
