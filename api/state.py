"""The app's state, typed and set once by the app factory and its lifespan, and the
dependencies routes take it through instead of untyped ``request.app.state`` lookups."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from prometheus_client import CollectorRegistry
from psycopg_pool import AsyncConnectionPool

from api.alert_stream import AlertStream
from gateways.carrier import InboxCarrier
from gateways.platform_mapping import PlatformMaps
from gateways.push_metrics import PushCounters
from gateways.refusal_budget import RefusalBudget
from settings import Settings


@dataclass(kw_only=True, slots=True)
class AppState:
    """``pool`` and ``auth_pool`` (token checks only) are opened by the lifespan, so they
    are None only before start-up and after shutdown; ``session_problem`` is set when ingest
    runs in this process."""

    settings: Settings
    alert_stream: AlertStream
    metrics: CollectorRegistry
    broker_ok: Callable[[], Awaitable[bool]]
    session_problem: Callable[[], str | None] | None
    pool: AsyncConnectionPool[Any] | None = None
    auth_pool: AsyncConnectionPool[Any] | None = None
    # The HTTP push receivers' way to ingest (api/routers/gateways_*.py), started by the
    # lifespan: a 200 to a platform or a camera means ingest has committed its push.
    gateway_carrier: InboxCarrier | None = None
    # The NB-IoT platform pushes' device mappings (read from the registry every few seconds)
    # and counters (on this app's /metrics).
    push_maps: PlatformMaps = field(default_factory=PlatformMaps)
    push_counters: PushCounters = field(default_factory=PushCounters)
    # The platforms' refusals dead-lettered at most this fast (their routes face the internet).
    push_refusals: RefusalBudget = field(default_factory=RefusalBudget)

    def __post_init__(self) -> None:
        self.metrics.register(self.push_counters)

    @property
    def open_pool(self) -> AsyncConnectionPool[Any]:
        assert self.pool is not None, "the pool is opened by the app's lifespan"
        return self.pool

    @property
    def open_auth_pool(self) -> AsyncConnectionPool[Any]:
        assert self.auth_pool is not None, "the pool is opened by the app's lifespan"
        return self.auth_pool

    @property
    def carrier(self) -> InboxCarrier:
        assert self.gateway_carrier is not None, "the carrier is started by the app's lifespan"
        return self.gateway_carrier


def get_state(request: Request) -> AppState:
    state = request.app.state.firewatch
    assert isinstance(state, AppState)
    return state


State = Annotated[AppState, Depends(get_state)]


async def connection(state: State) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """A pooled connection for the request; committed as the route returns, rolled back if
    it raises."""
    async with state.open_pool.connection() as conn:
        yield conn


async def transaction(
    conn: Annotated[psycopg.AsyncConnection[Any], Depends(connection, scope="function")],
) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
    """The request's one transaction: services write in it and never commit; it commits
    before the answer is sent, so a 2xx means the write is durable."""
    async with conn.transaction():
        yield conn


# scope="function": both end before the response is sent, so a failed commit is the answer.
Conn = Annotated[psycopg.AsyncConnection[Any], Depends(connection, scope="function")]
Tx = Annotated[psycopg.AsyncConnection[Any], Depends(transaction, scope="function")]
