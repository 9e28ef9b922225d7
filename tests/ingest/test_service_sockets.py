"""Ingest run and stopped in a process that goes on (as its tests do, and ``firewatch up`` when
it restarts ingest) leaves no socket of its own behind: its freeze of the garbage collector
once kept every stopped MQTT client, with paho's socket pair, out of collection for good."""

from __future__ import annotations

import gc
import threading

from firewatch.testing import open_sockets, wait_until
from ingest.service import IngestService
from settings import Settings


def _run_and_stop(settings: Settings) -> None:
    service = IngestService(settings)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest", daemon=True)
    thread.start()
    wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "ingest did not stop"


def test_a_stopped_ingest_leaves_no_socket_open(settings: Settings) -> None:
    threshold = gc.get_threshold()
    gc.collect()
    before = open_sockets()
    for _ in range(3):
        _run_and_stop(settings)
    gc.collect()
    assert open_sockets() == before
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold() == threshold
