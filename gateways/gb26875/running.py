"""How a process runs the GB/T 26875.3 server: beside ingest, handing over in memory
(``firewatch ingest``, ``firewatch up``), or alone, through the gateway inbox (``firewatch
gateway gb26875``)."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Sequence

from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.registry import Collector

from gateways.carrier import Carrier, InboxCarrier, LocalCarrier
from gateways.gb26875.server import Gb26875Collector, Gb26875Metrics, server_from
from ingest.local_source import LocalSource
from settings import Settings

log = logging.getLogger(__name__)

# Messages waiting for ingest's committer; a fuller queue is "not carried", and devices send
# again. Two seconds of the bench's rate, several packets per device for a quarter.
LOCAL_CAPACITY = 20_000


class SettingsConflict(RuntimeError):
    """The settings ask for something this process cannot do; the message says what to run."""


def local_source() -> LocalSource:
    return LocalSource(capacity=LOCAL_CAPACITY)


class Gb26875Source(LocalSource):
    """Ingest's source for the server in its process, holding the server's metrics, so that
    whoever serves /metrics finds them among ingest's sources (:func:`collectors`)."""

    def __init__(self) -> None:
        super().__init__(capacity=LOCAL_CAPACITY)
        self.metrics = Gb26875Metrics()


def beside_ingest(settings: Settings) -> list[Gb26875Source]:
    """The source for ingest's parts when FIREWATCH_GB26875_PORT is set (start the server with
    :func:`start`); none otherwise. Partitioned ingest workers each own some devices, and a
    transmission device's packet holds several: the server must then run alone."""
    if not settings.gb26875_port:
        return []
    if settings.ingest_workers > 1:
        raise SettingsConflict(
            f"FIREWATCH_GB26875_PORT is set but ingest runs as {settings.ingest_workers} "
            "workers (FIREWATCH_INGEST_WORKERS): run the server alone with 'firewatch gateway "
            "gb26875' and leave FIREWATCH_GB26875_PORT unset for the ingest workers"
        )
    return [Gb26875Source()]


def start(settings: Settings, sources: Sequence[object], stop: threading.Event) -> None:
    for source in sources:
        if isinstance(source, Gb26875Source):
            start_beside_ingest(settings, source, stop, metrics=source.metrics)


def collectors(sources: Sequence[object]) -> list[Collector]:
    return [Gb26875Collector(s.metrics) for s in sources if isinstance(s, Gb26875Source)]


def serve_metrics(port: int, metrics: Gb26875Metrics) -> None:
    """/metrics for the server alone, from a daemon thread."""
    registry = CollectorRegistry()
    registry.register(Gb26875Collector(metrics))
    start_http_server(port, registry=registry)
    log.info("GB/T 26875.3 metrics on http://0.0.0.0:%d/metrics", port)


async def serve(
    settings: Settings,
    carrier: Carrier,
    stop: threading.Event,
    *,
    metrics: Gb26875Metrics,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Listens on FIREWATCH_GB26875_HOST:PORT until ``stop`` is set."""
    server = server_from(settings, carrier, metrics)
    port = await server.start(settings.gb26875_host, settings.gb26875_port)
    log.info("GB/T 26875.3 server on %s:%d", settings.gb26875_host, port)
    if ready is not None:
        ready(port)
    await server.serve_until(stop)


def start_beside_ingest(
    settings: Settings,
    source: LocalSource,
    stop: threading.Event,
    *,
    metrics: Gb26875Metrics,
    ready: Callable[[int], None] | None = None,
) -> threading.Thread:
    """The server's event loop in a thread of its own, handing over to ``source`` (one of
    ingest's). A server that cannot listen stops the whole process: ``stop`` is set."""
    carrier = LocalCarrier(source, timeout_s=settings.gateway_commit_timeout_s)

    def run() -> None:
        try:
            asyncio.run(serve(settings, carrier, stop, metrics=metrics, ready=ready))
        except BaseException:
            log.exception("the GB/T 26875.3 server stopped; stopping the process")
            stop.set()

    thread = threading.Thread(target=run, name="gb26875", daemon=True)
    thread.start()
    return thread


async def standalone(
    settings: Settings,
    stop: threading.Event,
    *,
    metrics: Gb26875Metrics,
    ready: Callable[[int], None] | None = None,
) -> None:
    """Alone: what the server hands over is committed to the gateway inbox, which ingest
    reads; a confirm still waits for ingest's commit."""
    carrier = InboxCarrier(settings.database_url, timeout_s=settings.gateway_commit_timeout_s)
    await carrier.start()
    try:
        await serve(settings, carrier, stop, metrics=metrics, ready=ready)
    finally:
        await carrier.stop()
