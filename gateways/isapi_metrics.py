"""The ISAPI receiver's Prometheus metrics: plain counters bumped by the route, turned into
metric families only when Prometheus scrapes (as ingest/metrics.py does)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


@dataclass(slots=True)
class IsapiCounters:
    received: int = 0  # requests, challenged ones included
    committed: int = 0  # notifications answered 200 after ingest committed them
    messages: int = 0  # contract messages those carried
    challenged: int = 0  # 401 to a request without credentials (Digest's first round)
    refused: Counter[str] = field(default_factory=Counter)  # by dead-letter reason
    unrecorded: int = 0  # refusals over the rate limit: answered, not dead-lettered
    not_carried: int = 0  # 503: ingest did not commit in time
    pictures_dropped: int = 0
    picture_bytes_dropped: int = 0


class IsapiCollector(Collector):
    def __init__(self, counters: IsapiCounters) -> None:
        self._c = counters

    def collect(self) -> Iterator[Metric]:
        c = self._c
        for name, doc, value in (
            ("received", "ISAPI notification requests received", c.received),
            ("committed", "ISAPI notifications committed by ingest and answered 200", c.committed),
            ("messages", "Contract messages made from committed ISAPI notifications", c.messages),
            ("challenged", "ISAPI requests without credentials, answered 401", c.challenged),
            ("unrecorded", "ISAPI refusals over the rate limit, not dead-lettered", c.unrecorded),
            (
                "not_carried",
                "ISAPI notifications answered 503: not committed in time",
                c.not_carried,
            ),
            (
                "pictures_dropped",
                "Picture parts of ISAPI notifications dropped",
                c.pictures_dropped,
            ),
            (
                "picture_bytes_dropped",
                "Bytes of picture parts of ISAPI notifications dropped unread",
                c.picture_bytes_dropped,
            ),
        ):
            yield CounterMetricFamily(f"firewatch_gateway_isapi_{name}", doc, value=value)
        refused = CounterMetricFamily(
            "firewatch_gateway_isapi_refused",
            "ISAPI notifications refused, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(c.refused.items()):
            refused.add_metric([reason], count)
        yield refused
