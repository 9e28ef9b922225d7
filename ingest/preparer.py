"""The preparing side of the loop: takes batches from the sessions and decodes and validates
them while the committer writes the previous one, so Python's CPU time overlaps the
database's. Alarm batches go out as soon as they come, even while a telemetry batch waits for
the committer (ingest/lanes.py)."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from ingest.lanes import EventCopies, Handoff
from ingest.pipeline import Inbound, Prepared
from ingest.sources import Source

log = logging.getLogger(__name__)

IDLE_S = 0.2
ALARM_POLL_S = 0.01  # with an alarm lane or gateways, how often idle threads look again
GATEWAY_BATCHES_AHEAD = 2  # prepared gateway batches waiting for the committer, at most
GATEWAY_STREAK = 2  # gateway batches committed in a row while a telemetry batch waits


class Preparer:
    def __init__(
        self,
        source: Source,
        *,
        alarms: Source | None,
        gateways: Sequence[Source] = (),
        prepare: Callable[[Sequence[Inbound]], Prepared],
        batch_max: int,
        batch_max_bytes: int,
        batch_wait_s: float,
    ) -> None:
        self._source = source
        self._alarms = alarms
        # Gateways' messages are few and mostly state changes (a panel's fire alarm): like
        # alarms, ahead of telemetry; each comes once, so no copies to skip.
        self._gateways = tuple(gateways)
        self._prepare = prepare
        self._batch_max = batch_max
        self._batch_max_bytes = batch_max_bytes
        self._batch_wait_s = batch_wait_s
        self._copies = EventCopies()
        self._urgent: queue.SimpleQueue[Handoff] = queue.SimpleQueue()
        self._gateway_q: queue.SimpleQueue[Handoff] = queue.SimpleQueue()
        self._gateway_streak = 0  # gateway batches committed in a row while telemetry waited
        self._handoff: queue.Queue[Handoff] = queue.Queue(maxsize=1)
        self._poll_s = IDLE_S if alarms is None and not self._gateways else ALARM_POLL_S

    def next(self) -> Handoff | None:
        """For the committer: an alarm batch if one waits; else a gateway's batch, but never
        more than GATEWAY_STREAK in a row while telemetry waits (a busy gateway must not starve
        the readings that raise pre-alarms); else the next telemetry batch within the poll
        interval (shorter with an alarm lane or gateways, so their batches wait less)."""
        try:
            return self._urgent.get_nowait()
        except queue.Empty:
            pass
        if self._gateway_streak < GATEWAY_STREAK or self._handoff.empty():
            try:
                item = self._gateway_q.get_nowait()
            except queue.Empty:
                pass
            else:
                self._gateway_streak += 1
                return item
        try:
            item = self._handoff.get(timeout=self._poll_s)
        except queue.Empty:
            return None
        self._gateway_streak = 0
        return item

    def run(self, stop: threading.Event) -> None:
        """The preparer thread, until ``stop`` is set."""
        waiting: Handoff | None = None
        while not stop.is_set():
            self._take_gateways()
            if self._alarms is not None:
                alarms = self._alarms.next_batch(
                    max_size=self._batch_max,
                    max_bytes=self._batch_max_bytes,
                    wait_s=0.0,
                    idle_s=0.0,
                )
                if alarms:
                    self._urgent.put(self._handoff_of(self._alarms, alarms))
                    continue
            if waiting is not None:
                try:
                    self._handoff.put(waiting, timeout=self._poll_s)
                    waiting = None
                except queue.Full:
                    pass
                continue
            batch = self._source.next_batch(
                max_size=self._batch_max,
                max_bytes=self._batch_max_bytes,
                wait_s=self._batch_wait_s,
                idle_s=self._poll_s,
            )
            if batch:
                waiting = self._handoff_of(self._source, batch)

    def _take_gateways(self) -> None:
        """Nothing while the committer is behind: what waits in a gateway's source is bounded
        there (and unanswered), not here. A source that raises (it should not) is skipped."""
        for gateway in self._gateways:
            if self._gateway_q.qsize() >= GATEWAY_BATCHES_AHEAD:
                return
            try:
                batch = gateway.next_batch(
                    max_size=self._batch_max,
                    max_bytes=self._batch_max_bytes,
                    wait_s=0.0,
                    idle_s=0.0,
                )
            except Exception:
                log.exception("a gateway's source failed; its messages wait unanswered")
                continue
            if batch:
                self._gateway_q.put(self._handoff_of(gateway, batch, copies=False))

    def _handoff_of(self, source: Source, batch: list[Inbound], *, copies: bool = True) -> Handoff:
        """A batch the preparer cannot prepare (database away, a bug) goes on unprepared;
        the committer then prepares it itself, with its retries and its halving."""
        keep = batch if self._alarms is None or not copies else self._copies.first_copies(batch)
        prepared: Prepared | None = None
        if keep:
            try:
                prepared = self._prepare(keep)
            except Exception:
                log.warning("preparing a batch of %d failed; the committer retries", len(keep))
        return Handoff(source, batch, keep, prepared)
