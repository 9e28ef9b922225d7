"""The consumer loop: batch, write, commit, then acknowledge; retry what the database refused.

Two threads share the work: the preparer decodes and validates the next batch while the
committer writes the previous one, so Python's CPU time overlaps the database's. Batches are
committed and acknowledged strictly in arrival order.
"""

from __future__ import annotations

import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg

from alerts.engine import Engine
from alerts.flows import Webhook, escalation_payload
from contract.codec import Limits
from contract.logins import ALARMS_SUFFIX
from contract.messages import Reason, Rejection
from contract.topics import alarm_subscription_for, subscription_for
from ingest.counters import IngestCounters
from ingest.lanes import EventCopies, Handoff
from ingest.mqtt_source import MqttSource
from ingest.outage import Outage
from ingest.partition import WorkerPartition
from ingest.pipeline import BatchOutcome, BatchWriter, Inbound, Prepared, dead_letter_row, prepare
from ingest.registry import RegistryCache
from ingest.sessions import SESSION_CLEAR_S, SessionAlerts
from ingest.warmup import warm_engine
from settings import MqttTarget, Settings
from store.alert_timers import escalate_due, expire_shelves, opened_since
from store.alerts import apply_decisions
from store.bounded import prune_bounded_tables
from store.database import DatabaseUnavailable, connect
from store.dead_letters import insert_dead_letters
from store.device_lifecycle import end_due_maintenance
from store.restamped import prune_restamped
from store.timeseries import apply_retention

log = logging.getLogger(__name__)

TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable)
# Errors that some message's content can cause: the batch is halved until that message is
# alone, and it is dead-lettered. Anything else (a missing table, a permission, a bug) says
# nothing about the messages: the batch stays unacknowledged and is retried, loudly.
CONTENT_ERRORS = (psycopg.DataError, psycopg.IntegrityError, ValueError, RecursionError)
MAINTENANCE_EVERY_S = 3600.0
REPARTITION_EVERY_S = 10.0
JOB_RETRY_S = 10.0  # a periodic job the database refused is tried again after this at most
PROGRESS_EVERY_S = 10.0
BACKOFF_MAX_S = 30.0
OUTAGE_RETRY_S = 2.0
IDLE_S = 0.2
SHUTDOWN_S = 5.0  # ingest's own parts, within the process's 8 s (firewatch/processes.py)
ALARM_POLL_S = 0.01  # with two lanes, how often an idle preparer and committer look again
GC_THRESHOLD = 50_000


def limits_from(settings: Settings) -> Limits:
    return Limits(
        max_payload_bytes=settings.max_payload_bytes,
        max_frame_bytes=settings.max_frame_bytes,
        future_tolerance=timedelta(seconds=settings.future_tolerance_s),
        stale_after=timedelta(seconds=settings.stale_after_s),
    )


def _tune_garbage_collector() -> None:
    """Ingest makes a few short-lived objects per message and no reference cycles of its own;
    at the default threshold (700 allocations) the collector runs every few messages and
    re-walks each batch. Measured: +10 % throughput. The process's start-up objects are
    frozen out of collection altogether."""
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *gc.get_threshold()[1:])


def _missing_partition(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.errors.CheckViolation) and "no partition" in str(exc)


