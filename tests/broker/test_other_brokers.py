"""Ingest's end-to-end, dead-letter and kill -9 tests, unchanged, on the other brokers: a
three-node NATS cluster named by its list of addresses in FIREWATCH_MQTT_URL (deploy/nats/),
and a RabbitMQ node with its MQTT plugin (deploy/rabbitmq/). The tests are the very
functions of tests/ingest/ and tests/faults/, collected here again with ``broker_url``
overridden, so they cannot drift apart. What differs between the brokers: docs/scaling.md."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import tests.faults.test_kill_ingest
from tests.broker.clusters import nats_or_skip, rabbitmq_or_skip
from tests.faults.test_kill_ingest import (
    test_kill_9_mid_stream_then_restart_stores_each_message_once,
)
from tests.ingest.test_end_to_end import (
    test_each_channel_is_stored_with_status,
    test_payload_bytes_survive_in_the_dead_letter,
    test_ready_reports_both_connections,
    test_smoke_alarm_opens_one_fire_alert_and_notifies,
)
from tests.ingest.test_rejections import (
    test_a_flood_of_garbage_does_not_stop_ingest,
    test_rejection_is_stored_with_reason_and_loses_nothing_else,
)

__all__ = [
    "test_a_flood_of_garbage_does_not_stop_ingest",
    "test_each_channel_is_stored_with_status",
    "test_kill_9_mid_stream_then_restart_stores_each_message_once",
    "test_payload_bytes_survive_in_the_dead_letter",
    "test_ready_reports_both_connections",
    "test_rejection_is_stored_with_reason_and_loses_nothing_else",
    "test_smoke_alarm_opens_one_fire_alert_and_notifies",
]


@pytest.fixture(scope="module", params=["nats-cluster", "rabbitmq"])
def broker_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp(request.param)
    if request.param == "rabbitmq":
        with rabbitmq_or_skip(workdir) as url:
            yield url
    else:
        with nats_or_skip(workdir, max_ack_pending=16384) as cluster:
            yield cluster.url


@pytest.fixture(autouse=True)
def modest_kill_test(monkeypatch: pytest.MonkeyPatch) -> None:
    """The kill -9 test's 100,000 messages are Mosquitto's figure; a fifth keeps this module
    fast and still kills ingest mid-stream (it asserts so). The cluster's own node-loss run is
    bench/cluster.py."""
    monkeypatch.setattr(tests.faults.test_kill_ingest, "MESSAGES", 20_000)
