"""The other brokers the tests run ingest on: a three-node NATS cluster (deploy/nats/) and a
RabbitMQ node with its MQTT plugin, each started from the shipped configuration, each skipped
with the reason when its server is not installed (CI installs both: .ci/run)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.kinds import KIND_SPECS, Kind
from firewatch.nats_cluster import NatsCluster, nats_binary, own_nats_cluster
from firewatch.rabbitmq_node import own_rabbitmq_node, rabbitmq_binary


@contextmanager
def nats_or_skip(workdir: Path) -> Iterator[NatsCluster]:
    if nats_binary() is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run does)")
    with own_nats_cluster(workdir) as cluster:
        yield cluster


@contextmanager
def rabbitmq_or_skip(workdir: Path) -> Iterator[str]:
    if rabbitmq_binary() is None:
        pytest.skip("rabbitmq-server is not installed (apt-get install rabbitmq-server)")
    with own_rabbitmq_node(workdir) as url:
        yield url


def register_in_buildings(
    conn: psycopg.Connection[Any], site: str, count: int, *, buildings: int
) -> list[str]:
    """Smoke detectors spread over ``buildings`` buildings, so partitioned workers share them."""
    ids = [f"{site}-{n:04d}" for n in range(count)]
    with (
        conn.cursor() as cur,
        cur.copy("COPY devices (id, kind, site, heartbeat_s, building) FROM STDIN") as copy,
    ):
        for n, device_id in enumerate(ids):
            heartbeat = KIND_SPECS[Kind.SMOKE].heartbeat_s
            copy.write_row((device_id, Kind.SMOKE.value, site, heartbeat, f"B-{n % buildings:03d}"))
    return ids


def out_of_order(conn: psycopg.Connection[Any], site: str) -> int:
    """Rows stored after a later ``seq`` of the same device: received_at is when ingest took
    the message, so a device's rows, ordered by seq, must have non-decreasing received_at."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT received_at, lag(received_at) OVER"
        " (PARTITION BY device_id ORDER BY seq) AS before FROM readings"
        " WHERE device_id LIKE %s) AS r WHERE received_at < before",
        (f"{site}-%",),
    ).fetchone()
    return int(row[0]) if row else 0
