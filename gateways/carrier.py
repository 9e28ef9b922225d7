"""How a gateway hands messages to ingest and learns they are committed.

``carry`` returns only once ingest has committed every message it was given (stored, found a
duplicate, or dead-lettered), so the gateway's answer to its peer (a confirm, an HTTP 200)
never runs ahead of the data. When it cannot say so in time it raises :class:`NotCarried` and
the gateway answers so that its peer sends again; what was handed over may still be committed
later, and the peer's repeat is then a duplicate.

- :class:`LocalCarrier`: a gateway inside the ingest process (ingest/local_source.py).
- :class:`InboxCarrier`: a gateway in any other process, through the inbox table
  (store/inbox.py), which ingest reads (ingest/inbox_source.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Any, Protocol

import psycopg

from ingest.local_source import Full, LocalSource
from ingest.pipeline import Inbound
from store import inbox
from store.database import connect_async
from store.dead_letters import topic_site

log = logging.getLogger(__name__)

WRITE_EVERY_S = 0.002  # hand-overs that come together are written in one transaction
WATCH_EVERY_S = 0.02  # how often to look for rows ingest has committed, without a notification
WRITE_MAX = 2000


class NotCarried(Exception):
    """Ingest has not committed the messages in time (or cannot take them now); the peer
    should send again. The message says why, for the gateway's log and its answer."""


class Carrier(Protocol):
    async def carry(self, items: Sequence[Inbound], *, gateway: str) -> None: ...


class LocalCarrier:
    def __init__(self, source: LocalSource, *, timeout_s: float) -> None:
        self._source = source
        self._timeout_s = timeout_s

    async def carry(self, items: Sequence[Inbound], *, gateway: str) -> None:
        del gateway  # one source per gateway: the source says whose messages these are
        if not items:
            return
        loop = asyncio.get_running_loop()
        committed: asyncio.Future[None] = loop.create_future()

        def done() -> None:  # on the committer's thread
            loop.call_soon_threadsafe(_settle, committed)

        try:
            self._source.put(items, on_done=done)
        except Full as exc:
            raise NotCarried(f"{exc}; send again later") from None
        try:
            await asyncio.wait_for(asyncio.shield(committed), self._timeout_s)
        except TimeoutError:
            raise NotCarried(f"ingest did not commit within {self._timeout_s:g} s") from None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class InboxCarrier:
    """Writes hand-overs in batches, then waits for ingest to delete their rows. Start it
    with :meth:`start` inside the event loop that will call :meth:`carry`."""

    def __init__(self, database_url: str, *, timeout_s: float) -> None:
        self._url = database_url
        self._timeout_s = timeout_s
        self._writes: asyncio.Queue[tuple[list[inbox.InboxRow], asyncio.Future[list[int]]]] = (
            asyncio.Queue()
        )
        self._waiting: dict[int, asyncio.Future[None]] = {}  # the last id of each hand-over
        self._ids_of: dict[int, set[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._write_loop(), name="gateway-inbox-writer"),
            asyncio.create_task(self._watch_loop(), name="gateway-inbox-watcher"),
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []

    async def carry(self, items: Sequence[Inbound], *, gateway: str) -> None:
        if not items:
            return
        loop = asyncio.get_running_loop()
        written: asyncio.Future[list[int]] = loop.create_future()
        rows = [_row(gateway, item) for item in items]
        await self._writes.put((rows, written))
        try:
            async with asyncio.timeout(self._timeout_s):
                ids = await written
                committed: asyncio.Future[None] = loop.create_future()
                self._waiting[ids[-1]] = committed
                self._ids_of[ids[-1]] = set(ids)
                self._wake.set()
                try:
                    await committed
                finally:
                    self._waiting.pop(ids[-1], None)
                    self._ids_of.pop(ids[-1], None)
        except TimeoutError:
            raise NotCarried(f"ingest did not commit within {self._timeout_s:g} s") from None

    async def _next_group(self) -> list[tuple[list[inbox.InboxRow], asyncio.Future[list[int]]]]:
        first = await self._writes.get()
        await asyncio.sleep(WRITE_EVERY_S)
        group = [first]
        while not self._writes.empty() and sum(len(r) for r, _ in group) < WRITE_MAX:
            group.append(self._writes.get_nowait())
        return [(rows, fut) for rows, fut in group if not fut.done()]  # not timed out already

    async def _write_loop(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        while True:
            group = await self._next_group()
            if not group:
                continue
            try:
                if conn is None:
                    conn = await connect_async(self._url)
                ids = await inbox.put(conn, [row for rows, _ in group for row in rows])
            except (psycopg.Error, OSError) as exc:
                if conn is not None:
                    await conn.close()
                conn = None
                log.warning("writing to the gateway inbox failed: %s", exc)
                for _, fut in group:
                    if not fut.done():
                        fut.set_exception(NotCarried(f"the database is unavailable: {exc}"))
                continue
            at = 0
            for rows, fut in group:
                if not fut.done():
                    fut.set_result(ids[at : at + len(rows)])
                at += len(rows)

    async def _watch_loop(self) -> None:
        conn: psycopg.AsyncConnection[Any] | None = None
        while True:
            if not self._waiting:
                self._wake.clear()
                await self._wake.wait()
            await asyncio.sleep(WATCH_EVERY_S)
            try:
                if conn is None:
                    conn = await connect_async(self._url)
                asked = dict(self._ids_of)  # hand-overs registered later are not in the answer
                every = {i for ids in asked.values() for i in ids}
                left = await inbox.remaining(conn, every) if every else set()
            except (psycopg.Error, OSError) as exc:
                if conn is not None:
                    await conn.close()
                conn = None
                log.warning("reading the gateway inbox failed: %s", exc)
                await asyncio.sleep(1.0)
                continue
            for last, ids in asked.items():
                waiting = self._waiting.get(last)
                if waiting is not None and not ids & left:
                    _settle(waiting)


def _row(gateway: str, item: Inbound) -> inbox.InboxRow:
    rejection = item.rejection
    return (
        topic_site(item.topic),  # fw/v1/{site}/… and gw/{gateway}/{site}/… alike
        gateway,
        rejection.device_id if rejection is not None else _device_of(item.topic),
        item.topic,
        item.payload,
        item.received_at,
        rejection.reason.value if rejection is not None else None,
        rejection.detail if rejection is not None else None,
    )


def _device_of(topic: str) -> str | None:
    levels = topic.split("/")
    return levels[3] if len(levels) == 5 and levels[0] == "fw" else None
