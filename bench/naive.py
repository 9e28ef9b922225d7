"""The naive baseline: paho ``on_message`` -> one INSERT per row and a commit per message."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from contract.codec import Limits, decode
from contract.messages import Decoded
from settings import MqttTarget


class NaiveConsumer:
    """What a first version usually looks like; the codec is ours, so only the I/O differs."""

    def __init__(self, target: MqttTarget, *, database_url: str, client_id: str) -> None:
        self.conn = psycopg.connect(database_url)
        self.count = 0
        self.done = threading.Event()
        self.expected = 0
        self._limits = Limits()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False
        )
        self.client.on_message = self._on_message
        self._target = target

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        message = decode(msg.topic, bytes(msg.payload), now=datetime.now(UTC), limits=self._limits)
        if isinstance(message, Decoded):
            with self.conn.cursor() as cur:
                for metric, value in message.values.items():
                    cur.execute(
                        "INSERT INTO readings (ts, device_id, metric, value, seq, region,"
                        " received_at) VALUES (%s, %s, %s, %s, %s, %s, now())"
                        " ON CONFLICT DO NOTHING",
                        (message.ts, message.device_id, metric, value, message.seq, message.region),
                    )
                if message.event_type:
                    cur.execute(
                        "INSERT INTO events (ts, device_id, seq, type, received_at)"
                        " VALUES (%s, %s, %s, %s, now()) ON CONFLICT DO NOTHING",
                        (message.ts, message.device_id, message.seq, message.event_type),
                    )
            self.conn.commit()
        self.count += 1
        if self.count >= self.expected:
            self.done.set()

    def subscribe_once(self, topic: str) -> None:
        """Create the persistent session, then leave, so the broker queues for it."""
        self.client.connect(self._target.host, self._target.port)
        self.client.subscribe(topic, qos=1)
        self.client.loop(timeout=1.0)
        self.client.loop(timeout=1.0)
        self.client.disconnect()

    def drain(self, expected: int, timeout: float) -> bool:
        self.expected = expected
        self.client.connect(self._target.host, self._target.port)
        self.client.loop_start()
        finished = self.done.wait(timeout)
        self.client.disconnect()
        self.client.loop_stop()
        return finished
