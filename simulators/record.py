"""Recording live traffic from the broker into the JSONL format that ``replay`` plays back."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from contract.paho_client import START_HINT, BufferedClient
from contract.topics import subscription_for
from settings import MqttTarget
from simulators.progress import Progress
from simulators.recording import encode_line

_POLL_S = 0.2


def record(  # noqa: C901 - one recording session: its callbacks are closures over the sink it writes
    target: MqttTarget,
    *,
    site: str,
    out: Path,
    duration: float | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
    subscribed: threading.Event | None = None,
) -> int:
    """Everything under ``fw/v1/{site}/#`` until ``duration`` has passed or ``stop`` is set;
    returns the number of messages written. ``t`` counts from the subscription, which
    ``subscribed`` announces (tests start publishing on it)."""
    stop = stop or threading.Event()
    subscribed = subscribed or threading.Event()
    lock = threading.Lock()
    count = 0
    started = time.monotonic()
    client = BufferedClient(
        CallbackAPIVersion.VERSION2,
        client_id=f"firewatch-record-{uuid.uuid4().hex[:8]}",
        protocol=mqtt.MQTTv311,
    )
    if target.username:
        client.username_pw_set(target.username, target.password)

    with out.open("wb") as sink:

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
            if not rc.is_failure:
                c.subscribe(subscription_for(site), qos=1)

        def on_subscribe(_c: mqtt.Client, _u: Any, _m: int, _r: Any, _p: Any) -> None:
            nonlocal started
            if not subscribed.is_set():
                started = time.monotonic()
                subscribed.set()

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            nonlocal count
            line = encode_line(time.monotonic() - started, msg.topic, bytes(msg.payload))
            with lock:
                sink.write(line)
                count += 1

        client.on_connect = on_connect
        client.on_subscribe = on_subscribe
        client.on_message = on_message
        try:
            client.connect(target.host, target.port, keepalive=30)
        except OSError as exc:
            raise ConnectionError(
                f"cannot reach MQTT broker at {target.host}:{target.port}: {exc}; {START_HINT}"
            ) from exc
        client.loop_start()
        try:
            if not subscribed.wait(10):
                raise ConnectionError(f"no subscription to {subscription_for(site)}; {START_HINT}")
            while not stop.is_set():
                if duration is not None and time.monotonic() - started >= duration:
                    break
                stop.wait(_POLL_S)
                with lock:
                    sink.flush()  # the file stays current, for ``tail -f`` and for tests
                if progress is not None:
                    progress.update(count)
        except KeyboardInterrupt:
            pass  # Ctrl-C ends a recording; what came so far is kept
        finally:
            client.disconnect()
            client.loop_stop()
        with lock:
            return count
