"""The sending loop of ``firewatch dispatcher``: workers that take due deliveries from the
queue (store/deliveries.py) and send them, one each at a time.

Each attempt is one transaction: the row is locked (FOR UPDATE SKIP LOCKED, so workers and
processes never take the same row), the request is built for this moment (signatures carry
the send time) and sent with the delivery's key in ``X-Firewatch-Delivery``, and the outcome
commits as soon as the reply is in. A sender killed at any point leaves the row pending for the
next attempt; the request may then reach its receiver twice, if the kill fell after the
receiver took it and before the commit (docs/dispatch.md, "Delivery guarantees"). Failures are
retried with doubling backoff; a refusal no retry can help fails at once.

Workers are threads, each with its own connection, so the reply and the commit follow each
other without a hop between threads; a listener thread wakes idle workers when a delivery is
queued (NOTIFY), and they look anyway every ``dispatcher_poll_s`` for retries falling due.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg

from dispatch.channels import Refusal, build, refusal
from dispatch.model import Channel, ChannelKind, HttpRequest, Message
from dispatch.transport import Unreachable, send
from settings import Settings
from store.database import DatabaseUnavailable, connect
from store.deliveries import (
    Claimed,
    claim,
    listen,
    log_failed_for_good,
    record_cancelled,
    record_failure,
    record_sent,
    sender_session,
)

log = logging.getLogger("firewatch.dispatcher")

# Receivers that can keep a key seen recently drop the second copy of a retried request.
DELIVERY_HEADER = "X-Firewatch-Delivery"
RECONNECT_S = 2.0


def retry_delay(attempts: int, *, base_s: float, max_s: float, max_attempts: int) -> float | None:
    """Seconds until the next attempt after ``attempts`` failed ones (base, doubled each time,
    capped); None once ``max_attempts`` have been made."""
    if attempts >= max_attempts:
        return None
    return float(min(max_s, base_s * 2 ** (attempts - 1)))


def message_of(stored: dict[str, Any]) -> Message:
    """A queued message back as the shape channels take; ValueError if it is not one."""
    try:
        phones = stored.get("mention_phones") or ()
        if not isinstance(stored["title"], str) or not isinstance(stored["text"], str):
            raise TypeError("title and text must be strings")
        return Message(
            title=stored["title"],
            text=stored["text"],
            link=stored.get("link"),
            mention_phones=tuple(str(p) for p in phones),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(f"message: {exc!r}") from exc


class Doorbell:
    """Wakes idle workers. A worker notes the count before it looks at the queue and sleeps
    only if nobody rang since, so a ring between its look and its sleep is not lost."""

    def __init__(self) -> None:
        self._rung = 0
        self._changed = threading.Condition()

    @property
    def count(self) -> int:
        with self._changed:
            return self._rung

    def ring(self) -> None:
        with self._changed:
            self._rung += 1
            self._changed.notify_all()

    def wait(self, seen: int, *, timeout: float) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._rung != seen, timeout=timeout)


class Sender:
    """``run(stop)`` sends until ``stop`` is set; a worker whose database goes away waits and
    connects again, and its locked row, if any, is left to the next attempt."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.bell = Doorbell()

    def run(self, stop: threading.Event) -> None:
        workers = [
            threading.Thread(target=self._work, args=(stop,), name=f"dispatcher-{n}", daemon=True)
            for n in range(self.settings.dispatcher_workers)
        ]
        workers.append(
            threading.Thread(
                target=self._listen, args=(stop,), name="dispatcher-listen", daemon=True
            )
        )
        for thread in workers:
            thread.start()
        log.info("dispatcher: %d workers", self.settings.dispatcher_workers)
        stop.wait()
        self.bell.ring()
        for thread in workers:
            thread.join()

    def _work(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with connect(self.settings.database_url, autocommit=True) as conn:
                    sender_session(conn)
                    while not stop.is_set():
                        seen = self.bell.count
                        if not self.attempt(conn):
                            self.bell.wait(seen, timeout=self.settings.dispatcher_poll_s)
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                log.warning("dispatcher: database unavailable, again in %g s: %s", RECONNECT_S, exc)
                stop.wait(RECONNECT_S)
            except Exception:
                # A worker never dies quietly: the others would carry on short of one.
                log.exception("dispatcher: worker failed, again in %g s", RECONNECT_S)
                stop.wait(RECONNECT_S)

    def _listen(self, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                with connect(self.settings.database_url, autocommit=True) as conn:
                    listen(conn)
                    self.bell.ring()  # what was queued while nobody listened
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=self.settings.dispatcher_poll_s):
                            self.bell.ring()
            except (psycopg.OperationalError, DatabaseUnavailable) as exc:
                log.warning("dispatcher: cannot listen, again in %g s: %s", RECONNECT_S, exc)
                stop.wait(RECONNECT_S)

    def attempt(self, conn: psycopg.Connection[Any]) -> bool:
        """One due delivery attempted and its outcome committed; False if none was due."""
        with conn.transaction():
            claimed = claim(conn)
            if claimed is None:
                return False
            if claimed.closed:
                record_cancelled(conn, claimed.id)
                log.info("delivery %s cancelled: its dispatch is closed", claimed.key)
                return True
            refused = self._try(claimed)
            if refused is None:
                record_sent(conn, claimed.id)
                return True
            attempts = claimed.attempts + 1
            delay = None if refused.permanent else self._delay(attempts)
            record_failure(conn, claimed.id, error=refused.error, retry_in_s=delay)
            if delay is None and claimed.dispatch_id is not None:
                log_failed_for_good(conn, claimed, error=refused.error, attempts=attempts)
        if delay is None:
            log.error(
                "delivery %s failed for good after %d attempt(s): %s",
                claimed.key,
                attempts,
                refused.error,
            )
        else:
            log.warning(
                "delivery %s attempt %d failed, again in %g s: %s",
                claimed.key,
                attempts,
                delay,
                refused.error,
            )
        return True

    def _delay(self, attempts: int) -> float | None:
        return retry_delay(
            attempts,
            base_s=self.settings.dispatcher_backoff_s,
            max_s=self.settings.dispatcher_backoff_max_s,
            max_attempts=self.settings.dispatcher_max_attempts,
        )

    def _try(self, claimed: Claimed) -> Refusal | None:
        """Anything unforeseen that building, sending or reading raises is a failed attempt
        with its error, retried with backoff: a row must never stay pending with no attempt
        counted, tried again and again."""
        try:
            kind = ChannelKind(claimed.channel_kind)
            channel = Channel(id=claimed.channel_id, kind=kind, config=claimed.channel_config)
            request = build(channel, message_of(claimed.message), now=datetime.now(UTC))
        except ValueError as exc:
            return Refusal(f"not sent: {exc}", permanent=True)
        except Exception as exc:
            return Refusal(f"not sent: {exc!r}")
        try:
            reply = send(_keyed(request, claimed.key), timeout_s=self.settings.dispatcher_timeout_s)
            return refusal(kind, channel.config, status=reply.status, body=reply.body)
        except Unreachable as exc:
            return Refusal(str(exc))
        except Exception as exc:
            return Refusal(f"failed: {exc!r}")


def _keyed(request: HttpRequest, key: str) -> HttpRequest:
    return dataclasses.replace(request, headers={**request.headers, DELIVERY_HEADER: key})
