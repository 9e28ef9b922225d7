"""Prometheus metrics: ingest's counters (when ingest runs in this process) and the API's own.

Ingest keeps plain counters on its hot path, written by one thread, and two library histograms
observed once per batch; a collector turns them into metric families only when Prometheus
scrapes, so measuring costs ingest nothing per message.
Each app has its own registry, so several apps in one process (tests) never collide.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

import psycopg
from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ingest.counters import IngestCounters
from store.bounded import table_usage
from store.database import DatabaseUnavailable, connect

log = logging.getLogger(__name__)


def _without_created(histogram: Histogram) -> Iterator[Metric]:
    """The library histogram's own families, less its ``_created`` series: /metrics has always
    shown only buckets, count and sum, and dashboards expect no more."""
    for metric in histogram.collect():
        metric.samples = [s for s in metric.samples if not s.name.endswith("_created")]
        yield metric


class IngestCollector(Collector):
    def __init__(self, counters: IngestCounters) -> None:
        self._c = counters

    def collect(self) -> Iterator[Metric]:
        c = self._c
        for name, doc, value in (
            ("received", "MQTT messages taken from the broker", c.received),
            ("stored", "Messages stored (readings, events, heartbeats, frames)", c.stored),
            ("duplicates", "Redelivered messages recognised and stored once", c.duplicates),
            ("batches", "Batches committed", c.batches),
            ("db_retries", "Batch writes retried after a database error", c.retries),
            ("postponed", "Periodic runs put off while the database was away", c.postponed),
            (
                "mqtt_session_troubles",
                "Times ingest's broker session was taken over or lost",
                c.session_troubles,
            ),
            ("alerts_opened", "Alerts raised by the engine", c.alerts_opened),
            (
                "event_copies",
                "Second copies of events from the alarm session, skipped",
                c.event_copies,
            ),
        ):
            yield CounterMetricFamily(f"firewatch_ingest_{name}", doc, value=value)
        rejected = CounterMetricFamily(
            "firewatch_ingest_rejected", "Messages dead-lettered, by reason", labels=["reason"]
        )
        for reason, count in sorted(c.rejected.items()):
            rejected.add_metric([reason.value], count)
        yield rejected
        yield from _without_created(c.commit_seconds)
        yield from _without_created(c.alert_latency_seconds)
        yield GaugeMetricFamily(
            "firewatch_ingest_lag_seconds",
            "The last batch: from its first message's arrival to its commit",
            value=c.lag_seconds,
        )
        yield GaugeMetricFamily(
            "firewatch_ingest_seconds_since_commit",
            "Since the last committed batch (grows while ingest is stuck or idle)",
            value=time.time() - c.last_commit_unix if c.last_commit_unix else float("nan"),
        )


class GaugeCollector(Collector):
    """One gauge read from a callable at scrape time."""

    def __init__(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self._name, self._doc, self._read = name, doc, read

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._doc, value=self._read())


class TableCollector(Collector):
    """The bounded tables' rows and drops per site, read from the store at scrape time, so any
    process shows what every ingest worker did. A database that is away leaves them out of
    this scrape rather than failing it."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url

    def collect(self) -> Iterator[Metric]:
        try:
            with connect(self._url, autocommit=True) as conn:
                usage = table_usage(conn)
        except (psycopg.Error, DatabaseUnavailable) as exc:
            log.warning("/metrics: table sizes unavailable (%s)", exc)
            return
        rows = GaugeMetricFamily(
            "firewatch_table_rows",
            "Rows of a bounded table per site (counted at maintenance, plus inserts since)",
            labels=["table", "site"],
        )
        dropped = CounterMetricFamily(
            "firewatch_table_dropped",
            "Rows refused at a bounded table's cap or trimmed to it before their retention",
            labels=["table", "site"],
        )
        for u in usage:
            rows.add_metric([u.table, u.site], u.rows)
            dropped.add_metric([u.table, u.site], u.dropped)
        yield rows
        yield dropped


def registry_for(
    *,
    sse_clients: Callable[[], float] | None,
    ingest: IngestCounters | None,
    database_url: str | None = None,
) -> CollectorRegistry:
    registry = CollectorRegistry()
    if database_url is not None:
        registry.register(TableCollector(database_url))
    if sse_clients is not None:
        registry.register(
            GaugeCollector(
                "firewatch_sse_clients", "Browsers on the live alert stream", sse_clients
            )
        )
    if ingest is not None:
        registry.register(IngestCollector(ingest))
    return registry


def serve_metrics(port: int, counters: IngestCounters, *, database_url: str) -> None:
    """/metrics for an ingest process without the API, from a daemon thread."""
    registry = registry_for(sse_clients=None, ingest=counters, database_url=database_url)
    start_http_server(port, registry=registry)
    log.info("ingest metrics on http://0.0.0.0:%d/metrics", port)
