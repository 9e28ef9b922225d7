"""The committing side of the loop: write a batch until it is written, then acknowledge it.

A database that is away is asked again (within 2 s of its return); an error some message's
content caused is narrowed down by halving the batch until that message is dead-lettered
alone. Batches are committed and acknowledged strictly in the order they are handed over.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

import psycopg

from contract.messages import Reason, Rejection
from ingest.counters import IngestCounters
from ingest.lanes import Handoff
from ingest.outage import TRANSIENT
from ingest.pipeline import BatchOutcome, BatchWriter, Inbound, Prepared, dead_letter_row
from store.dead_letters import insert_dead_letters

log = logging.getLogger(__name__)

# Errors that some message's content can cause: the batch is halved until that message is
# alone, and it is dead-lettered. Anything else (a missing table, a permission, a bug) says
# nothing about the messages: the batch stays unacknowledged and is retried, loudly.
CONTENT_ERRORS = (psycopg.DataError, psycopg.IntegrityError, ValueError, RecursionError)
BACKOFF_MAX_S = 30.0
OUTAGE_RETRY_S = 2.0


class WriterSlot:
    """The committer thread's one database connection: opened when first needed, dropped on
    any error so the next try starts on a fresh one. Its first opening warms the engine up."""

    def __init__(
        self, open_writer: Callable[[], BatchWriter], *, warm_up: Callable[[BatchWriter], None]
    ) -> None:
        self._open_writer = open_writer
        self._warm_up = warm_up
        self._warm = False
        self.writer: BatchWriter | None = None

    @property
    def ok(self) -> bool:
        """Connected; read by /readyz from another thread."""
        return self.writer is not None

    def get(self) -> BatchWriter:
        if self.writer is None:
            self.writer = self._open_writer()
            if not self._warm:
                self._warm_up(self.writer)
                self._warm = True
        return self.writer

    def drop(self) -> None:
        writer, self.writer = self.writer, None
        if writer is not None:
            writer.conn.close()


def _missing_partition(exc: BaseException) -> bool:
    return isinstance(exc, psycopg.errors.CheckViolation) and "no partition" in str(exc)


def _merge(first: BatchOutcome, second: BatchOutcome) -> BatchOutcome:
    first.received += second.received
    first.stored += second.stored
    first.duplicates += second.duplicates
    first.rejected.update(second.rejected)
    first.alerts.extend(second.alerts)
    return first


class Committer:
    """Runs on the committer thread only, like the counters it writes."""

    def __init__(
        self,
        database: WriterSlot,
        *,
        prepare: Callable[[Sequence[Inbound]], Prepared],
        counters: IngestCounters,
        before_ack: Callable[[Sequence[Inbound]], None] | None = None,
    ) -> None:
        """``prepare`` prepares again what the preparer could not, or what must be retried
        (the registry may have changed meanwhile); ``before_ack`` is a crash point for tests."""
        self.database = database
        self._prepare = prepare
        self._counters = counters
        self._before_ack = before_ack

    def commit(self, item: Handoff, stop: threading.Event) -> bool:
        """Writes what is new of the batch, then acknowledges all of it; False if stopped."""
        outcome = BatchOutcome()
        if item.keep:
            written = self._write_until_done(item.keep, prepared=item.prepared, stop=stop)
            if written is None:
                return False
            outcome = written
        if self._before_ack is not None and item.keep:  # a crash point after a commit
            self._before_ack(item.batch)
        item.source.ack(item.batch)
        self._counters.event_copies += len(item.batch) - len(item.keep)
        self._account(outcome, item.keep)
        return True

    def _write_until_done(
        self, batch: Sequence[Inbound], *, prepared: Prepared | None, stop: threading.Event
    ) -> BatchOutcome | None:
        delay = 0.5
        while not stop.is_set():
            started = time.perf_counter()
            try:
                outcome = self._write_resilient(batch, prepared)
            except Exception as exc:
                self._counters.retries += 1
                self.database.drop()
                prepared = None  # prepare again: the registry may have changed meanwhile
                self._log_failure(exc, size=len(batch), delay=delay)
                stop.wait(delay)
                # A database that is away costs nothing to ask again: resume within 2 s of its
                # return (an alarm's budget to the screen is 20 s); back off further only
                # from errors that asking again will not cure.
                delay = min(
                    delay * 2, OUTAGE_RETRY_S if isinstance(exc, TRANSIENT) else BACKOFF_MAX_S
                )
                continue
            self._counters.commit_seconds.observe(time.perf_counter() - started)
            return outcome
        return None

    def _log_failure(self, exc: Exception, *, size: int, delay: float) -> None:
        ids = {"batch": self._counters.batches + 1, "retry_in_s": delay}
        if isinstance(exc, TRANSIENT):
            log.warning(
                "database unavailable (%s); batch of %d kept unacknowledged, retry in %.1f s",
                exc,
                size,
                delay,
                extra=ids,
            )
        else:
            log.exception(
                "writing a batch of %d failed for a reason no message explains; it stays"
                " unacknowledged and is retried in %.1f s",
                size,
                delay,
                extra=ids,
            )

    def _write_resilient(self, batch: Sequence[Inbound], prepared: Prepared | None) -> BatchOutcome:
        """An error some message's content can cause is narrowed down by halving, until the one
        message the database refuses is dead-lettered (as ``schema``) alone; every other error
        propagates, and the caller retries the whole batch unacknowledged."""
        writer = self.database.get()
        try:
            return writer.commit(prepared or self._prepare(batch))
        except CONTENT_ERRORS as exc:
            if _missing_partition(exc):
                raise  # retried after the partition cache is rebuilt with the connection
            if len(batch) == 1:
                return self._dead_letter(writer, batch[0], exc)
        half = len(batch) // 2
        first = self._write_resilient(batch[:half], None)
        return _merge(first, self._write_resilient(batch[half:], None))

    def _dead_letter(self, writer: BatchWriter, item: Inbound, exc: Exception) -> BatchOutcome:
        log.exception(
            "message on %s refused by the database; dead-lettered",
            item.topic,
            extra={"topic": item.topic, "batch": self._counters.batches + 1},
        )
        rejection = Rejection(Reason.SCHEMA, f"refused by the database: {exc}"[:1000])
        with writer.conn.transaction():
            insert_dead_letters(writer.conn, [dead_letter_row(item, rejection)])
        outcome = BatchOutcome(received=1)
        outcome.rejected[Reason.SCHEMA] += 1
        return outcome

    def _account(self, outcome: BatchOutcome, batch: Sequence[Inbound]) -> None:
        c = self._counters
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
                log.info(
                    "alert %d raised: %s %s on %s",
                    a.id,
                    a.alert_class,
                    a.rule,
                    a.subject,
                    extra=ids,
                )
