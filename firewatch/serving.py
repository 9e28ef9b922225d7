"""The processes that serve the API: alone, or beside ingest in one process."""

from __future__ import annotations

import asyncio
import threading

import uvicorn

from api.app import create_app
from firewatch.settings import Settings
from ingest.service import IngestService

# Live alert streams never end by themselves: on shutdown they get this long, then are cut.
GRACE_S = 3


def run_api(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port,
        timeout_graceful_shutdown=GRACE_S,
    )  # fmt: skip


async def serve_all(settings: Settings, stop: threading.Event, service: IngestService) -> None:
    """Ingest (in a thread: paho and the COPY writer are blocking) beside the API."""

    async def broker_ok() -> bool:
        return service.source.connected

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, broker_ok=broker_ok, ingest_counters=service.counters,
                       session_problem=lambda: service.session_problem),
            host=settings.api_host, port=settings.api_port, log_level="warning",
            timeout_graceful_shutdown=GRACE_S,
        )
    )  # fmt: skip

    async def api() -> None:
        try:
            await server.serve()
        finally:
            stop.set()

    async def ingest() -> None:
        try:
            await asyncio.to_thread(service.run, stop)
        finally:
            server.should_exit = True

    await asyncio.to_thread(service.connect)  # a missing broker stops us before the API starts
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(ingest(), name="ingest")
        tasks.create_task(api(), name="api")
