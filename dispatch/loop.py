"""The dispatch loop of ``firewatch dispatcher``, beside the sender: automatic dispatch of
confirmed fires and escalation of dispatches nobody accepted in time.

It looks every ``dispatch_tick_s`` and at once when an incident changes (the incident log's
NOTIFY), so a confirmed fire is dispatched within a round trip of its commit. Any number of
loops may run, in one process or several: an escalation locks its dispatch (SKIP LOCKED) and
an automatic dispatch is unique per incident.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
from psycopg import sql

from dispatch import field_links
from dispatch.dispatcher import DispatchConfig, auto_dispatch_due, escalate_next
from registry.errors import Conflict
from settings import Settings
from store.notify import CHANNEL

log = logging.getLogger("firewatch.dispatch")

# Escalations handled per tick at most: a backlog is worked through tick by tick.
MAX_ESCALATIONS_PER_TICK = 100
RECONNECT_S = 2.0


async def tick(conn: psycopg.AsyncConnection[Any], *, now: datetime, config: DispatchConfig) -> int:
    """One round: confirmed fires dispatched, then due escalations, each in its own
    transaction; returns how many of either. ``conn``: autocommit, no transaction open."""
    done = len(await auto_dispatch_due(conn, now=now, config=config))
    for _ in range(MAX_ESCALATIONS_PER_TICK):
        async with conn.transaction():
            if not await escalate_next(conn, now=now, config=config):
                break
        done += 1
    return done


async def run(settings: Settings, stop: threading.Event) -> None:
    """Until ``stop`` is set; a lost database is waited for and reconnected to. Refuses to
    start (Conflict, logged) when field links would point where no phone can open them."""
    try:
        field_links.base_url(settings)
    except Conflict as exc:
        log.error("dispatch loop not started: %s", exc.message)
        raise
    while not stop.is_set():
        try:
            await _run_connected(settings, stop)
        except psycopg.OperationalError as exc:
            log.warning(
                "dispatch loop lost the database (%s); retrying in %.0f s", exc, RECONNECT_S
            )
            await asyncio.sleep(RECONNECT_S)


async def _run_connected(settings: Settings, stop: threading.Event) -> None:
    connect = psycopg.AsyncConnection.connect
    async with (
        await connect(settings.database_url, autocommit=True) as listener,
        await connect(settings.database_url, autocommit=True) as conn,
    ):
        await listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        config = await DispatchConfig.of(conn, settings)
        while not stop.is_set():
            try:
                done = await tick(conn, now=datetime.now(UTC), config=config)
            except psycopg.OperationalError:
                raise
            except Exception:
                # One bad row (a roster or channel the dispatcher cannot read) must not stop
                # every other escalation: the round is rolled back and tried again.
                log.exception("dispatch loop: a round failed; trying again next tick")
                done = 0
            if done:
                log.info("dispatch loop: %d dispatches or escalations", done)
            await _incident_changed(listener, timeout_s=settings.dispatch_tick_s)


async def _incident_changed(listener: psycopg.AsyncConnection[Any], *, timeout_s: float) -> None:
    """Returns when an incident changed (a confirmation among them) or ``timeout_s`` passed;
    alert changes alone do not wake the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (left := deadline - loop.time()) > 0:
        async for note in listener.notifies(timeout=left, stop_after=1):
            if "incident" in orjson.loads(note.payload):
                return
