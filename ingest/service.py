"""Ingest, composed: the preparer thread decodes the next batch while the committer writes the
previous one (ingest/preparer.py, ingest/committer.py); between batches the committer's loop
runs the periodic jobs (ingest/scheduler.py): housekeeping, the alert timers, the partition
refresh and the progress line."""

from __future__ import annotations

import contextlib
import gc
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from alerts.engine import Engine
from contract.codec import Limits
from ingest import housekeeping
from ingest.committer import Committer, WriterSlot
from ingest.counters import IngestCounters
from ingest.mqtt_source import MqttSource
from ingest.outage import Outage
from ingest.partition import WorkerPartition
from ingest.parts import IngestParts
from ingest.pipeline import BatchWriter, Inbound, Prepared, prepare
from ingest.preparer import Preparer
from ingest.registry import RegistryCache
from ingest.scheduler import Scheduler
from ingest.sessions import SessionAlerts, recent_problem
from ingest.shutdown import SHUTDOWN_S, stop_within
from ingest.timers import AlertTimers
from ingest.warmup import warm_engine
from settings import Settings
from store.database import connect
from store.engine_state import open_alert_keys

log = logging.getLogger(__name__)

REPARTITION_EVERY_S = 10.0
PROGRESS_EVERY_S = 10.0
GC_THRESHOLD = 50_000


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_payload_bytes=settings.max_payload_bytes,
        max_frame_bytes=settings.max_frame_bytes,
        future_tolerance=timedelta(seconds=settings.future_tolerance_s),
        stale_after=timedelta(seconds=settings.stale_after_s),
    )


