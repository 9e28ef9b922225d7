"""A RabbitMQ node of our own with its MQTT plugin, from deploy/rabbitmq/rabbitmq.conf, for
tests: its own node name, ports, database and logs in a work folder, so the machine's RabbitMQ
(if any) is neither used nor reconfigured."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from firewatch.nats_cluster import mqtt_answers
from firewatch.testing import ROOT, free_port, wait_until

RABBITMQ_CONF = ROOT / "deploy" / "rabbitmq" / "rabbitmq.conf"
START_S = 60  # the Erlang VM and the plugin's first boot, on a loaded machine


def rabbitmq_binary() -> str | None:
    """The server script itself, not Debian's /usr/sbin wrapper (which switches user)."""
    for found in ("/usr/lib/rabbitmq/bin/rabbitmq-server", shutil.which("rabbitmq-server")):
        if found and os.access(found, os.X_OK):
            return found
    return None


class RabbitMqNode:
    def __init__(self, workdir: Path) -> None:
        binary = rabbitmq_binary()
        if binary is None:
            raise RuntimeError("rabbitmq-server is not installed: apt-get install rabbitmq-server")
        self.binary = binary
        self.workdir = workdir
        self.mqtt_port = free_port()
        self.amqp_port = free_port()
        self.name = f"fwtest{self.amqp_port}@localhost"
        self.url = f"mqtt://127.0.0.1:{self.mqtt_port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def _env(self) -> dict[str, str]:
        workdir = self.workdir
        (workdir / "rabbitmq.conf").write_text(
            RABBITMQ_CONF.read_text()
            + f"\nlisteners.tcp.default = 127.0.0.1:{self.amqp_port}\n"
            + f"mqtt.listeners.tcp.default = 127.0.0.1:{self.mqtt_port}\n"
            # Anonymous, as the tests' Mosquitto listener: ingest logs each session in as
            # <user>/<client id>, logins this node does not have.
            + "mqtt.allow_anonymous = true\nmqtt.default_user = guest\nmqtt.default_pass = guest\n"
        )
        (workdir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        return {
            **os.environ,
            "HOME": str(workdir),  # its own Erlang cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
            "RABBITMQ_NODE_PORT": str(self.amqp_port),
            "RABBITMQ_DIST_PORT": str(free_port()),
            "RABBITMQ_CONFIG_FILE": str(workdir / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(workdir / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(workdir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(workdir / "log"),
            "RABBITMQ_PID_FILE": str(workdir / "rabbitmq.pid"),
        }

    def start(self) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        with (self.workdir / "console.log").open("ab") as console:
            self.proc = subprocess.Popen(  # noqa: S603 - our own binary and config
                [self.binary], env=self._env(), stdout=console, stderr=subprocess.STDOUT
            )
        wait_until(
            lambda: mqtt_answers(self.mqtt_port) or self._exited(),
            timeout=START_S,
            what=f"RabbitMQ's MQTT listener (see {self.workdir / 'log'})",
        )
        if self._exited():
            raise RuntimeError(f"RabbitMQ exited; see {self.workdir / 'console.log'}")

    def _exited(self) -> bool:
        return self.proc is None or self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


@contextmanager
def own_rabbitmq_node(workdir: Path) -> Iterator[str]:
    """Yields its MQTT URL: anonymous clients act as guest, from 127.0.0.1 only."""
    node = RabbitMqNode(workdir)
    try:
        node.start()
        yield node.url
    finally:
        node.stop()
