"""The processes that serve the API: alone, or beside ingest in one process."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Iterator

import uvicorn

from api.app import create_app
from dispatch import loop as dispatch_loop
from dispatch.sender import Sender
from gateways import mapped_mqtt
from gateways.gb26875 import running as gb26875
from ingest.metrics import IngestCollector
from ingest.service import IngestService
from settings import Settings

# Live alert streams never end by themselves: on shutdown they get this long, then are cut.
GRACE_S = 3
STOP_POLL_S = 0.1


def run_api(settings: Settings) -> None:
    uvicorn.run(
        create_app(settings),
        host=settings.api_host,
        port=settings.api_port,
        timeout_graceful_shutdown=GRACE_S,
    )


class _Server(uvicorn.Server):
    """A server that leaves signals to the process (firewatch/processes.py's Stopping), whose
    handler must run even while the server shuts down; it stops when ``stop`` is set."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_all(
    settings: Settings, stop: threading.Event, service: IngestService, *, own_signals: bool = True
) -> None:
    """Ingest (in a thread: paho and the COPY writer are blocking) beside the API, the
    notification sender (threads too) and the dispatch loop (escalation, automatic dispatch).
    Setting ``stop`` stops them all; ``own_signals=False`` leaves SIGTERM and SIGINT to the
    caller."""

    async def broker_ok() -> bool:
        return service.source.connected

    server = (uvicorn.Server if own_signals else _Server)(
        uvicorn.Config(
            create_app(
                settings,
                broker_ok=broker_ok,
                collectors=[
                    IngestCollector(service.counters),
                    *mapped_mqtt.collectors(service.parts.local_gateways),
                    *gb26875.collectors(service.parts.local_gateways),
                ],
                session_problem=lambda: service.session_problem,
            ),
            host=settings.api_host,
            port=settings.api_port,
            log_level="warning",
            timeout_graceful_shutdown=GRACE_S,
        )
    )

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

    async def dispatcher() -> None:
        try:
            await asyncio.to_thread(Sender(settings).run, stop)
        finally:
            server.should_exit = True

    async def escalations() -> None:
        try:
            await dispatch_loop.run(settings, stop)
        finally:
            server.should_exit = True

    async def follow_stop() -> None:
        while not stop.is_set() and not server.should_exit:
            await asyncio.sleep(STOP_POLL_S)
        server.should_exit = True

    await asyncio.to_thread(service.connect)  # a missing broker stops us before the API starts
    if stop.is_set():
        return
    async with asyncio.TaskGroup() as tasks:
        tasks.create_task(ingest(), name="ingest")
        tasks.create_task(api(), name="api")
        tasks.create_task(dispatcher(), name="dispatcher")
        tasks.create_task(escalations(), name="dispatch-loop")
        tasks.create_task(follow_stop(), name="follow-stop")
