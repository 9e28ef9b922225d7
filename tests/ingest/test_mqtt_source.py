"""The MQTT adapter against a real broker: acknowledgements only on the connection a message
came in on, and the MQTT 5 session mode."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from contract.kinds import Kind
from firewatch.testing import broker_config, free_port, start_broker, stop_broker, wait_until
from ingest.mqtt_source import MqttSource
from ingest.pipeline import Inbound
from ingest.service import IngestService
from settings import MqttTarget, Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import scalar, wait_received


def _collect(source: MqttSource, count: int) -> list[Inbound]:
    got: list[Inbound] = []

    def more() -> bool:
        got.extend(source.next_batch(max_size=count, max_bytes=1 << 20, wait_s=0.05, idle_s=0.1))
        return len(got) >= count

    wait_until(more, timeout=15, what=f"{count} messages")
    return got


def test_acks_for_a_lost_connection_are_never_sent_on_the_next(tmp_path: Path) -> None:
    port = free_port()
    conf = broker_config(tmp_path, port)
    broker = start_broker(conf, port)
    target = MqttTarget(f"mqtt://127.0.0.1:{port}")
    source = MqttSource(
        target,
        client_id="ack-guard",
        subscription="fw/v1/guard/#",
        session_expiry_s=600,
        receive_maximum=100,
    )
    try:
        source.start()
        with Publisher(target, client_id="ack-guard-pub") as pub:
            for n in range(10):
                pub.publish(f"fw/v1/guard/D{n}/reading", b"{}")
        first = _collect(source, 10)
        stop_broker(broker)
        wait_until(lambda: not source.connected, timeout=10, what="the connection to drop")
        broker = start_broker(conf, port)
        wait_until(lambda: source.connected, timeout=15, what="the reconnection")
        assert source.ack(first) == 0  # their packet ids mean nothing on this connection
        again = _collect(source, 10)  # so the broker redelivers them
        assert sorted(i.topic for i in again) == sorted(i.topic for i in first)
        assert source.ack(again) == 10
    finally:
        source.stop()
        stop_broker(broker)


def test_mqtt5_session_stores_and_acknowledges(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    v5 = settings.model_copy(update={"ingest_mqtt5": True})
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)

    def run_once(publish: int) -> IngestService:
        service = IngestService(v5)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        wait_until(lambda: service.ready, timeout=10, what="ingest (MQTT 5) to connect")
        if publish:
            with Publisher(v5.mqtt, client_id=f"pub-{site}") as pub:
                for _ in range(publish):
                    pub.publish(*smoke.reading(datetime.now(UTC)))
            wait_received(service, publish)
        else:
            stop.wait(1.0)  # anything unacknowledged would be redelivered now
        stop.set()
        thread.join(timeout=10)
        return service

    first = run_once(50)
    assert first.counters.stored == 50
    second = run_once(0)  # the same session again: everything was acknowledged
    assert second.counters.received == 0
    assert (
        scalar(db, "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s", smoke.id) == 50
    )
