"""Starting each process from the other packages; no domain logic lives here."""

from __future__ import annotations

import asyncio
import logging
import signal
import threading

import uvicorn

from api.app import create_app
from firewatch.settings import Settings
from ingest.service import IngestService
from store.database import connect, ensure_database
from store.migrate import migrate

log = logging.getLogger("firewatch")


def run_migrate(settings: Settings) -> None:
    if ensure_database(settings.database_url):
        print("created the database")
    with connect(settings.database_url) as conn:
        applied = migrate(conn)
    print(f"applied {len(applied)} migration(s)" if applied else "schema is up to date")


def run_ingest(settings: Settings) -> None:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    IngestService(settings).run(stop)


def run_api(settings: Settings) -> None:
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)


async def serve_all(settings: Settings, stop: threading.Event, service: IngestService) -> None:
    """Ingest (in a thread: paho and the COPY writer are blocking) beside the API."""

    async def broker_ok() -> bool:
        return service.source.connected

    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, broker_ok=broker_ok),
            host=settings.api_host, port=settings.api_port, log_level="warning",
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


def run_up(settings: Settings) -> None:
    asyncio.run(serve_all(settings, threading.Event(), IngestService(settings)))
