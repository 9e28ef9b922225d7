"""The HTTP push receivers' Prometheus metrics, per gateway: plain counters bumped by the
routes, turned into metric families only when Prometheus scrapes (as ingest/metrics.py)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector


class PushCounters(Collector):
    """``answered``: pushes by gateway and HTTP status (200 only after commit; 503 when ingest
    did not commit in time); ``messages``: contract messages committed; ``refused``: dead
    letters the gateway made, by reason; ``ignored``: what the push held that is not kept
    (unmapped fields, offline reports, message types not ours)."""

    def __init__(self) -> None:
        self.answered: Counter[tuple[str, int]] = Counter()
        self.messages: Counter[str] = Counter()
        self.refused: Counter[tuple[str, str]] = Counter()
        self.ignored: Counter[tuple[str, str]] = Counter()

    def collect(self) -> Iterator[Metric]:
        answered = CounterMetricFamily(
            "firewatch_gateway_push_answered",
            "Platform pushes answered, by gateway and HTTP status",
            labels=["gateway", "status"],
        )
        for (gateway, status), n in sorted(self.answered.items()):
            answered.add_metric([gateway, str(status)], n)
        yield answered
        messages = CounterMetricFamily(
            "firewatch_gateway_push_messages",
            "Contract messages from platform pushes committed by ingest",
            labels=["gateway"],
        )
        for gateway, n in sorted(self.messages.items()):
            messages.add_metric([gateway], n)
        yield messages
        refused = CounterMetricFamily(
            "firewatch_gateway_push_refused",
            "Pushes or their messages dead-lettered by the gateway, by reason",
            labels=["gateway", "reason"],
        )
        for (gateway, reason), n in sorted(self.refused.items()):
            refused.add_metric([gateway, reason], n)
        yield refused
        ignored = CounterMetricFamily(
            "firewatch_gateway_push_ignored",
            "What pushes held that is not kept: unmapped fields, offline reports, other types",
            labels=["gateway", "what"],
        )
        for (gateway, what), n in sorted(self.ignored.items()):
            ignored.add_metric([gateway, what], n)
        yield ignored
