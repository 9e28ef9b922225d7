"""Ingest's Prometheus metrics: its counters, and a /metrics of its own when no API runs beside it.

Ingest keeps plain counters on its hot path, written by one thread, and two library histograms
observed once per batch; the collector turns them into metric families only when Prometheus
scrapes, so measuring costs ingest nothing per message. The API's /metrics takes the same
collector when ingest runs in its process (firewatch/serving.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ingest.counters import IngestCounters
from store.table_metrics import TableCollector

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


def serve_metrics(
    port: int,
    counters: IngestCounters,
    *,
    database_url: str,
    collectors: Sequence[Collector] = (),
) -> None:
    """/metrics for an ingest process without the API, from a daemon thread; ``collectors``
    are its gateways' (gateways/mapped_mqtt.py)."""
    registry = CollectorRegistry()
    registry.register(IngestCollector(counters))
    for collector in collectors:
        registry.register(collector)
    registry.register(TableCollector(database_url))
    start_http_server(port, registry=registry)
    log.info("ingest metrics on http://0.0.0.0:%d/metrics", port)
