"""The other brokers the tests run ingest on: a three-node NATS cluster (deploy/nats/) and a
RabbitMQ node with its MQTT plugin, each started from the shipped configuration, each skipped
with the reason when its server is not installed (CI installs both: .ci/run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from firewatch.nats_cluster import NatsCluster, nats_binary, own_nats_cluster
from firewatch.rabbitmq_node import own_rabbitmq_node, rabbitmq_binary


@contextmanager
def nats_or_skip(workdir: Path, *, max_ack_pending: int) -> Iterator[NatsCluster]:
    """``max_ack_pending`` as deploy/nats/node.conf says: 16384 for one worker, for several
    as high as their filters allow."""
    if nats_binary() is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run does)")
    with own_nats_cluster(workdir, max_ack_pending=max_ack_pending) as cluster:
        yield cluster


@contextmanager
def rabbitmq_or_skip(workdir: Path) -> Iterator[str]:
    if rabbitmq_binary() is None:
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    with own_rabbitmq_node(workdir) as url:
        yield url
