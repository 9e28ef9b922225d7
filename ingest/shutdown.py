"""Stopping ingest's parts within a bound, so that a SIGTERM always ends the process."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

SHUTDOWN_S = 5.0  # ingest's own parts, within the process's 8 s (firewatch/processes.py)


def stop_within(parts: Sequence[tuple[str, Callable[[], None]]], *, seconds: float) -> None:
    """Stops each named part in order, all within ``seconds``: a part still stopping by then
    (a join on a stuck MQTT thread, a close on a silent database) is logged and left behind."""
    deadline = time.monotonic() + seconds
    for name, part in parts:
        stopping = threading.Thread(target=part, name=f"stop-{name}", daemon=True)
        stopping.start()
        stopping.join(max(0.0, deadline - time.monotonic()))
        if stopping.is_alive():
            log.error("ingest: the %s did not stop within %.0f s; left behind", name, seconds)
