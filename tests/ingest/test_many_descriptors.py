"""A process already holding more than 1,024 descriptors (ingest hosting a GB/T 26875.3 server
with a thousand transmitters) still connects to the broker, stores what devices send, and
reconnects after the broker restarts. paho's own loop waits with select(), which cannot watch a
descriptor numbered 1024 or more: before contract/paho_client.py gave it poll(), such a client
opened its socket and never sent CONNECT."""

from __future__ import annotations

import errno
import os
import resource
import select
import socket
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract import paho_client
from contract.kinds import Kind
from firewatch.testing import broker_config, free_port, start_broker, stop_broker, wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar

FD_SETSIZE = 1024


@pytest.fixture()
def crowded() -> Iterator[None]:
    """Every descriptor below 1,100 taken, so each socket opened from here is numbered above
    what select() can watch."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < 2 * FD_SETSIZE:
        pytest.skip(f"the hard descriptor limit ({hard}) keeps a process below {FD_SETSIZE}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, 2 * FD_SETSIZE), hard))
    taken: list[int] = []
    try:
        while not taken or taken[-1] < FD_SETSIZE + 76:
            taken.append(os.open(os.devnull, os.O_RDONLY))
        with socket.socket() as probe:
            assert probe.fileno() >= FD_SETSIZE
        yield
    finally:
        for fd in taken:
            os.close(fd)
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_ingest_with_high_descriptors_stores_and_reconnects(
    tmp_path: Path,
    settings: Settings,
    registry: Registry,
    db: psycopg.Connection[Any],
    crowded: None,
) -> None:
    port = free_port()
    conf = broker_config(tmp_path, port)
    broker = start_broker(conf, port)
    local = settings.model_copy(update={"mqtt_url": f"mqtt://127.0.0.1:{port}"})
    site = settings.site
    device = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    start = datetime.now(UTC) - timedelta(seconds=30)

    def stored() -> int:
        """Readings stored, each once (a reading is a row per metric)."""
        query = "SELECT count(DISTINCT seq) FROM readings WHERE device_id = %s"
        return int(scalar(db, query, device.id))

    try:
        with running(local) as service:
            with Publisher(local.mqtt, client_id=f"pub-{site}") as pub:
                pub.publish(*device.reading(start, temperature_c=21.0))
            wait_until(lambda: stored() == 1, timeout=10, what="the first reading stored")

            stop_broker(broker)
            broker = start_broker(conf, port)
            wait_until(lambda: service.ready, timeout=20, what="ingest to reconnect")
            with Publisher(local.mqtt, client_id=f"pub-{site}") as pub:
                pub.publish(*device.reading(start + timedelta(seconds=1), temperature_c=21.5))
            wait_until(lambda: stored() == 2, timeout=20, what="the reading after the restart")
    finally:
        stop_broker(broker)


def test_a_socket_closed_under_pahos_wait_is_an_error_as_select_says() -> None:
    """select() raises EBADF for a descriptor closed under its socket object, and paho then
    reconnects; poll() reports it ready-invalid, which must raise the same, not "nothing
    ready" (paho would spin until its keepalive ran out)."""
    ours, theirs = socket.socketpair()
    with theirs:
        os.close(ours.fileno())
        for wait in (select.select, paho_client._PollAsSelect.select):
            with pytest.raises(OSError) as caught:
                wait([ours], [], [], 0.1)
            assert caught.value.errno == errno.EBADF
        ours.detach()
