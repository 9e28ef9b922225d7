"""/metrics with ingest in the same process: real messages move the counters Prometheus reads."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from api.app import create_app
from api.metrics import registry_for
from contract.kinds import Kind
from contract.topics import Channel, topic_for
from ingest.metrics import IngestCollector
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from store.dead_letters import insert_dead_letters
from tests.conftest import Registry
from tests.ingest.helpers import running, wait_received


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_ingest_did(settings: Settings, registry: Registry) -> None:
    detector = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site)
    with running(settings) as ingest:
        app = create_app(settings, collectors=[IngestCollector(ingest.counters)])
        with TestClient(app) as client:
            before = client.get("/metrics")
            assert before.headers["content-type"].startswith("text/plain; version=")
            assert _samples(before.text)[("firewatch_ingest_received_total", ())] == 0
            with Publisher(settings.mqtt, client_id=f"p-{settings.site}") as pub:
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


TABLES = {"firewatch_table_rows", "firewatch_table_dropped_total"}


def test_metrics_without_ingest_have_only_the_api(settings: Settings) -> None:
    """The API's own, and those of the camera alarm receiver it serves (from the start)."""
    with TestClient(create_app(settings)) as client:
        names = {name for name, _ in _samples(client.get("/metrics").text)}
    isapi = {n for n in names if n.startswith("firewatch_gateway_isapi_")}
    assert "firewatch_gateway_isapi_received_total" in isapi
    assert names - TABLES - isapi == {"firewatch_sse_clients"}


def test_metrics_show_the_bounded_tables_and_what_they_dropped(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    db.execute(
        "INSERT INTO table_caps VALUES ('dead_letters', 3)"
        " ON CONFLICT (tbl) DO UPDATE SET max_rows = excluded.max_rows"
    )
    try:
        with db.transaction():
            insert_dead_letters(
                db,
                [
                    (
                        datetime.now(UTC),
                        f"fw/v1/{site}/U{i}/event",
                        f"U{i}",
                        "unknown_device",
                        "not registered",
                        b"{}",
                        2,
                    )
                    for i in range(5)
                ],
            )
    finally:
        db.execute("DELETE FROM table_caps")
    with TestClient(create_app(settings)) as client:
        got = _samples(client.get("/metrics").text)
    labels = (("site", site), ("table", "dead_letters"))
    assert got[("firewatch_table_rows", labels)] == 3
    assert got[("firewatch_table_dropped_total", labels)] == 2
    # Refused dead letters still list their unknown ids.
    pending = (("site", site), ("table", "pending_devices"))
    assert (
        got[("firewatch_table_rows", pending)],
        got[("firewatch_table_dropped_total", pending)],
    ) == (5, 0)


def test_metrics_without_the_database_still_answer(settings: Settings) -> None:
    with TestClient(create_app(settings)) as client:
        # The app's pool stays on the real database; the collector is pointed at a dead port.
        client.app.state.firewatch.metrics = registry_for(  # type: ignore[attr-defined]
            sse_clients=lambda: 0, database_url="postgresql://postgres@127.0.0.1:1/x"
        )
        response = client.get("/metrics")
    assert response.status_code == 200
    assert {name for name, _ in _samples(response.text)} == {"firewatch_sse_clients"}
