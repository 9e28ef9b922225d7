"""How a source fills a batch once its first message has come: one rule for every source."""

from __future__ import annotations

import queue
import time

from ingest.pipeline import Inbound


def fill(
    first: Inbound,
    waiting: queue.SimpleQueue[Inbound] | queue.Queue[Inbound],
    *,
    max_size: int,
    max_bytes: int,
    wait_s: float,
    gap_s: float,
) -> list[Inbound]:
    """Collects after ``first`` until ``max_size`` messages or ``max_bytes`` of payload,
    ``wait_s`` has passed, or nothing has come for ``gap_s``: under load batches fill, and a
    lone alarm is not held back."""
    batch, size = [first], len(first.payload)
    deadline = time.monotonic() + wait_s
    while len(batch) < max_size and size < max_bytes:
        try:
            item = waiting.get_nowait()
        except queue.Empty:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                item = waiting.get(timeout=min(remaining, gap_s))
            except queue.Empty:
                break
        batch.append(item)
        size += len(item.payload)
    return batch
