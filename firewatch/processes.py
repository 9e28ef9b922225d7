"""Starting each process from the other packages; no domain logic lives here.

The processes that serve the API are in firewatch/serving.py, imported only where needed: an
ingest process would carry 15 MB of FastAPI and uvicorn for nothing.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
from collections.abc import Set

from api.metrics import serve_metrics
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
    service = IngestService(settings)
    if settings.ingest_metrics_port:
        serve_metrics(settings.ingest_metrics_port, service.counters)
    service.run(stop)


def _exit_cleanly(*_: object) -> None:
    raise SystemExit(0)


def run_up(
    settings: Settings, *, configured: Set[str] | None = None, stop: threading.Event | None = None
) -> None:
    """Ingest and the API in one process, on embedded services where none is configured or
    reachable (firewatch.embedded); an embedded database is migrated first. ``configured``
    overrides which URLs count as set explicitly (default: those set in the environment)."""
    from firewatch import embedded
    from firewatch.serving import serve_all

    if configured is None:
        configured = embedded.configured_services(settings)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_cleanly)  # unwinds, so embedded services stop
    with embedded.services(settings, configured=configured) as choices:
        if any(choice.embedded and choice.name == "database" for choice in choices):
            run_migrate(settings)
        asyncio.run(serve_all(settings, stop or threading.Event(), IngestService(settings)))
