"""A QoS 1 publisher with a bounded in-flight window, that rides out broker restarts.

MQTT packet ids are 16 bits: a client with more than 65,535 unacknowledged QoS 1 messages
reuses ids and the broker silently drops messages. The window keeps far below that.

Reconnection (paho-mqtt 2.2, verified in its source): the network thread reconnects by
itself. On reconnecting, paho marks every unacknowledged QoS 1 message for sending again
with the DUP flag, whatever ``clean_session`` says (only QoS 2 depends on it), and sends
them after the CONNACK; messages published while disconnected wait in the same queue. With
several broker addresses (a cluster's nodes) it reconnects to the next one
(contract/failover.py). Each keeps its place in the window until its PUBACK, so the window
also bounds what piles up during an outage, and the publisher simply blocks until the broker
is back. Resent
messages may reach subscribers twice: at least once, as the contract says.
"""

from __future__ import annotations

import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract.failover import Failover
from contract.paho_client import START_HINT, BufferedClient
from settings import MqttTarget

WINDOW = 1000


class Publisher:
    def __init__(self, target: MqttTarget, *, client_id: str, window: int = WINDOW) -> None:
        if not 1 <= window <= 65535:
            raise ValueError("window must be 1..65535 (MQTT packet ids are 16 bits)")
        self._window = threading.BoundedSemaphore(window)
        self._size = window
        self._client = BufferedClient(
            CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311
        )
        if target.username:
            self._client.username_pw_set(target.username, target.password)
        # The semaphore is the window. paho's own limit would rescan every queued message on
        # each PUBACK (O(window) per message), which caps a publisher near 5k msg/s.
        self._client.max_inflight_messages_set(0)
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._client.on_publish = self._on_publish
        self._client.on_connect = self._on_connect
        self._failover = Failover(target.addresses, name=client_id)
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = lambda c, _u: self._failover.lost(c, "cannot reconnect")
        self.published = 0
        self.acknowledged = 0
        self.peak_in_flight = 0
        self.connections = 0

    def _on_publish(self, _c: mqtt.Client, _u: Any, _mid: int, _rc: ReasonCode, _p: Any) -> None:
        self.acknowledged += 1
        self._window.release()

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if not rc.is_failure:
            self.connections += 1

    def _on_disconnect(self, c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        if rc.is_failure:
            self._failover.lost(c, str(rc))

    @property
    def in_flight(self) -> int:
        """Published and not yet acknowledged by the broker."""
        return self.published - self.acknowledged

    @property
    def reconnects(self) -> int:
        return max(0, self.connections - 1)

    def __enter__(self) -> Publisher:
        self._failover.connect(lambda host, port: self._client.connect(host, port, keepalive=30))
        self._client.loop_start()
        return self

    def __exit__(self, *_exc: object) -> None:
        try:
            self.flush()
        finally:
            self._client.disconnect()
            self._client.loop_stop()

    def publish(self, topic: str, payload: bytes, *, qos: int = 1) -> None:
        # Every message takes a place in the window: paho reports QoS 0 ones as published too.
        self._window.acquire()
        info = self._client.publish(topic, payload, qos=qos)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise ConnectionError(f"publish to {topic} failed: {mqtt.error_string(info.rc)}")
        self.published += 1
        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def flush(self, timeout: float = 60.0) -> None:
        """Wait until the broker has acknowledged everything published so far."""
        taken = 0
        deadline = threading.Event()
        timer = threading.Timer(timeout, deadline.set)
        timer.start()
        try:
            while taken < self._size and not deadline.is_set():
                if self._window.acquire(timeout=0.1):
                    taken += 1
        finally:
            timer.cancel()
            for _ in range(taken):
                self._window.release()
        if taken < self._size:
            raise TimeoutError(
                f"broker did not acknowledge {self._size - taken} messages within {timeout:.0f} s;"
                f" {START_HINT}"
            )
