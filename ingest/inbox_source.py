"""The gateway inbox, read by ingest (store/inbox.py): messages from gateways that run in
another process, the api's HTTP push receivers or a GB/T 26875.3 server on its own.

Rows are taken by id, never by a cursor: an id is drawn at insert but becomes visible at
commit, so a cursor would step over a row committed late. Taken rows are remembered until the
committer has committed them and they are deleted; a restart takes them again, and the store
recognises them as duplicates, as it does a broker's redelivery."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import psycopg

from contract.messages import Reason, Rejection
from ingest.pipeline import Inbound
from store import inbox
from store.database import DatabaseUnavailable, connect

log = logging.getLogger(__name__)

POLL_S = 1.0  # without a notification (one lost with a connection), look again this often
RETRY_S = 2.0
LOG_EVERY_S = 30.0


class InboxToken:
    __slots__ = ("id",)

    def __init__(self, row_id: int) -> None:
        self.id = row_id


class InboxSource:
    """``share`` says which rows a partitioned worker takes (store/inbox.py's Share); None:
    every row."""

    def __init__(
        self, database_url: str, *, site: str, share: Callable[[], inbox.Share] | None = None
    ) -> None:
        self._url = database_url
        self._site = site
        self._share = share
        # The reader belongs to the preparer's thread, the deleter to whichever thread holds
        # _deleting: a connection is never used by two threads at once.
        self._reader: psycopg.Connection[Any] | None = None
        self._deleter: psycopg.Connection[Any] | None = None
        self._deleting = threading.Lock()
        self._in_flight: set[int] = set()  # taken, not yet deleted
        self._undeleted: list[int] = []  # committed, but their DELETE failed: tried again
        self._lock = threading.Lock()
        self._next_poll = 0.0
        self._down_until = 0.0
        self._retry_delete_at = 0.0
        self._logged_at = float("-inf")

    def _connection(self) -> psycopg.Connection[Any]:
        if self._reader is None:
            self._reader = connect(self._url, autocommit=True)
            self._reader.execute(f"LISTEN {inbox.CHANNEL}")
            self._next_poll = 0.0  # whatever came while it was away
        return self._reader

    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        """Reads when a gateway said it wrote, or every POLL_S; ``wait_s``/``idle_s`` unused:
        the preparer polls this source between its other sources' batches. Never raises: a
        database away is asked again after RETRY_S."""
        del wait_s, idle_s
        now = time.monotonic()
        if self._undeleted and now >= self._retry_delete_at:
            self._delete([])
        if now < self._down_until:
            return []
        try:
            conn = self._connection()
            woken = any(True for _ in conn.notifies(timeout=0))
            if not woken and now < self._next_poll:
                return []
            self._next_poll = now + POLL_S
            with self._lock:
                skip = list(self._in_flight)
            share = self._share() if self._share is not None else None
            rows = inbox.take(
                conn, site=self._site, skip=skip, share=share, limit=max_size, max_bytes=max_bytes
            )
        except Exception as exc:
            self._down_until = time.monotonic() + RETRY_S
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            self._trouble("reading the gateway inbox failed", exc)
            return []
        batch = [self._inbound(row) for row in rows]
        with self._lock:
            self._in_flight.update(row[0] for row in rows)
        if rows:
            self._next_poll = 0.0  # more may wait: rows were cut by count or by bytes
        return batch

    @staticmethod
    def _inbound(row: inbox.TakenRow) -> Inbound:
        row_id, device_id, topic, payload, received_at, reason, detail = row
        rejection = None
        if reason is not None:
            try:
                rejection = Rejection(Reason(reason), detail or "", device_id)
            except ValueError:  # written by a newer gateway than this ingest
                rejection = Rejection(
                    Reason.MALFORMED, f"refused as {reason[:64]!r}: {detail or ''}", device_id
                )
        return Inbound(topic, payload, received_at, InboxToken(row_id), rejection)

    def ack(self, batch: Sequence[Inbound]) -> int:
        """On the committer's thread, after the commit; never raises: rows it could not delete
        are deleted at a later call (meanwhile their gateways wait, and may be told to resend,
        which the store counts as duplicates)."""
        ids = [t.id for t in (item.token for item in batch) if isinstance(t, InboxToken)]
        return self._delete(ids) if ids else 0

    def _delete(self, ids: list[int]) -> int:
        with self._lock:
            todo, self._undeleted = self._undeleted + ids, []
        with self._deleting:
            try:
                if self._deleter is None:
                    self._deleter = connect(self._url, autocommit=True)
                inbox.done(self._deleter, todo)
            except Exception as exc:
                if self._deleter is not None:
                    self._deleter.close()
                    self._deleter = None
                with self._lock:
                    self._undeleted = todo + self._undeleted
                self._retry_delete_at = time.monotonic() + RETRY_S
                self._trouble("deleting committed gateway rows failed; tried again later", exc)
                return 0
        with self._lock:
            self._in_flight.difference_update(todo)
        return len(ids)

    def _trouble(self, what: str, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._logged_at >= LOG_EVERY_S:
            self._logged_at = now
            log.warning(
                "%s (%s); gateways' answers wait until it works again",
                what,
                exc,
                exc_info=not isinstance(exc, psycopg.Error | DatabaseUnavailable),
            )

    def stop(self) -> None:
        with self._deleting:
            for conn in (self._reader, self._deleter):
                if conn is not None:
                    conn.close()
            self._reader = self._deleter = None
