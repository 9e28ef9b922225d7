"""A Mosquitto with authentication on, started from deploy/mosquitto/auth.conf, and clients."""

from __future__ import annotations

import asyncio
import getpass
import queue
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from firewatch.testing import BROKER_CONF, ROOT
from registry.broker_sync import SyncResult, new_passwords, sync
from settings import Settings
from store.audit import Actor

AUTH_CONF = ROOT / "deploy" / "mosquitto" / "auth.conf"
DEPLOYED_CONF = ROOT / "deploy" / "mosquitto" / "mosquitto.conf"
DEPLOYED_LISTENER = "listener 1883\n"
DEPLOYED_PASSWORD_FILE = "/etc/mosquitto/firewatch/passwd"
DEPLOYED_ACL_FILE = "/etc/mosquitto/firewatch/acl"


def auth_broker_config(settings: Settings, workdir: Path, port: int) -> Path:
    """The deployed tuning and authentication, with the files moved into ``workdir``."""
    auth = AUTH_CONF.read_text()
    assert DEPLOYED_PASSWORD_FILE in auth and DEPLOYED_ACL_FILE in auth
    auth = auth.replace(DEPLOYED_PASSWORD_FILE, str(settings.broker_password_file))
    auth = auth.replace(DEPLOYED_ACL_FILE, str(settings.broker_acl_file))
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        BROKER_CONF.read_text()
        + auth
        + f"\npersistence_location {workdir}/\nlog_dest file {workdir}/mosquitto.log\n"
        + f"user {getpass.getuser()}\npid_file {settings.broker_pid_file}\n"
        + listener_block(port)
    )
    return conf


def listener_block(port: int) -> str:
    """The deployed listener with its options (client ids bound to logins), on ``port``."""
    deployed = DEPLOYED_CONF.read_text()
    assert deployed.count(DEPLOYED_LISTENER) == 1
    block = deployed[deployed.index(DEPLOYED_LISTENER) :]
    return block.replace(DEPLOYED_LISTENER, f"listener {port} 127.0.0.1\n")


def run_sync(settings: Settings) -> SyncResult:
    return asyncio.run(sync(settings))


def passwords(settings: Settings, *names: str) -> dict[str, str]:
    return asyncio.run(
        new_passwords(settings, names=list(names), missing=False, actor=Actor("test"))
    )


@dataclass
class Login:
    username: str
    password: str | None


class Client:
    """A paho client that reports what the broker answered, for assertions."""

    def __init__(self, port: int, login: Login | None, client_id: str) -> None:
        self.port = port
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        if login:
            self.client.username_pw_set(login.username, login.password)
        self.messages: queue.SimpleQueue[tuple[str, bytes]] = queue.SimpleQueue()
        self.connack: ReasonCode | None = None
        self.suback: list[ReasonCode] | None = None
        self.disconnected = threading.Event()
        self._answered = threading.Event()
        self._subscribed = threading.Event()
        self.client.on_connect = self._on_connect
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.on_disconnect = self._on_disconnect

    def _on_connect(self, client: Any, _u: Any, _f: Any, reason: ReasonCode, _p: Any) -> None:
        self.connack = reason
        self._answered.set()
        if reason.is_failure:
            client.disconnect()  # no retries: the test wants the first answer

    def _on_subscribe(self, _c: Any, _u: Any, _m: int, reasons: list[ReasonCode], _p: Any) -> None:
        self.suback = reasons
        self._subscribed.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self.messages.put((msg.topic, bytes(msg.payload)))

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _r: ReasonCode, _p: Any) -> None:
        self.disconnected.set()

    def connect(self) -> ReasonCode:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        assert self._answered.wait(10), "no CONNACK"
        assert self.connack is not None
        return self.connack

    def subscribe(self, topic: str) -> list[ReasonCode]:
        self._subscribed.clear()
        self.client.subscribe(topic, qos=1)
        assert self._subscribed.wait(10), "no SUBACK"
        assert self.suback is not None
        return self.suback

    def publish(self, topic: str, payload: bytes = b"{}") -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(10)

    def received(self, wait_s: float) -> list[tuple[str, bytes]]:
        """Everything that arrives within ``wait_s`` seconds."""
        got = []
        try:
            got.append(self.messages.get(timeout=wait_s))
            while True:
                got.append(self.messages.get(timeout=0.2))
        except queue.Empty:
            return got

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
