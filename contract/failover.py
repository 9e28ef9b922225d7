"""A broker cluster's nodes, listed in ``FIREWATCH_MQTT_URL`` (``mqtt://n1:1883,n2:1883``): a
client connects to the first that answers and, when its connection drops or a reconnect fails,
goes on to the next address.

paho's network thread reconnects by itself, to whatever host and port the client holds, so
failing over is pointing the client at the next node from its disconnect callbacks. Its
public ``host``/``port`` setters refuse while paho is still tearing the old connection down,
and ``connect_async`` would reset the session's connect options (clean session, MQTT 5
properties); hence the private fields, as in contract/paho_client.py (pinned to paho 2.x).
A single address is never switched: the client reconnects to it, as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

import paho.mqtt.client as mqtt

from contract.paho_client import START_HINT

log = logging.getLogger(__name__)


class Failover:
    """Which of the addresses (``MqttTarget.addresses``) a client uses; the next when it is lost."""

    def __init__(self, addresses: Sequence[tuple[str, int]], *, name: str) -> None:
        self.addresses = list(addresses)
        self.name = name  # said in the log line: the client id
        self._at = 0
        self._lock = threading.Lock()
        self.failovers = 0

    @property
    def address(self) -> tuple[str, int]:
        return self.addresses[self._at]

    def connect(self, connect: Callable[[str, int], object]) -> None:
        """Calls ``connect(host, port)`` on each address in turn, from the current one, until
        one answers; raises ConnectionError naming every address and its error."""
        errors: list[str] = []
        for _ in self.addresses:
            host, port = self.address
            try:
                connect(host, port)
            except OSError as exc:
                errors.append(f"{host}:{port}: {exc}")
                self._advance()
            else:
                return
        raise ConnectionError(f"cannot reach MQTT broker at {'; '.join(errors)}; {START_HINT}")

    def lost(self, client: mqtt.Client, why: str) -> None:
        """From paho's network thread, when the connection dropped or a reconnect failed: the
        client's next reconnect goes to the next address."""
        if len(self.addresses) < 2:
            return
        was = self.address
        host, port = self._advance()
        client._host, client._port = host, port  # see the module docstring
        log.warning(
            "MQTT client %s lost broker %s:%d (%s); failing over to %s:%d",
            self.name,
            *was,
            why,
            host,
            port,
            extra={"client_id": self.name, "broker": f"{host}:{port}"},
        )

    def _advance(self) -> tuple[str, int]:
        with self._lock:
            self._at = (self._at + 1) % len(self.addresses)
            self.failovers += 1
            return self.addresses[self._at]
