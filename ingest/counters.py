"""What ingest has done, for logs, /metrics and the benchmark. Written by one thread only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from prometheus_client import Histogram

from contract.messages import Reason

# Latency buckets, in seconds (Prometheus style: each counts observations <= bound).
COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# From a device's timestamp to the alert's commit: the target is 1 s at the 99th percentile.
ALERT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def _histogram(name: str, doc: str, buckets: tuple[float, ...]) -> Histogram:
    """Registered nowhere: each IngestCounters owns its own (tests run several services in one
    process), and api/metrics.py renders them at scrape time."""
    return Histogram(name, doc, buckets=buckets, registry=None)


def mean(histogram: Histogram) -> float:
    """The mean observation, from the histogram's own sum and count (0 before the first)."""
    (metric,) = histogram.collect()
    totals = {s.name.removeprefix(metric.name): s.value for s in metric.samples if not s.labels}
    return totals["_sum"] / totals["_count"] if totals["_count"] else 0.0


@dataclass(kw_only=True, slots=True)
class IngestCounters:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    batches: int = 0
    retries: int = 0
    alerts_opened: int = 0
    event_copies: int = 0  # second copies of events (both sessions get them), acknowledged only
    session_troubles: int = 0  # ingest's broker sessions taken over or lost (ingest/sessions.py)
    postponed: int = 0  # periodic runs (maintenance, timers, partition) put off: database away
    rejected: Counter[Reason] = field(default_factory=Counter)
    commit_seconds: Histogram = field(
        default_factory=lambda: _histogram(
            "firewatch_ingest_commit_seconds", "Writing one batch", COMMIT_BUCKETS
        )
    )
    alert_latency_seconds: Histogram = field(
        default_factory=lambda: _histogram(
            "firewatch_alert_latency_seconds",
            "From the device's timestamp to the raised alert's commit",
            ALERT_BUCKETS,
        )
    )
    last_commit_unix: float = 0.0
    lag_seconds: float = 0.0  # the last batch: from its first message's arrival to its commit

    def summary(self) -> str:
        rejected = sum(self.rejected.values())
        return (
            f"received={self.received} stored={self.stored} duplicates={self.duplicates} "
            f"rejected={rejected} batches={self.batches} alerts_opened={self.alerts_opened} "
            f"commit_ms_mean={mean(self.commit_seconds) * 1000:.1f}"
        )