class IngestService:
    def __init__(
        self,
        settings: Settings,
        *,
        before_commit: Callable[[Sequence[Inbound]], None] | None = None,
        before_ack: Callable[[Sequence[Inbound]], None] | None = None,
    ) -> None:
        """The two hooks are fault-injection points for the crash-safety tests."""
        self.settings = settings
        self.limits = limits_from(settings)
        self.counters = IngestCounters()
        self.source = MqttSource(
            MqttTarget(settings.mqtt_url),
            client_id=settings.ingest_client_id,
            subscription=subscription_for(settings.site, settings.ingest_shared_group),
            session_expiry_s=settings.ingest_session_expiry_s,
            receive_maximum=4 * settings.ingest_batch_max,
            mqtt5=settings.ingest_mqtt5,
        )
        self.registry = RegistryCache(settings.database_url)
        self.engine = Engine(correlation_window_s=settings.correlation_window_s)
        self.partition = WorkerPartition(settings, self.source) if (
            settings.ingest_workers > 1) else None  # fmt: skip
        # Alarms ahead of telemetry (ingest/lanes.py). A partitioned worker subscribes to its
        # own devices' explicit topics, a backlog no bigger than its share: one session only.
        self.alarms = MqttSource(
            MqttTarget(settings.mqtt_url),
            client_id=settings.ingest_client_id + ALARMS_SUFFIX,
            subscription=alarm_subscription_for(settings.site, settings.ingest_shared_group),
            session_expiry_s=settings.ingest_session_expiry_s,
            receive_maximum=settings.ingest_batch_max,
            mqtt5=settings.ingest_mqtt5,
        ) if self.partition is None and settings.ingest_alarm_session else None  # fmt: skip
        self._copies = EventCopies()
        self.session_alerts = SessionAlerts(settings.site)
        self._partitioned_at = float("-inf")
        self.webhook = Webhook(settings.webhook_url, timeout_s=settings.webhook_timeout_s) if (
            settings.webhook_url) else None  # fmt: skip
        self._ticked_at = float("-inf")
        self._warm = False
        self._before_commit = before_commit
        self._before_ack = before_ack
        self._writer: BatchWriter | None = None
        self._maintained_at = float("-inf")
        self._retry_at: dict[str, float] = {}
        self._outage = Outage(self.counters)
        self._connected = False
        self.database_ok = False

    @property
    def ready(self) -> bool:
        return (self.database_ok and self.source.connected
                and (self.alarms is None or self.alarms.connected))  # fmt: skip

    # -- committer side ---------------------------------------------------------------------
    def _open_writer(self) -> BatchWriter:
        if self._writer is None:
            conn = connect(self.settings.database_url, autocommit=True)
            self._writer = BatchWriter(conn, engine=self.engine, before_commit=self._before_commit,
                                       keep=self._records if self.partition else None)  # fmt: skip
            self.database_ok = True
            if not self._warm:
                self._warm_up(self._writer)
        return self._writer

    def _drop_writer(self) -> None:
        self.database_ok = False
        if self._writer is not None:
            self._writer.conn.close()
            self._writer = None

    def _maintain(self) -> None:
        writer = self._open_writer()
        now = datetime.now(UTC)
        writer.partitions.ensure_window(
            writer.conn, now=now, back=timedelta(seconds=self.settings.stale_after_s + 86400)
        )
        dropped = apply_retention(writer.conn, now=now, keep_days=self.settings.retention_days)
        prune_restamped(writer.conn, before=now - timedelta(days=self.settings.retention_days))
        if dropped:
            log.info("retention: %s", ", ".join(dropped))
        prune_bounded_tables(
            writer.conn, now=now, dead_letter_days=self.settings.dead_letter_retention_days,
            dead_letters_max=self.settings.dead_letters_max,
            pending_days=self.settings.pending_retention_days,
            pending_max=self.settings.pending_max,
        )  # fmt: skip
        self._maintained_at = time.monotonic()

    def _warm_up(self, writer: BatchWriter) -> None:
        """Rebuilds the engine's per-device state from the store, so a restart neither forgets a
        rising baseline nor re-raises what is already open."""
        started = time.perf_counter()
        now = datetime.now(UTC)
        warmed = warm_engine(
            writer.conn, self.engine, registry=self.registry, now=now,
            window=timedelta(seconds=self.settings.engine_warmup_s),
            owns=self.partition.assignment.owns_subject if self.partition else None,
        )  # fmt: skip
        self._warm = True
        log.info("engine warmed up from %d stored readings in %.1f s",
                 warmed, time.perf_counter() - started)  # fmt: skip

    def _tick(self) -> None:
        """The engine's timers on the server clock, in a transaction of their own."""
        writer = self._open_writer()
        now = datetime.now(UTC)
        engine = self.engine
        for source in self._sessions():
            troubles = source.take_troubles()
            self.counters.session_troubles += len(troubles)
            self.session_alerts.note(troubles)
        try:
            with writer.conn.transaction():
                # Site-wide rules (alert floods) are judged by one worker only.
                judges_site = self.partition is None or self.partition.assignment.judges_site
                since = now - timedelta(minutes=10)
                opened = opened_since(writer.conn, since=since) if judges_site else None
                decisions = engine.tick(now, opened_last_10min=opened)
                if self.partition is not None:
                    decisions = [d for d in decisions if self._records(d.subject)]
                connected = {s.client_id: s.connected for s in self._sessions()}
                decisions += self.session_alerts.plan(now=now.timestamp(), connected=connected)
                changes = apply_decisions(writer.conn, decisions)
                escalations = escalate_due(
                    writer.conn, now=now, after_s=self.settings.escalate_after_s,
                    max_level=self.settings.escalate_max_level,
                )  # fmt: skip
                expire_shelves(writer.conn, now=now)
                end_due_maintenance(writer.conn, now=now)
        except BaseException:
            engine.rollback()
            raise
        engine.commit()
        self.session_alerts.committed()
        self._ticked_at = time.monotonic()
        self.counters.alerts_opened += sum(1 for c in changes if c.change == "raise")
        for escalation in escalations:
            ids = {"alert": escalation["id"], "device": escalation["subject"]}
            log.warning("escalated unacknowledged fire alert %s (%s on %s) to level %d",
                        escalation["id"], escalation["rule"], escalation["subject"],
                        escalation["escalation_level"], extra=ids)  # fmt: skip
            if self.webhook is not None:
                self.webhook.send(escalation_payload(escalation))

    def _sessions(self) -> list[MqttSource]:
        return [self.source] if self.alarms is None else [self.source, self.alarms]

    @property
    def session_problem(self) -> str | None:
        """The latest session trouble while it is recent, for /readyz."""
        recent = [s.last_trouble for s in self._sessions() if s.last_trouble is not None
                  and time.time() - s.last_trouble.at < SESSION_CLEAR_S]  # fmt: skip
        return max(recent, key=lambda t: t.at).reason if recent else None

    def _records(self, subject: str) -> bool:
        """Whether this worker records alerts about the subject (partitioned: only its own)."""
        return self.partition is None or self.partition.assignment.owns_subject(subject)

    def _prepare(self, batch: Sequence[Inbound]) -> Prepared:
        observed = self.partition.assignment.observes_only if self.partition else None
        return prepare(batch, now=datetime.now(UTC), limits=self.limits, registry=self.registry,
                       observed_only=observed)  # fmt: skip

    def _write_resilient(self, batch: Sequence[Inbound], prepared: Prepared | None) -> BatchOutcome:
        """An error some message's content can cause is narrowed down by halving, until the one
        message the database refuses is dead-lettered (as ``schema``) alone; every other error
        propagates, and the caller retries the whole batch unacknowledged."""
        writer = self._open_writer()
        try:
            return writer.commit(prepared or self._prepare(batch))
        except CONTENT_ERRORS as exc:
            if _missing_partition(exc):
                raise  # retried after the partition cache is rebuilt with the connection
            if len(batch) == 1:
                log.exception(
                    "message on %s refused by the database; dead-lettered", batch[0].topic,
                    extra={"topic": batch[0].topic, "batch": self.counters.batches + 1},
                )  # fmt: skip
                rejection = Rejection(Reason.SCHEMA, f"refused by the database: {exc}"[:1000])
                with writer.conn.transaction():
                    insert_dead_letters(writer.conn, [dead_letter_row(batch[0], rejection)])
                outcome = BatchOutcome(received=1)
                outcome.rejected[Reason.SCHEMA] += 1
                return outcome
        half = len(batch) // 2
        first = self._write_resilient(batch[:half], None)
        second = self._write_resilient(batch[half:], None)
        first.received += second.received
        first.stored += second.stored
        first.duplicates += second.duplicates
        first.rejected.update(second.rejected)
        first.alerts.extend(second.alerts)
        return first

    def _write_until_done(
        self, batch: Sequence[Inbound], prepared: Prepared | None, stop: threading.Event
    ) -> BatchOutcome | None:
        delay = 0.5
        while not stop.is_set():
            started = time.perf_counter()
            try:
                outcome = self._write_resilient(batch, prepared)
            except Exception as exc:
                self.counters.retries += 1
                self._drop_writer()
                prepared = None  # prepare again: the registry may have changed meanwhile
                if isinstance(exc, TRANSIENT):
                    log.warning(
                        "database unavailable (%s); batch of %d kept unacknowledged, "
                        "retry in %.1f s", exc, len(batch), delay,
                        extra={"batch": self.counters.batches + 1, "retry_in_s": delay},
                    )  # fmt: skip
                else:
                    log.exception(
                        "writing a batch of %d failed for a reason no message explains; it stays"
                        " unacknowledged and is retried in %.1f s", len(batch), delay,
                        extra={"batch": self.counters.batches + 1, "retry_in_s": delay},
                    )  # fmt: skip
                stop.wait(delay)
                # A database that is away costs nothing to ask again: resume within 2 s of its
                # return (an alarm's budget to the screen is 20 s); back off further only
                # from errors that asking again will not cure.
                delay = min(delay * 2, OUTAGE_RETRY_S if isinstance(exc, TRANSIENT) else
                            BACKOFF_MAX_S)  # fmt: skip
                continue
            self.counters.commit_seconds.observe(time.perf_counter() - started)
            return outcome
        return None

    def _commit(self, item: Handoff, stop: threading.Event) -> bool:
        """Writes what is new of the batch, then acknowledges all of it; False if stopped."""
        outcome = BatchOutcome()
        if item.keep:
            written = self._write_until_done(item.keep, item.prepared, stop)
            if written is None:
                return False
            outcome = written
        if self._before_ack is not None and item.keep:  # a crash point after a commit
            self._before_ack(item.batch)
        item.source.ack(item.batch)
        self.counters.event_copies += len(item.batch) - len(item.keep)
        self._account(outcome, item.keep)
        return True

    def _account(self, outcome: BatchOutcome, batch: Sequence[Inbound]) -> None:
        c = self.counters
        if not batch:
            return
        now = datetime.now(UTC)
        c.last_commit_unix = now.timestamp()
        c.lag_seconds = (now - batch[0].received_at).total_seconds()
        for change in outcome.alerts:
            if change.change == "raise":
                c.alert_latency_seconds.observe(max(0.0, (now - change.at).total_seconds()))
        c.batches += 1
        c.received += outcome.received
        c.stored += outcome.stored
        c.duplicates += outcome.duplicates
        c.rejected.update(outcome.rejected)
        c.alerts_opened += sum(1 for a in outcome.alerts if a.change == "raise")
        for a in outcome.alerts:
            if a.change == "raise":
                ids = {"batch": c.batches, "alert": a.id, "device": a.subject}
                log.info("alert %d raised: %s %s on %s", a.id, a.alert_class, a.rule, a.subject,
                         extra=ids)  # fmt: skip

    # -- preparer side ----------------------------------------------------------------------
    def _prepare_loop(
        self, urgent: queue.SimpleQueue[Handoff], handoff: queue.Queue[Handoff],
        stop: threading.Event,
    ) -> None:  # fmt: skip
        """Alarm batches go out as soon as they come, even while a telemetry batch waits for
        the committer."""
        waiting: Handoff | None = None
        poll = IDLE_S if self.alarms is None else ALARM_POLL_S
        while not stop.is_set():
            if self.alarms is not None:
                alarms = self.alarms.next_batch(
                    max_size=self.settings.ingest_batch_max,
                    max_bytes=self.settings.ingest_batch_max_bytes, wait_s=0.0, idle_s=0.0,
                )  # fmt: skip
                if alarms:
                    urgent.put(self._handoff(self.alarms, alarms))
                    continue
            if waiting is not None:
                try:
                    handoff.put(waiting, timeout=poll)
                    waiting = None
                except queue.Full:
                    pass
                continue
            batch = self.source.next_batch(
                max_size=self.settings.ingest_batch_max,
                max_bytes=self.settings.ingest_batch_max_bytes,
                wait_s=self.settings.ingest_batch_wait_ms / 1000,
                idle_s=poll,
            )
            if batch:
                waiting = self._handoff(self.source, batch)

    def _handoff(self, source: MqttSource, batch: list[Inbound]) -> Handoff:
        """A batch the preparer cannot prepare (database away, a bug) goes on unprepared;
        the committer then prepares it itself, with its retries and its halving."""
        keep = batch if self.alarms is None else self._copies.first_copies(batch)
        prepared: Prepared | None = None
        if keep:
            try:
                prepared = self._prepare(keep)
            except Exception:
                log.warning("preparing a batch of %d failed; the committer retries", len(keep))
        return Handoff(source, batch, keep, prepared)

    def _follow_registry(self) -> None:
        """A partitioned worker's topics follow the registry. A device it gave up (its building
        moved to another worker) is kept configured but decommissioned here, so this engine
        never calls it offline; its new owner judges it."""
        if self.partition is None:
            return
        gone = self.partition.refresh(self._open_writer().conn)
        retired = [replace(d, status="decommissioned") for i, d in self.engine.devices.items()
                   if i in gone]  # fmt: skip
        self.engine.configure(retired)
        self.engine.commit()
        self._partitioned_at = time.monotonic()

    def _periodic(
        self, job: str, run: Callable[[], None], *, last_at: float, every_s: float
    ) -> None:
        """Runs a periodic job when it is due. A job the database refused is retried at its own
        pace (its period, at most JOB_RETRY_S), never at every pass of the loop (every 10 ms),
        and the outage is logged once (ingest/outage.py)."""
        now = time.monotonic()
        if now - last_at < every_s or now < self._retry_at.get(job, float("-inf")):
            return
        try:
            run()
        except TRANSIENT as exc:
            self._drop_writer()
            self._retry_at[job] = time.monotonic() + min(every_s, JOB_RETRY_S)
            self._outage.postponed(job, exc)
            return
        self._outage.ran()

    def connect(self) -> None:
        """Connects and subscribes, or raises ConnectionError saying what to do."""
        if not self._connected:
            if self.partition is not None:
                with connect(self.settings.database_url) as conn:
                    self.partition.refresh(conn)
                self._partitioned_at = time.monotonic()
            self.source.start()
            if self.alarms is not None:
                self.alarms.start()
            if self.partition is not None:
                self.partition.start()
            self._connected = True

    def run(self, stop: threading.Event) -> None:
        """Runs until ``stop`` is set; only an unreachable broker at start-up raises."""
        self.connect()
        _tune_garbage_collector()
        log.info("ingest subscribed to %s", self.source.subscription)
        urgent: queue.SimpleQueue[Handoff] = queue.SimpleQueue()
        handoff: queue.Queue[Handoff] = queue.Queue(maxsize=1)
        preparer = threading.Thread(
            target=self._prepare_loop, args=(urgent, handoff, stop), name="ingest-prepare",
            daemon=True,
        )  # fmt: skip
        poll = IDLE_S if self.alarms is None else ALARM_POLL_S
        preparer.start()
        progress_at = time.monotonic()
        try:
            while not stop.is_set():
                self._periodic("maintenance", self._maintain, last_at=self._maintained_at,
                               every_s=MAINTENANCE_EVERY_S)  # fmt: skip
                try:
                    item: Handoff | None = urgent.get_nowait()
                except queue.Empty:
                    try:
                        item = handoff.get(timeout=poll)
                    except queue.Empty:
                        item = None
                if item is not None and not self._commit(item, stop):
                    break  # stopping: the broker redelivers this batch to the next run
                self._periodic("alert timers", self._tick, last_at=self._ticked_at,
                               every_s=self.settings.engine_tick_s)  # fmt: skip
                if self.partition is not None:
                    self._periodic(
                        "partition refresh",
                        self._follow_registry,
                        last_at=self._partitioned_at,
                        every_s=REPARTITION_EVERY_S,
                    )
                if time.monotonic() - progress_at >= PROGRESS_EVERY_S:
                    log.info("ingest: %s", self.counters.summary())
                    progress_at = time.monotonic()
        finally:
            stop.set()
            self._shut_down(preparer)

    def _shut_down(self, preparer: threading.Thread) -> None:
        """Every part stops within SHUTDOWN_S in all: a part still stopping by then (a join on
        a stuck MQTT thread, a close on a silent database) is logged and left behind, so that
        a SIGTERM always ends the process."""
        deadline = time.monotonic() + SHUTDOWN_S
        parts: list[tuple[str, Callable[[], None]]] = [("preparer", preparer.join)]
        if self.partition is not None:
            parts.append(("unrouted watcher", self.partition.stop))
        parts.append(("MQTT session", self.source.stop))
        if self.alarms is not None:
            parts.append(("alarm MQTT session", self.alarms.stop))
        parts += [("database writer", self._drop_writer), ("registry", self.registry.close)]
        if self.webhook is not None:
            parts.append(("webhook", self.webhook.close))
        for name, part in parts:
            stopping = threading.Thread(target=part, name=f"stop-{name}", daemon=True)
            stopping.start()
            stopping.join(max(0.0, deadline - time.monotonic()))
            if stopping.is_alive():
                log.error("ingest: the %s did not stop within %.0f s; left behind", name,
                          SHUTDOWN_S)  # fmt: skip
