"""A three-node NATS cluster of our own, from deploy/nats/node.conf, for tests and benchmarks:
each node on its own free ports with its own JetStream folder, any node killed (SIGKILL) and
started again at will. Here, not in tests/, so bench/ need not import the tests."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firewatch.testing import ROOT, free_port, wait_until

NODE_CONF = ROOT / "deploy" / "nats" / "node.conf"
START_S = 30  # a node's JetStream catching up after a restart, on a loaded machine


def nats_binary() -> str | None:
    """The nats-server on PATH or where Debian puts it (/usr/sbin, not on a user's PATH)."""
    found = shutil.which("nats-server")
    if found is None and os.access("/usr/sbin/nats-server", os.X_OK):
        found = "/usr/sbin/nats-server"
    return found


@dataclass
class NatsNode:
    name: str
    workdir: Path
    mqtt_port: int = field(default_factory=free_port)
    client_port: int = field(default_factory=free_port)
    http_port: int = field(default_factory=free_port)
    route_port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.mqtt_port}"

    def env(self, routes: list[str], *, max_ack_pending: int) -> dict[str, str]:
        """What deploy/nats/node.conf reads from its environment."""
        return {
            "FW_NATS_MAX_ACK_PENDING": str(max_ack_pending),
            "FW_NATS_NAME": self.name,
            "FW_NATS_LISTEN": f"127.0.0.1:{self.client_port}",
            "FW_NATS_HTTP": f"127.0.0.1:{self.http_port}",
            "FW_NATS_STORE": str(self.workdir / "store"),
            "FW_NATS_CLUSTER": f"127.0.0.1:{self.route_port}",
            "FW_NATS_MQTT": self.address,
            **{f"FW_NATS_ROUTE_{n}": route for n, route in enumerate(routes, 1)},
        }

    def routed(self, peers: int) -> bool:
        """Routed to its ``peers``, by /routez. Not /healthz: after a SIGKILL it stays failing
        on a consumer of the killed incarnation's that never becomes current again."""
        try:
            url = f"http://127.0.0.1:{self.http_port}/routez"
            with urllib.request.urlopen(url, timeout=2) as response:
                return int(json.load(response)["num_routes"]) >= peers
        except (OSError, ValueError, KeyError):
            return False


class NatsCluster:
    """Three nodes; ``url`` lists them all for failover, ``url_from(i)`` puts node i first.
    ``max_ack_pending``: 16 for partitioned workers, 16384 for one (deploy/nats/node.conf)."""

    def __init__(self, workdir: Path, *, max_ack_pending: int, nodes: int = 3) -> None:
        binary = nats_binary()
        if binary is None:
            raise RuntimeError("nats-server is not installed: apt-get install nats-server")
        self.binary = binary
        self.max_ack_pending = max_ack_pending
        self.nodes = [NatsNode(f"n{i + 1}", workdir / f"n{i + 1}") for i in range(nodes)]
        self._routes = [f"nats-route://127.0.0.1:{n.route_port}" for n in self.nodes]

    @property
    def url(self) -> str:
        return self.url_from(0)

    def url_from(self, first: int) -> str:
        """FIREWATCH_MQTT_URL naming node ``first`` first, then the others in order."""
        order = self.nodes[first:] + self.nodes[:first]
        return "mqtt://" + ",".join(n.address for n in order)

    def start(self) -> None:
        for index in range(len(self.nodes)):
            self._launch(index)
        for index in range(len(self.nodes)):
            self._wait_ready(index)

    def _launch(self, index: int) -> None:
        node = self.nodes[index]
        node.workdir.mkdir(parents=True, exist_ok=True)
        node.proc = subprocess.Popen(  # noqa: S603 - our own binary and config
            [self.binary, "-c", str(NODE_CONF), "-l", str(node.workdir / "nats.log")],
            env={**os.environ, **node.env(self._routes, max_ack_pending=self.max_ack_pending)},
        )

    def _wait_ready(self, index: int) -> None:
        node = self.nodes[index]
        wait_until(
            lambda: node.routed(len(self.nodes) - 1) and mqtt_answers(node.mqtt_port),
            timeout=START_S,
            what=f"NATS node {node.name} (see {node.workdir / 'nats.log'})",
        )

    def kill(self, index: int) -> None:
        """SIGKILL: no goodbye to its peers or its clients, nothing flushed."""
        node = self.nodes[index]
        assert node.proc is not None, f"{node.name} is not running"
        node.proc.send_signal(signal.SIGKILL)
        node.proc.wait(timeout=10)
        node.proc = None

    def restart(self, index: int) -> None:
        self._launch(index)
        self._wait_ready(index)

    def stop(self) -> None:
        for node in self.nodes:
            if node.proc is not None:
                node.proc.terminate()
        for node in self.nodes:
            if node.proc is not None:
                try:
                    node.proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    node.proc.kill()
                    node.proc.wait()
                node.proc = None


def mqtt_answers(port: int, *, timeout: float = 5) -> bool:
    """A CONNACK that accepts: on a new cluster the first MQTT connection also creates the
    replicated session and message streams, which needs a JetStream leader."""
    answered = threading.Event()
    accepted: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"probe-{port}")

    def on_connect(_c: mqtt.Client, _u: object, _f: object, reason: object, _p: object) -> None:
        accepted.append(not getattr(reason, "is_failure", True))
        answered.set()

    client.on_connect = on_connect
    try:
        client.connect("127.0.0.1", port, keepalive=10)
    except OSError:
        return False
    client.loop_start()
    try:
        return answered.wait(timeout) and accepted == [True]
    finally:
        client.disconnect()
        client.loop_stop()


@contextmanager
def own_nats_cluster(workdir: Path, *, max_ack_pending: int) -> Iterator[NatsCluster]:
    cluster = NatsCluster(workdir, max_ack_pending=max_ack_pending)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
