"""A gateway running inside the ingest process hands its messages over here.

Each hand-over carries a :class:`Receipt`; the committer's acknowledgement counts it down, and
the gateway answers its peer (a GB/T 26875.3 confirm) only once every message of the hand-over
is committed. A message still queued when ingest stops was never answered, so its peer sends
it again."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from ingest.batching import fill
from ingest.pipeline import Inbound

log = logging.getLogger(__name__)

GAP_S = 0.002


class Receipt:
    """Counts a hand-over's messages down as their batches commit; ``on_done`` runs once, on
    the committer's thread, when the last one has."""

    __slots__ = ("_left", "_lock", "_on_done")

    def __init__(self, count: int, *, on_done: Callable[[], None]) -> None:
        self._left = count
        self._lock = threading.Lock()
        self._on_done = on_done

    def one_done(self) -> None:
        with self._lock:
            self._left -= 1
            finished = self._left == 0
        if finished:
            self._on_done()


class Full(Exception):
    """Ingest is behind: the gateway should refuse or delay rather than queue without bound."""


class LocalSource:
    def __init__(self, *, capacity: int) -> None:
        self._queue: queue.Queue[Inbound] = queue.Queue(maxsize=capacity)
        self._lock = threading.Lock()

    def put(self, items: Sequence[Inbound], *, on_done: Callable[[], None]) -> None:
        """Queues the items as one hand-over, all or none; raises Full when they do not fit."""
        receipt = Receipt(len(items), on_done=on_done)
        with self._lock:  # all or none: no other hand-over interleaves its room check
            if self._queue.maxsize - self._queue.qsize() < len(items):
                raise Full(f"ingest has {self._queue.qsize()} gateway messages waiting")
            for item in items:
                item.token = receipt
                self._queue.put_nowait(item)

    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        try:
            first = self._queue.get(timeout=idle_s) if idle_s > 0 else self._queue.get_nowait()
        except queue.Empty:
            return []
        return fill(
            first,
            self._queue,
            max_size=max_size,
            max_bytes=max_bytes,
            wait_s=wait_s,
            gap_s=GAP_S,
        )

    def ack(self, batch: Sequence[Inbound]) -> int:
        done = 0
        for item in batch:
            if isinstance(item.token, Receipt):
                try:
                    item.token.one_done()
                except Exception:  # a gateway that has gone away: its peer sends again
                    log.exception("a gateway could not be told its messages were committed")
                done += 1
        return done
