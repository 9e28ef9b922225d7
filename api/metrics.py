"""The API's Prometheus registry: its own gauges, the bounded tables, and whatever collectors
the process adds (ingest's, when ingest runs beside it). Each app has its own registry, so
several apps in one process (tests) never collide."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store.table_metrics import TableCollector


class GaugeCollector(Collector):
    """One gauge read from a callable at scrape time."""

    def __init__(self, name: str, doc: str, read: Callable[[], float]) -> None:
        self._name, self._doc, self._read = name, doc, read

    def collect(self) -> Iterator[Metric]:
        yield GaugeMetricFamily(self._name, self._doc, value=self._read())


def registry_for(
    *,
    sse_clients: Callable[[], float] | None,
    database_url: str | None = None,
    collectors: Sequence[Collector] = (),
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
    for collector in collectors:
        registry.register(collector)
    return registry
