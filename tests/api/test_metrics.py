"""/metrics with ingest in the same process: real messages move the counters Prometheus reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from alerts.kinds import Kind
from api.app import create_app
from firewatch.settings import MqttTarget, Settings
from ingest.topics import Channel, topic_for
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import running, wait_received


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_ingest_did(settings: Settings, registry: Registry) -> None:
    detector = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE,
                         settings.site)  # fmt: skip
    with running(settings) as ingest:
        app = create_app(settings, ingest_counters=ingest.counters)
        with TestClient(app) as client:
            before = client.get("/metrics")
            assert before.headers["content-type"].startswith("text/plain; version=")
            assert _samples(before.text)[("firewatch_ingest_received_total", ())] == 0
            with Publisher(MqttTarget(settings.mqtt_url), client_id=f"p-{settings.site}") as pub:
                pub.publish(*detector.event(datetime.now(UTC), "alarm"))
                pub.publish(*detector.reading(datetime.now(UTC)))
                pub.publish(topic_for(settings.site, detector.id, Channel.READING), b"{not json")
            wait_received(ingest, 3)
            got: dict[Any, float] = _samples(client.get("/metrics").text)
    assert got[("firewatch_ingest_received_total", ())] == 3
    assert got[("firewatch_ingest_stored_total", ())] == 2
    assert got[("firewatch_ingest_rejected_total", (("reason", "malformed"),))] == 1
    # The engine's timers may also open alerts (offline) for other tests' devices.
    assert got[("firewatch_ingest_alerts_opened_total", ())] >= 1
    assert got[("firewatch_alert_latency_seconds_count", ())] == 1
    assert got[("firewatch_alert_latency_seconds_bucket", (("le", "+Inf"),))] == 1
    assert got[("firewatch_ingest_commit_seconds_count", ())] >= 1
    assert 0 <= got[("firewatch_ingest_seconds_since_commit", ())] < 60
    assert got[("firewatch_sse_clients", ())] == 0


def test_metrics_without_ingest_have_only_the_api(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        names = {name for name, _ in _samples(client.get("/metrics").text)}
    assert names == {"firewatch_sse_clients"}
