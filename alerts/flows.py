"""What leaves the building when an alert escalates: the webhook. (Whether and how a
transition is logged and told is `alerts.lifecycle.announced_as`, pure.)

Notifications to the API replicas travel by NOTIFY inside the batch's transaction (see
``store.notify``); what leaves the building (the webhook) goes out here, after the commit, from a
thread of its own with a bounded queue, so a slow or dead receiver can never hold up ingest.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)

BACKOFF_S = (1.0, 2.0, 4.0, 8.0, 16.0, 30.0)
QUEUE_MAX = 1000


class Webhook:
    """POSTs JSON to ``url``, retrying each payload with backoff; drops the oldest when full."""

    def __init__(
        self,
        url: str,
        *,
        timeout_s: float = 5.0,
        backoff_s: tuple[float, ...] = BACKOFF_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.url = url
        self._timeout = timeout_s
        self._backoff = backoff_s
        self._sleep = sleep
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue(maxsize=QUEUE_MAX)
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name="webhook", daemon=True)
        self._thread.start()

    def send(self, payload: dict[str, Any]) -> None:
        while True:
            try:
                self._queue.put_nowait(payload)
                return
            except queue.Full:
                try:
                    self._queue.get_nowait()
                    self.dropped += 1
                except queue.Empty:
                    pass

    def close(self, timeout_s: float = 5.0) -> None:
        self._queue.put(None)
        self._thread.join(timeout_s)

    def _run(self) -> None:
        while (payload := self._queue.get()) is not None:
            self._deliver(payload)

    def _deliver(self, payload: dict[str, Any]) -> None:
        body = orjson.dumps(payload)
        for attempt, pause in enumerate((0.0, *self._backoff)):
            if pause:
                self._sleep(pause)
            request = urllib.request.Request(  # noqa: S310 - the URL is validated as http(s)
                self.url,
                data=body,
                method="POST",
                headers={"Content-Type": "application/json", "User-Agent": "firewatch"},
            )
            try:
                with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                    if 200 <= response.status < 300:
                        self.sent += 1
                        return
            except (urllib.error.URLError, OSError, ValueError) as exc:
                log.warning("webhook %s attempt %d failed: %s", self.url, attempt + 1, exc)
        self.failed += 1
        log.error(
            "webhook %s gave up on alert %s after %d attempts; check the receiver",
            self.url,
            payload.get("id"),
            len(self._backoff) + 1,
        )


def escalation_payload(escalation: dict[str, Any]) -> dict[str, Any]:
    """What the receiver (a duty phone gateway, a chat bot) gets for one escalation."""
    return {"type": "escalation", **escalation}