class _CollectorTuning:
    """Ingest makes a few short-lived objects per message and no reference cycles of its own;
    at the default threshold (700 allocations) the collector runs every few messages and
    re-walks each batch. Measured: +10 % throughput. The process's start-up objects are
    frozen out of collection altogether, after a collection: garbage frozen with them would
    never be freed, sockets included. The last run to stop gives them back and the default
    threshold, so a process that runs ingest again (its tests do) frees the MQTT clients of
    the runs before, and their sockets."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs = 0
        self._threshold = gc.get_threshold()

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        with self._lock:
            if self._runs == 0:
                self._threshold = gc.get_threshold()
                gc.collect()
                gc.freeze()
                gc.set_threshold(GC_THRESHOLD, *self._threshold[1:])
            self._runs += 1
        try:
            yield
        finally:
            with self._lock:
                self._runs -= 1
                if self._runs == 0:
                    gc.set_threshold(*self._threshold)
                    gc.unfreeze()


_collector_tuning = _CollectorTuning()


class IngestService:
    def __init__(
        self,
        settings: Settings,
        *,
        before_commit: Callable[[Sequence[Inbound]], None] | None = None,
        before_ack: Callable[[Sequence[Inbound]], None] | None = None,
        parts: IngestParts | None = None,
    ) -> None:
        """The two hooks are fault-injection points for the crash-safety tests;
        ``before_commit`` belongs to the writer, so it goes to ``IngestParts.from_settings``
        when the parts are given."""
        if parts is not None and before_commit is not None:
            raise TypeError("pass before_commit to IngestParts.from_settings with the parts")
        self.settings = settings
        self.limits = limits_from(settings)
        self.counters = IngestCounters()
        self.parts = parts or IngestParts.from_settings(settings, before_commit=before_commit)
        self.database = WriterSlot(self.parts.open_writer, warm_up=self._warm_up)
        self.committer = Committer(
            self.database, prepare=self._prepare, counters=self.counters, before_ack=before_ack
        )
        self.session_alerts = SessionAlerts(settings.site)
        self.timers = AlertTimers(
            self.database,
            engine=self.engine,
            sessions=self._sessions(),
            session_alerts=self.session_alerts,
            counters=self.counters,
            partition=self.partition,
            escalate_after_s=settings.escalate_after_s,
            escalate_max_level=settings.escalate_max_level,
            window_s=settings.correlation_window_s,
        )
        self._connected = False

    @property
    def source(self) -> MqttSource:
        return self.parts.source

    @property
    def alarms(self) -> MqttSource | None:
        return self.parts.alarms

    @property
    def partition(self) -> WorkerPartition | None:
        return self.parts.partition

    @property
    def registry(self) -> RegistryCache:
        return self.parts.registry

    @property
    def engine(self) -> Engine:
        return self.parts.engine

    @property
    def database_ok(self) -> bool:
        return self.database.ok

    @property
    def ready(self) -> bool:
        return all(s.connected for s in self._sessions()) and self.database_ok

    @property
    def session_problem(self) -> str | None:
        """The latest session trouble while it is recent, for /readyz."""
        return recent_problem((s.last_trouble for s in self._sessions()), now=time.time())

    def _sessions(self) -> list[MqttSource]:
        return [self.source] if self.alarms is None else [self.source, self.alarms]

    def _prepare(self, batch: Sequence[Inbound]) -> Prepared:
        partition = self.partition
        return prepare(
            batch,
            now=datetime.now(UTC),
            limits=self.limits,
            registry=self.registry,
            observed_only=partition.assignment.observes_only if partition else None,
        )

    def _warm_up(self, writer: BatchWriter) -> None:
        """Rebuilds the engine's per-device state from the store, so a restart neither forgets a
        rising baseline nor re-raises what is already open."""
        started = time.perf_counter()
        open_alerts = open_alert_keys(writer.conn)
        warmed = warm_engine(
            writer.conn,
            self.engine,
            registry=self.registry,
            now=datetime.now(UTC),
            window=timedelta(seconds=self.settings.engine_warmup_s),
            open_alerts=open_alerts,
            owns=self.partition.assignment.owns_subject if self.partition else None,
        )
        self.session_alerts.remember_open(
            open_alerts,
            client_ids=[s.client_id for s in self._sessions()],
            now=time.time(),
        )
        log.info(
            "engine warmed up from %d stored readings in %.1f s",
            warmed,
            time.perf_counter() - started,
        )

    def connect(self) -> None:
        """Connects and subscribes, or raises ConnectionError saying what to do."""
        if self._connected:
            return
        if self.partition is not None:
            with connect(self.settings.database_url) as conn:
                self.partition.refresh(conn)
        for session in self._sessions():
            session.start()
        if self.partition is not None:
            self.partition.start()
        self._connected = True

    def _schedule(self) -> Scheduler:
        scheduler = Scheduler(Outage(self.counters), lost=self.database.drop)
        scheduler.every(
            "maintenance",
            run=lambda: housekeeping.keep_house(self.database.get(), self.settings),
            every_s=housekeeping.EVERY_S,
        )
        scheduler.every("alert timers", run=self.timers.tick, every_s=self.settings.engine_tick_s)
        partition = self.partition
        if partition is not None:  # connect() has just refreshed it
            scheduler.every(
                "partition refresh",
                run=lambda: partition.follow(self.database.get().conn, self.engine),
                every_s=REPARTITION_EVERY_S,
                first_now=False,
            )
        scheduler.every(
            "progress",
            run=lambda: log.info("ingest: %s", self.counters.summary()),
            every_s=PROGRESS_EVERY_S,
            uses_database=False,
            first_now=False,
        )
        return scheduler

    def run(self, stop: threading.Event) -> None:
        """Runs until ``stop`` is set; only an unreachable broker at start-up raises."""
        self.connect()
        with _collector_tuning.held():
            self._run(stop)

    def _run(self, stop: threading.Event) -> None:
        log.info("ingest subscribed to %s", self.source.subscription)
        preparer = Preparer(
            self.source,
            alarms=self.alarms,
            gateways=self.parts.gateways,
            prepare=self._prepare,
            batch_max=self.settings.ingest_batch_max,
            batch_max_bytes=self.settings.ingest_batch_max_bytes,
            batch_wait_s=self.settings.ingest_batch_wait_ms / 1000,
        )
        preparing = threading.Thread(
            target=preparer.run, args=(stop,), name="ingest-prepare", daemon=True
        )
        preparing.start()
        scheduler = self._schedule()
        try:
            while not stop.is_set():
                scheduler.run_due()
                item = preparer.next()
                if item is not None and not self.committer.commit(item, stop):
                    break  # stopping: the broker redelivers this batch to the next run
        finally:
            stop.set()
            self._shut_down(preparing)

    def _shut_down(self, preparing: threading.Thread) -> None:
        parts: list[tuple[str, Callable[[], None]]] = [("preparer", preparing.join)]
        if self.partition is not None:
            parts.append(("unrouted watcher", self.partition.stop))
        parts.append(("MQTT session", self.source.stop))
        if self.alarms is not None:
            parts.append(("alarm MQTT session", self.alarms.stop))
        parts += [
            ("gateway inbox", self.parts.inbox.stop),
            ("database writer", self.database.drop),
            ("registry", self.registry.close),
        ]
        stop_within(parts, seconds=SHUTDOWN_S)
