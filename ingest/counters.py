"""What ingest has done, for logs, /metrics and the benchmark. Written by one thread only."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from contract.messages import Reason

# Latency buckets, in seconds (Prometheus style: each counts observations <= bound).
COMMIT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
# From a device's timestamp to the alert's commit: the target is 1 s at the 99th percentile.
ALERT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


@dataclass(slots=True)
class Histogram:
    bounds: tuple[float, ...] = COMMIT_BUCKETS
    counts: list[int] = field(default_factory=list)
    total: float = 0.0
    n: int = 0

    def __post_init__(self) -> None:
        self.counts = [0] * (len(self.bounds) + 1)

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else 0.0

    def observe(self, value: float) -> None:
        for index, bound in enumerate(self.bounds):
            if value <= bound:
                self.counts[index] += 1
                break
        else:
            self.counts[-1] += 1
        self.total += value
        self.n += 1


@dataclass(slots=True)
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
    commit_seconds: Histogram = field(default_factory=Histogram)
    alert_latency_seconds: Histogram = field(default_factory=lambda: Histogram(ALERT_BUCKETS))
    last_commit_unix: float = 0.0
    lag_seconds: float = 0.0  # the last batch: from its first message's arrival to its commit

    def summary(self) -> str:
        rejected = sum(self.rejected.values())
        return (
            f"received={self.received} stored={self.stored} duplicates={self.duplicates} "
            f"rejected={rejected} batches={self.batches} alerts_opened={self.alerts_opened} "
            f"commit_ms_mean={self.commit_seconds.mean * 1000:.1f}"
        )
