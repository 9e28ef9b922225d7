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
from ingest.mqtt_source import MqttSource
from ingest.pipeline import Inbound, Prepared
from ingest.sources import Source

log = logging.getLogger(__name__)

IDLE_S = 0.2
ALARM_POLL_S = 0.01
GATEWAY_BATCHES_AHEAD = 2  # with two lanes, how often an idle preparer and committer look again


class Preparer:
    def __init__(
        self,
        source: MqttSource,
        *,
        alarms: MqttSource | None,
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
        self._handoff: queue.Queue[Handoff] = queue.Queue(maxsize=1)
        self._poll_s = IDLE_S if alarms is None and not gateways else ALARM_POLL_S

    def next(self) -> Handoff | None:
        """For the committer: an alarm batch if one waits, else the next telemetry batch
        within the poll interval (shorter with an alarm lane, so alarms wait less)."""
        try:
            return self._urgent.get_nowait()
        except queue.Empty:
            pass
        try:
            return self._handoff.get(timeout=self._poll_s)
        except queue.Empty:
            return None

    def run(self, stop: threading.Event) -> None:
        """The preparer thread, until ``stop`` is set."""
        waiting: Handoff | None = None
        while not stop.is_set():
            if self._take_gateways():
                continue
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

    def _take_gateways(self) -> bool:
        """False when nothing was taken, or the committer is behind: what waits in a gateway's
        source is bounded there (and unanswered), not here."""
        if self._urgent.qsize() >= GATEWAY_BATCHES_AHEAD:
            return False
        taken = False
        for gateway in self._gateways:
            batch = gateway.next_batch(
                max_size=self._batch_max,
                max_bytes=self._batch_max_bytes,
                wait_s=0.0,
                idle_s=0.0,
            )
            if batch:
                self._urgent.put(self._handoff_of(gateway, batch, copies=False))
                taken = True
        return taken

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
