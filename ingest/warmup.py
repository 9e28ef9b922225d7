"""Rebuilding the engine's state when ingest starts, from what the store already holds, so a
restart neither forgets a rising baseline nor loses the returns of alerts already open."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from alerts.device_table import RING_METRICS
from alerts.engine import Engine
from alerts.trend import BUCKETS
from contract.messages import Decoded
from contract.topics import Channel
from ingest.registry import RegistryCache
from store.engine_state import (
    Row,
    bucketed_readings,
    last_heard,
    recent_readings,
    shields,
)

TREND_METRIC = "residual_current_ma"
TREND_WINDOW = timedelta(hours=4)


def warm_engine(
    conn: psycopg.Connection[Any],
    engine: Engine,
    *,
    registry: RegistryCache,
    now: datetime,
    window: timedelta,
    open_alerts: Sequence[tuple[str, str]],
    owns: Callable[[str], bool] | None = None,
) -> int:
    """Configures every device, replays recent readings (decisions discarded: what they would
    say is already in the alerts table) and marks open alerts active. Returns readings replayed;
    older leakage history arrives as bucket means, which is all the trend needs. With ``owns``
    (a partitioned worker), only the devices and alert subjects it accepts."""
    devices = {i: d for i, d in registry.everything().items() if owns is None or owns(i)}
    engine.configure(devices.values())
    engine.remember_heard(last_heard(conn))
    engine.remember_shields({i: s for i, s in shields(conn).items() if i in devices})
    raw_since = now - window
    chunks = []
    if now - TREND_WINDOW < raw_since:
        chunks.append(
            bucketed_readings(
                conn,
                metric=TREND_METRIC,
                width=TREND_WINDOW / BUCKETS,
                since=now - TREND_WINDOW,
                until=raw_since,
            )
        )
    chunks.append(recent_readings(conn, metrics=RING_METRICS, since=raw_since, until=now))
    replayed = 0
    for source in chunks:
        for rows in source:
            batch = [_message(row, devices[row[1]].site) for row in rows if row[1] in devices]
            engine.evaluate(batch)
            engine.commit()
            replayed += len(batch)
    engine.remember_open(k for k in open_alerts if owns is None or owns(k[0]))
    return replayed


def _message(row: Row, site: str) -> tuple[Decoded, datetime]:
    ts, device_id, metric, value, received_at = row
    return Decoded(site, device_id, Channel.READING, ts, 0, {metric: value}), received_at
