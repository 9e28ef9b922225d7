from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from firewatch.testing import wait_until
from ingest.parts import IngestParts
from ingest.service import IngestService
from settings import Settings


def wait_received(service: IngestService, count: int, timeout: float = 15) -> None:
    wait_until(
        lambda: service.counters.received >= count,
        timeout=timeout,
        what=f"ingest to receive {count} messages (has {service.counters.received})",
    )


def scalar(conn: psycopg.Connection[Any], query: str, *params: object) -> Any:
    row = conn.execute(query, params).fetchone()
    assert row is not None
    return row[0]


@contextmanager
def running(settings: Settings, *, parts: IngestParts | None = None) -> Iterator[IngestService]:
    """An ingest service in a thread (of the given parts, if any), stopped (as a restart would)
    on leaving."""
    service = IngestService(settings, parts=parts)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest", daemon=True)
    thread.start()
    try:
        wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
        yield service
    finally:
        stop.set()
        thread.join(timeout=20)
    assert not thread.is_alive(), "ingest did not stop"
