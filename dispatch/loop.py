"""The dispatch loop of ``firewatch dispatcher``, beside the sender: automatic dispatch of
confirmed fires and escalation of dispatches nobody accepted in time.

It looks every ``dispatch_tick_s`` and at once when an incident changes (the incident log's
NOTIFY), so a confirmed fire is dispatched within a round trip of its commit. Every
``MAINTENANCE_S`` (and when it starts) it also deletes what is past retention, a bounded batch
each time (``maintain``). Any number of
loops may run, in one process or several: an escalation locks its dispatch (SKIP LOCKED) and
an automatic dispatch is unique per incident.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from psycopg import sql

from dispatch import field_links
from dispatch.dispatcher import DispatchConfig, auto_dispatch_due, escalate_next
from registry.errors import Conflict
from settings import Settings
from store.deliveries import prune_deliveries
from store.field import prune_field_data
from store.notify import CHANNEL

log = logging.getLogger("firewatch.dispatch")

# Escalations handled per tick at most: a backlog is worked through tick by tick.
MAX_ESCALATIONS_PER_TICK = 100
RECONNECT_S = 2.0
# Retention: at most this many rows (deliveries) and dispatches (field data) per run.
MAINTENANCE_S = 3600.0
PRUNE_BATCH = 1000


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


async def maintain(
    conn: psycopg.AsyncConnection[Any], *, now: datetime, settings: Settings, limit: int
) -> tuple[int, int]:
    """Deliveries done before FIREWATCH_DELIVERY_RETENTION_DAYS and the field data of
    incidents resolved before FIREWATCH_FIELD_RETENTION_DAYS, up to ``limit`` of each, each in
    its own transaction; returns (deliveries, dispatches) pruned. ``conn``: no transaction
    open."""
    async with conn.transaction():
        deliveries = await prune_deliveries(
            conn, before=now - timedelta(days=settings.delivery_retention_days), limit=limit
        )
    async with conn.transaction():
        dispatches = await prune_field_data(
            conn, before=now - timedelta(days=settings.field_retention_days), limit=limit
        )
    return deliveries, dispatches


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
        loop = asyncio.get_running_loop()
        upkeep_at = loop.time()
        while not stop.is_set():
            if loop.time() >= upkeep_at:
                upkeep_at = loop.time() + MAINTENANCE_S
                await _upkeep(conn, settings)
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


async def _upkeep(conn: psycopg.AsyncConnection[Any], settings: Settings) -> None:
    try:
        pruned = await maintain(conn, now=datetime.now(UTC), settings=settings, limit=PRUNE_BATCH)
    except psycopg.OperationalError:
        raise
    except Exception:
        log.exception("dispatch loop: retention failed; trying again at the next run")
        return
    if any(pruned):
        log.info("dispatch loop: pruned %d deliveries and the field data of %d dispatches", *pruned)


async def _incident_changed(listener: psycopg.AsyncConnection[Any], *, timeout_s: float) -> None:
    """Returns when an incident changed (a confirmation among them) or ``timeout_s`` passed;
    alert changes alone do not wake the loop."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while (left := deadline - loop.time()) > 0:
        async for note in listener.notifies(timeout=left, stop_after=1):
            if "incident" in orjson.loads(note.payload):
                return
