"""The bounded tables' sizes and drops as Prometheus metrics, read at scrape time."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from store.bounded import table_usage
from store.database import DatabaseUnavailable, connect

log = logging.getLogger(__name__)


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
