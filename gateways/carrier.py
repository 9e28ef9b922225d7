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
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol

import psycopg

from ingest.local_source import Full, LocalSource
from ingest.pipeline import Inbound
from store import inbox
from store.database import DatabaseUnavailable, connect_async
from store.dead_letters import topic_site

log = logging.getLogger(__name__)

WRITE_EVERY_S = 0.002  # hand-overs that come together are written in one transaction
WATCH_EVERY_S = 0.25  # how often to look for rows ingest has committed, without its NOTIFY
WRITE_MAX = 2000
RETRY_S = 1.0
BACKLOG_MAX = 100_000  # rows per site in the inbox: beyond it, refuse at once
COUNT_EVERY_S = 1.0


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
            async with asyncio.timeout(self._timeout_s):
                await asyncio.shield(committed)
        except TimeoutError:
            raise NotCarried(f"ingest did not commit within {self._timeout_s:g} s") from None


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class InboxCarrier:
    """Writes hand-overs in batches, then waits for ingest to delete their rows. Start it
    with :meth:`start` inside the event loop that will call :meth:`carry`.

    Rows are kept whatever becomes of the peer's request: data outlives an ingest outage
    longer than the platform's patience. A site's inbox is capped at ``backlog_max`` rows;
    beyond it, hand-overs are refused at once (ingest is away or far behind)."""

    def __init__(
        self, database_url: str, *, timeout_s: float, backlog_max: int = BACKLOG_MAX
    ) -> None:
        self._url = database_url
        self._timeout_s = timeout_s
        self._backlog_max = backlog_max
        self._writes: asyncio.Queue[tuple[list[inbox.InboxRow], asyncio.Future[list[int]]]] = (
            asyncio.Queue()
        )
        self._waiting: dict[int, asyncio.Future[None]] = {}  # the last id of each hand-over
        self._ids_of: dict[int, set[int]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._wake = asyncio.Event()
        self._backlog: dict[str, int] = {}  # rows per site, as last counted
        self._counted_at = float("-inf")
        self._conns: list[psycopg.AsyncConnection[Any]] = []

    async def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._keep(self._write_once, "writer"), name="inbox-writer"),
            asyncio.create_task(self._keep(self._watch_once, "watcher"), name="inbox-watcher"),
        ]

    async def stop(self) -> None:
        """Never raises; hand-overs still waiting are told the gateway is stopping."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        stopping = NotCarried("the gateway is stopping; send again")
        while not self._writes.empty():
            _, written = self._writes.get_nowait()
            if not written.done():
                written.set_exception(stopping)
        for committed in self._waiting.values():
            if not committed.done():
                committed.set_exception(stopping)
        for conn in self._conns:
            with contextlib.suppress(Exception):
                await conn.close()
        self._conns = []

    async def carry(self, items: Sequence[Inbound], *, gateway: str) -> None:
        if not items:
            return
        rows = [_row(gateway, item) for item in items]
        full = [s for s in {r[0] for r in rows} if self._backlog.get(s, 0) >= self._backlog_max]
        if full:
            raise NotCarried(
                f"the gateway inbox holds {self._backlog[full[0]]} messages of site {full[0]!r}"
                " that ingest has not taken; is 'firewatch ingest' running for that site?"
            )
        loop = asyncio.get_running_loop()
        written: asyncio.Future[list[int]] = loop.create_future()
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

    async def _keep(self, once: Callable[[], Awaitable[None]], what: str) -> None:
        """Runs one of the loops for ever: any error (a database away, a bug) is logged and
        the loop goes on after a pause, on a new connection."""
        while True:
            try:
                await once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning(
                    "the gateway inbox %s failed (%s); trying again in %.0f s",
                    what,
                    exc,
                    RETRY_S,
                    exc_info=not isinstance(exc, psycopg.Error | DatabaseUnavailable),
                )
                for conn in self._conns:
                    with contextlib.suppress(Exception):
                        await conn.close()
                self._conns = []
                await asyncio.sleep(RETRY_S)

    async def _connection(self, index: int) -> psycopg.AsyncConnection[Any]:
        """0: the writer's, 1: the watcher's (listening for ingest's commits)."""
        while len(self._conns) < 2:
            conn = await connect_async(self._url)
            if len(self._conns) == 1:
                await conn.execute(f"LISTEN {inbox.DONE_CHANNEL}")
            self._conns.append(conn)
        return self._conns[index]

    async def _next_group(self) -> list[tuple[list[inbox.InboxRow], asyncio.Future[list[int]]]]:
        first = await self._writes.get()
        await asyncio.sleep(WRITE_EVERY_S)
        group, size = [first], len(first[0])
        while not self._writes.empty() and size < WRITE_MAX:
            item = self._writes.get_nowait()
            group.append(item)
            size += len(item[0])
        return [(rows, fut) for rows, fut in group if not fut.done()]  # not timed out already

    async def _write_once(self) -> None:
        group = await self._next_group()
        if not group:
            return
        try:
            conn = await self._connection(0)
            ids = await inbox.put(conn, [row for rows, _ in group for row in rows])
            if time.monotonic() - self._counted_at >= COUNT_EVERY_S:
                self._backlog = await inbox.backlog(conn)
                self._counted_at = time.monotonic()
        except Exception as exc:
            for _, fut in group:
                if not fut.done():
                    fut.set_exception(NotCarried(f"the gateway inbox is unavailable: {exc}"))
            raise
        at = 0
        for rows, fut in group:
            if not fut.done():
                fut.set_result(ids[at : at + len(rows)])
            at += len(rows)

    async def _watch_once(self) -> None:
        if not self._waiting:
            self._wake.clear()
            await self._wake.wait()
        conn = await self._connection(1)
        # Woken by ingest's commit, or at the latest after WATCH_EVERY_S.
        async for _ in conn.notifies(timeout=WATCH_EVERY_S, stop_after=1):
            pass
        asked = dict(self._ids_of)  # hand-overs registered later are not in the answer
        every = {i for ids in asked.values() for i in ids}
        left = await inbox.remaining(conn, every) if every else set()
        for last, ids in asked.items():
            waiting = self._waiting.get(last)
            if waiting is not None and not ids & left:
                _settle(waiting)


def _row(gateway: str, item: Inbound) -> inbox.InboxRow:
    rejection = item.rejection
    topic = _clean(item.topic)
    return (
        topic_site(topic),  # fw/v1/{site}/… and gw/{gateway}/{site}/… alike
        gateway,
        _text(rejection.device_id) if rejection is not None else _device_of(topic),
        topic,
        item.payload,
        item.received_at,
        rejection.reason.value if rejection is not None else None,
        _clean(rejection.detail) if rejection is not None else None,
    )


def _clean(value: str) -> str:
    """PostgreSQL's text refuses NUL, and one refused row would fail its whole group."""
    return value.replace("\x00", "\ufffd")


def _text(value: str | None) -> str | None:
    return None if value is None else _clean(value)


def _device_of(topic: str) -> str | None:
    levels = topic.split("/")
    return levels[3] if len(levels) == 5 and levels[0] == "fw" else None
