"""A real subscriber for the tests: what the broker really delivered, and when."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from contract.paho_client import BufferedClient
from contract.topics import subscription_for
from firewatch.testing import wait_until
from settings import MqttTarget


@dataclass(frozen=True)
class Received:
    topic: str
    payload: bytes
    at: float  # monotonic


class Subscriber:
    def __init__(self) -> None:
        self.messages: list[Received] = []
        self.subscribed = threading.Event()
        self._lock = threading.Lock()

    def on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.messages.append(Received(msg.topic, bytes(msg.payload), time.monotonic()))

    def wait_for(self, count: int, timeout: float = 20) -> list[Received]:
        wait_until(
            lambda: len(self.messages) >= count,
            timeout=timeout,
            what=f"{count} messages at the subscriber (has {len(self.messages)})",
        )
        with self._lock:
            return list(self.messages)


@contextmanager
def subscriber(
    url: str, site: str, *, client_id: str | None = None, clean: bool = True
) -> Iterator[Subscriber]:
    target = MqttTarget(url)
    sub = Subscriber()
    client = BufferedClient(
        CallbackAPIVersion.VERSION2,
        client_id=client_id or f"sub-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
        clean_session=clean,
    )
    client.on_message = sub.on_message
    client.on_connect = lambda c, *_: c.subscribe(subscription_for(site), qos=1)
    client.on_subscribe = lambda *_: sub.subscribed.set()
    client.reconnect_delay_set(min_delay=1, max_delay=2)
    client.connect(target.host, target.port, keepalive=30)
    client.loop_start()
    try:
        assert sub.subscribed.wait(10), "subscription not acknowledged"
        yield sub
    finally:
        client.disconnect()
        client.loop_stop()
