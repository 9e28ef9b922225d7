"""Ingest's histograms are prometheus_client's: on /metrics they keep the names and bucket
bounds they had, with no ``_created`` series, and the progress line keeps its mean."""

from __future__ import annotations

from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from api.metrics import registry_for
from ingest.counters import ALERT_BUCKETS, COMMIT_BUCKETS, IngestCounters
from ingest.metrics import IngestCollector


def test_histograms_render_as_before() -> None:
    counters = IngestCounters()
    for seconds in (0.004, 0.02, 0.02, 7.0):
        counters.commit_seconds.observe(seconds)
    counters.alert_latency_seconds.observe(0.3)
    text = generate_latest(
        registry_for(sse_clients=None, collectors=[IngestCollector(counters)])
    ).decode()
    samples = {
        (s.name, s.labels.get("le")): s.value
        for family in text_string_to_metric_families(text)
        if family.type == "histogram"
        for s in family.samples
    }
    commit = {le: v for (name, le), v in samples.items() if name.endswith("commit_seconds_bucket")}
    assert list(commit) == [repr(b) for b in COMMIT_BUCKETS] + ["+Inf"]
    assert (commit["0.005"], commit["0.025"], commit["5.0"], commit["+Inf"]) == (1, 3, 3, 4)
    assert samples[("firewatch_ingest_commit_seconds_count", None)] == 4
    assert samples[("firewatch_ingest_commit_seconds_sum", None)] == 0.004 + 0.02 + 0.02 + 7.0
    latency = [le for name, le in samples if name == "firewatch_alert_latency_seconds_bucket"]
    assert latency == [repr(b) for b in ALERT_BUCKETS] + ["+Inf"]
    assert samples[("firewatch_alert_latency_seconds_count", None)] == 1
    assert "_created" not in text
    assert "commit_ms_mean=1761.0" in counters.summary()
