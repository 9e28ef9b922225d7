"""FIREWATCH_MQTT_URL listing several brokers: ingest's session and the publisher connect to
the first that answers and, when it goes away, reconnect to the next. Two Mosquittos stand in
for a cluster's nodes here; tests/broker/test_nats_cluster.py does it on a real cluster."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from firewatch.testing import free_port, wait_until
from ingest.mqtt_source import MqttSource
from settings import MqttTarget, Settings
from simulators.publisher import Publisher
from tests.faults.private_broker import PrivateBroker


def test_the_url_lists_a_clusters_nodes_with_credentials_once() -> None:
    target = MqttTarget("mqtt://svc.ingest:p%40ss@n1:1883,n2:1884,[::1]")
    assert target.addresses == [("n1", 1883), ("n2", 1884), ("::1", 1883)]
    assert (target.host, target.port) == ("n1", 1883)
    assert (target.username, target.password) == ("svc.ingest", "p@ss")


@pytest.mark.parametrize("url", ["mqtt://n1:1883,,n2", "mqtt://n1:1883,n2:x", "http://n1"])
def test_a_malformed_list_is_refused_with_the_expected_form(url: str) -> None:
    with pytest.raises(ValueError, match="list a cluster's nodes"):
        Settings(mqtt_url=url)


def test_ingest_fails_over_to_the_next_broker_and_keeps_receiving(
    tmp_path: Path, site: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = PrivateBroker(tmp_path / "a"), PrivateBroker(tmp_path / "b")
    nowhere = f"127.0.0.1:{free_port()}"  # listed first, never up: start moves past it
    url = f"mqtt://{nowhere},127.0.0.1:{first.port},127.0.0.1:{second.port}"
    topic = f"fw/v1/{site}/D1/reading"
    with first, second:
        source = MqttSource(
            MqttTarget(url),
            client_id=f"ingest-{site}",
            subscription=f"fw/v1/{site}/#",
            session_expiry_s=60,
            receive_maximum=100,
        )
        source.start(wait_s=10)
        try:
            with caplog.at_level(logging.WARNING, logger="contract.failover"):
                first.stop()
                wait_until(lambda: source.connected, timeout=15, what="ingest on the next broker")
            assert f"failing over to 127.0.0.1:{second.port}" in caplog.text
            with Publisher(MqttTarget(url), client_id=f"pub-{site}") as pub:
                pub.publish(topic, b"{}")
            batch = source.next_batch(max_size=10, max_bytes=2**20, wait_s=0.1, idle_s=10)
            assert [item.topic for item in batch] == [topic]
        finally:
            source.stop()
