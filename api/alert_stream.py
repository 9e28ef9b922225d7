"""The live stream of one API process: one LISTEN connection wakes one reader, which fans
events out to every connected browser: ``event: alert`` from the alert log and ``event:
incident`` from the incident log, interleaved in id order.

Each replica listens for itself, so the stream works behind a load balancer. NOTIFY is only a
wake-up: events are read from the two logs as one, in id order, which is commit order
(migrations 0006 and 0010), so a reconnecting client that names the last event it saw gets
exactly what it missed. Each event is encoded once, as its SSE frame, for every client.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from api.alert_schemas import AlertRead
from api.incident_schemas import IncidentRead
from store.alert_queries import events_after, events_between, listen_alerts, stream_head
from store.database import DatabaseUnavailable, connect_async

log = logging.getLogger(__name__)

POLL_S = 1.0  # read even without a wake-up, should a notification be lost with a connection
BATCH = 500
REPLAY_MAX = 5000  # beyond this a client is told to reload rather than replay
QUEUE_MAX = 2000  # a client this far behind is cut off; it reconnects and replays
HEARTBEAT_S = 15.0
RECHECK_S = 2.0  # how often a client's token is checked again: a disabled user is cut off


@dataclass(frozen=True, slots=True)
class Frame:
    """One event, encoded once for every client that may see it."""

    log_id: int
    site: str | None
    data: bytes | None  # None: a suppressed alert's, which operators never see


_END = Frame(0, None, None)  # queued for a client that was cut off


def frames_of(events: Sequence[dict[str, Any]]) -> list[Frame]:
    """``store.alert_queries.events_after``'s events as SSE frames: ``event: alert`` or
    ``event: incident``, ``id:`` the log id. An incident in several events of one batch is
    encoded once."""
    incidents: dict[int, dict[str, Any]] = {}
    frames = []
    for event in events:
        kind: str = event["kind"]
        row = event[kind]
        if kind == "alert":
            if row["suppressed_reason"] is not None:
                frames.append(Frame(event["log_id"], row["site"], None))
                continue
            body = AlertRead.model_validate(row).model_dump(mode="json")
        else:
            if row["id"] not in incidents:
                incidents[row["id"]] = IncidentRead.model_validate(row).model_dump(mode="json")
            body = incidents[row["id"]]
        eid = str(event["log_id"])
        data = {
            "event_id": eid,
            "change": event["action"],
            "actor": event["actor"],
            "from_state": event["from_state"],
            "to_state": event["to_state"],
            "at": event["at"],
            kind: body,
        }
        frame = b"id: %s\nevent: %s\ndata: %s\n\n" % (
            eid.encode(),
            kind.encode(),
            orjson.dumps(data),
        )
        frames.append(Frame(event["log_id"], row["site"], frame))
    return frames


class ReplayTooLong(Exception):
    """The client missed more events than are worth replaying one by one."""


def parse_event_id(text: str) -> int:
    """Raises ValueError with what a valid id looks like."""
    if not text.isdigit() or len(text) > 18:
        raise ValueError(f"Last-Event-ID {text!r} is not an event id of this stream (digits)")
    return int(text)


@dataclass(eq=False)
class _Client:
    queue: asyncio.Queue[Frame] = field(default_factory=lambda: asyncio.Queue(QUEUE_MAX))


async def _valid(still_valid: Callable[[], Awaitable[bool]]) -> bool:
    """A database that cannot answer keeps the stream open: the stream stalls with it anyway,
    and a blip must not cut every console off; the next check decides."""
    try:
        return await still_valid()
    except (psycopg.Error, OSError) as exc:
        log.warning("could not check a stream's token again (%s); keeping it", exc)
        return True


class AlertStream:
    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._clients: set[_Client] = set()
        self._wake = asyncio.Event()
        self.head = 0
        self.ready = asyncio.Event()

    @property
    def clients(self) -> int:
        return len(self._clients)

    async def run(self) -> None:
        """Until cancelled; a lost database connection is retried, clients stay attached."""
        while True:
            try:
                async with (
                    await connect_async(self._url) as listen,
                    await connect_async(self._url) as reader,
                ):
                    await listen_alerts(listen)
                    if not self.ready.is_set():
                        self.head = await stream_head(reader)
                        self.ready.set()
                    async with asyncio.TaskGroup() as tasks:
                        tasks.create_task(self._listen(listen))
                        tasks.create_task(self._read(reader))
            except* (psycopg.Error, DatabaseUnavailable, OSError) as group:
                log.warning("alert stream lost the database (%s); retrying in 2 s", group)
                await asyncio.sleep(2)

    async def _listen(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            async for _ in conn.notifies(timeout=POLL_S, stop_after=1):
                break
            self._wake.set()  # on a notification or the poll timeout alike

    async def _read(self, conn: psycopg.AsyncConnection[Any]) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while events := await events_after(conn, self.head, upto=None, limit=BATCH):
                self.head = events[-1]["log_id"]
                if self._clients:  # else nobody to encode them for
                    for frame in frames_of(events):
                        self._publish(frame)
                if len(events) < BATCH:
                    break

    def _publish(self, event: Frame) -> None:
        for client in list(self._clients):
            try:
                client.queue.put_nowait(event)
            except asyncio.QueueFull:
                self._drop(client)

    def _drop(self, client: _Client) -> None:
        self._clients.discard(client)
        with contextlib.suppress(asyncio.QueueEmpty):
            client.queue.get_nowait()  # make room for the end marker
        client.queue.put_nowait(_END)

    async def subscribe(  # noqa: C901 - the stream's one loop: replay, live events, keep-alive, token recheck and disconnect, in the order a client sees them
        self,
        pool: AsyncConnectionPool[Any],
        after: int | None,
        *,
        still_valid: Callable[[], Awaitable[bool]],
    ) -> AsyncIterator[Frame | None]:
        """What the client missed since ``after``, read from the log, then live events; None
        when nothing happened for a heartbeat's time. Attaching and reading the head happen
        with no await between them, so no event falls between the replay and the live queue.
        Raises ReplayTooLong before sending anything if the gap is too long to replay.
        Ends when ``still_valid``, asked every RECHECK_S, says the client's session is over."""
        await self.ready.wait()
        client = _Client()
        self._clients.add(client)
        upto = self.head
        try:
            if after is not None and after < upto:
                async with pool.connection() as conn:
                    if await events_between(conn, after, upto, limit=REPLAY_MAX + 1) > REPLAY_MAX:
                        raise ReplayTooLong
                    while batch := await events_after(conn, after, upto=upto, limit=BATCH):
                        for missed in frames_of(batch):
                            yield missed
                        after = batch[-1]["log_id"]
            loop = asyncio.get_running_loop()
            checked = quiet_since = loop.time()
            while True:
                event: Frame | None = None
                with contextlib.suppress(TimeoutError):
                    event = await asyncio.wait_for(client.queue.get(), RECHECK_S)
                now = loop.time()
                if now - checked >= RECHECK_S:
                    if not await _valid(still_valid):
                        return
                    checked = now
                if event is _END:
                    return
                if event is not None:
                    quiet_since = now
                    yield event
                elif now - quiet_since >= HEARTBEAT_S:
                    quiet_since = now
                    yield None
        finally:
            self._clients.discard(client)
