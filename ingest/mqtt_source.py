"""The one place that talks MQTT for ingest.

Why paho-mqtt and not aiomqtt: a message may be acknowledged to the broker only after the
batch holding it has committed, and paho-mqtt 2.x is the client with manual acknowledgement
(``manual_ack=True`` and ``Client.ack``); aiomqtt 2.5 has no public API for it.

Packet ids are only meaningful on the connection they arrived on: acknowledging an old id on
a new connection would acknowledge some other, unstored message. Every message therefore
carries the connection generation it came in on, and acknowledgements for an older
generation are dropped; the broker redelivers those messages and the store skips them as
duplicates.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from contract.failover import Failover
from contract.logins import session_login
from contract.paho_client import START_HINT, BufferedClient
from ingest.batching import fill
from ingest.pipeline import Inbound
from ingest.sessions import SessionTrouble, SessionWatch
from settings import MqttTarget

log = logging.getLogger(__name__)


GAP_S = 0.005
SUBSCRIBE_CHUNK = 1000  # filters per SUBSCRIBE: ~50 KB, far below max_packet_size
PAUSE_LOG_EVERY_S = 10.0


@dataclass(slots=True)
class AckToken:
    generation: int
    mid: int
    qos: int


class MqttSource:
    """Persistent QoS 1 session; messages are queued for the writer thread and acked by it."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        client_id: str,
        subscription: str,
        session_expiry_s: int,
        receive_maximum: int,
        mqtt5: bool = False,
    ) -> None:
        """MQTT 3.1.1 by default: paho parses MQTT 5 properties on every PUBLISH, which halves
        its receive rate; with 3.1.1 the broker's max_inflight_messages bounds the window
        (deploy/mosquitto/firewatch.conf). MQTT 5 adds Receive Maximum and a session expiry,
        for brokers whose per-client window cannot be configured."""
        self.subscription = subscription
        # Explicit topic filters instead of ``subscription`` (partitioned workers, see
        # ingest/partition.py), sent SUBSCRIBE_CHUNK to a packet; SUBACKs still awaited.
        self._filters: list[str] = []
        self._explicit = False  # set_filters was called: subscribe to _filters, even if none
        self._pending: set[int] = set()
        self._target = target
        self._failover = Failover(target.addresses, name=client_id)
        self._session_expiry_s = session_expiry_s
        self._receive_maximum = min(receive_maximum, 65535)
        self._mqtt5 = mqtt5
        self._queue: queue.SimpleQueue[Inbound] = queue.SimpleQueue()
        # The broker's window (max_inflight_messages) should bound what ingest holds, but
        # Mosquitto 2.0.11, our tested broker, keeps it only until the first acknowledgement
        # after a backlog: its db__message_write_queued_out moves queued messages in flight
        # without taking them off the quota, so after a database stall it sends the whole
        # backlog at once (tests/faults/test_slow_database.py). Ingest bounds its queue too,
        # at its receive maximum, which a working broker window never reaches.
        self._queue_max = self._receive_maximum
        self._paused_logged_at = float("-inf")
        self._stopping = False
        self._lock = threading.Lock()
        self._generation = 0
        self._subscribed = threading.Event()
        self.last_error = ""
        self._refusal = ""  # the broker's last refusal, kept across the disconnect after it
        self.client_id = client_id
        self._watch = SessionWatch(client_id)
        self._troubles: list[SessionTrouble] = []
        self.last_trouble: SessionTrouble | None = None
        self._client = BufferedClient(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5 if mqtt5 else mqtt.MQTTv311,
            clean_session=None if mqtt5 else False,
            manual_ack=True,
        )
        if target.username:
            # Each session its own login: the broker binds client ids to logins (sessions.py).
            login = session_login(target.username, client_id)
            self._client.username_pw_set(login, target.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = self._on_connect_fail
        self._client.on_socket_close = self._on_socket_close
        self._client.on_subscribe = self._on_subscribe
        self._client.on_message = self._on_message

    # -- network thread -------------------------------------------------------------------
    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        flags: mqtt.ConnectFlags,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        if reason.is_failure:
            self.last_error = self._refusal = f"broker refused the connection: {reason}"
            log.error("%s", self.last_error)
            return
        self.last_error = self._refusal = ""
        self._report(self._watch.connected(session_present=flags.session_present, now=time.time()))
        with self._lock:
            filters = self._filters if self._explicit else [self.subscription]
            self._pending = {
                self._subscribe(client, filters[i : i + SUBSCRIBE_CHUNK])
                for i in range(0, len(filters), SUBSCRIBE_CHUNK)
            }
            if not filters:  # a partitioned worker that owns nothing yet: connected is enough
                self._subscribed.set()

    @staticmethod
    def _subscribe(client: mqtt.Client, filters: Sequence[str]) -> int:
        return client.subscribe([(f, 1) for f in filters])[1] or 0

    def set_filters(self, filters: Sequence[str]) -> tuple[int, int]:
        """Subscribes to filters new to the list and unsubscribes from those gone from it,
        live when connected (a reconnect subscribes the whole list); returns (added, removed).
        """
        with self._lock:
            self._explicit = True
            before, after = set(self._filters), set(filters)
            added, removed = sorted(after - before), sorted(before - after)
            self._filters = sorted(after)
            if self._client.is_connected():
                for i in range(0, len(added), SUBSCRIBE_CHUNK):
                    self._subscribe(self._client, added[i : i + SUBSCRIBE_CHUNK])
                for i in range(0, len(removed), SUBSCRIBE_CHUNK):
                    self._client.unsubscribe(removed[i : i + SUBSCRIBE_CHUNK])
        return len(added), len(removed)

    def put(self, item: Inbound) -> None:
        """A message from elsewhere (ingest/partition.py's unrouted stream) into the batches;
        its token is None, so nothing is acknowledged for it."""
        self._queue.put(item)

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        mid: int,
        reasons: list[ReasonCode],
        _props: Properties | None,
    ) -> None:
        if all(not r.is_failure for r in reasons):
            with self._lock:
                self._pending.discard(mid)
                if not self._pending:
                    self._subscribed.set()
                    self._watch.subscribed()
        else:
            self.last_error = self._refusal = (
                f"subscription to {self.subscription} refused: {reasons}"
            )
            log.error("%s", self.last_error)

    def _on_socket_close(self, _client: mqtt.Client, _userdata: Any, _sock: Any) -> None:
        # Every way a connection ends closes its socket, including paho's paths that never
        # call on_disconnect; after this no acknowledgement may reach the next connection.
        with self._lock:
            self._generation += 1

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason: ReasonCode,
        _props: Properties | None,
    ) -> None:
        self._subscribed.clear()
        if reason.is_failure:
            self.last_error = f"disconnected from broker: {reason}"
            log.warning("%s; reconnecting", self.last_error)
            self._failover.lost(self._client, str(reason))
        self._report(self._watch.dropped(reason_code=reason.value, now=time.time()))

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        self._failover.lost(self._client, "cannot reconnect")

    def _report(self, trouble: SessionTrouble | None) -> None:
        if trouble is None:
            return
        log.error("MQTT session trouble: %s", trouble.reason, extra={"client_id": self.client_id})
        with self._lock:
            self._troubles.append(trouble)
            self.last_trouble = trouble

    def take_troubles(self) -> list[SessionTrouble]:
        """Session troubles noticed since the last call, for ingest's trouble alert."""
        with self._lock:
            taken, self._troubles = self._troubles, []
        return taken

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = bytes(msg._topic).decode("utf-8", "replace")
        # Not before the SUBACK: until then nobody takes from the queue, and a resumed
        # session's backlog arrives ahead of the SUBACK.
        if self._queue.qsize() >= self._queue_max and self._subscribed.is_set():
            self._wait_for_room()
        self._queue.put(
            Inbound(
                topic,
                bytes(msg.payload),
                datetime.now(UTC),
                AckToken(self._generation, msg.mid, msg.qos),
            )
        )

    def _wait_for_room(self) -> None:
        """Holds the network thread until the writer takes messages off the queue: paho stops
        reading the socket and TCP makes the broker keep the rest. A stall longer than 1.5
        keep-alives (45 s) costs the connection; what it held comes back as duplicates."""
        if time.monotonic() - self._paused_logged_at >= PAUSE_LOG_EVERY_S:
            self._paused_logged_at = time.monotonic()
            log.warning(
                "%d messages wait for the database; reading from the broker paused",
                self._queue.qsize(),
                extra={"queued": self._queue.qsize()},
            )
        while self._queue.qsize() >= self._queue_max and not self._stopping:
            time.sleep(GAP_S)

    # -- writer thread --------------------------------------------------------------------
    def start(self, *, wait_s: float = 10.0) -> None:
        """Connects and subscribes, or raises with what to do next."""
        if self._mqtt5:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = self._session_expiry_s
            props.ReceiveMaximum = self._receive_maximum
            self._failover.connect(
                lambda host, port: self._client.connect(
                    host, port, keepalive=30, clean_start=False, properties=props
                )
            )
        else:
            self._failover.connect(
                lambda host, port: self._client.connect(host, port, keepalive=30)
            )
        self._client.loop_start()
        if not self._subscribed.wait(wait_s):
            self.stop()
            # The hint only where the broker never answered: a refusal names its own cause.
            cause = self._refusal or self.last_error or f"the broker did not answer; {START_HINT}"
            raise ConnectionError(
                f"no subscription to {self.subscription} within {wait_s:.0f} s: {cause}"
            )

    @property
    def connected(self) -> bool:
        return self._client.is_connected() and self._subscribed.is_set()

    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        """Waits up to ``idle_s`` for a first message, then collects until the batch is full
        (``max_size`` messages or ``max_bytes`` of payload), ``wait_s`` has passed, or no
        message has come for ``GAP_S``: under load batches fill, and a lone alarm is not
        held back, nor a broker that sends only a few unacknowledged messages at a time."""
        try:
            first = self._queue.get(timeout=idle_s)
        except queue.Empty:
            return []
        return fill(
            first,
            self._queue,
            max_size=max_size,
            max_bytes=max_bytes,
            wait_s=wait_s,
            gap_s=GAP_S,
        )

    def ack(self, batch: Sequence[Inbound]) -> int:
        """Acknowledge in arrival order (as MQTT requires); returns how many were sent."""
        with self._lock:
            mids = [
                token.mid
                for token in (item.token for item in batch)
                if isinstance(token, AckToken)
                and token.qos == 1
                and token.generation == self._generation
            ]
            self._client.ack_all(mids)
        return len(mids)

    def stop(self) -> None:
        self._stopping = True  # a network thread waiting for room must not wait for ever
        self._client.disconnect()
        self._client.loop_stop()
