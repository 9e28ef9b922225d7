"""The publisher's window and its reconnection, against real Mosquitto brokers."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import orjson

from firewatch.testing import broker_config, free_port, start_broker, stop_broker, wait_until
from settings import MqttTarget
from simulators.publisher import Publisher
from tests.simulators.helpers import subscriber


def _message(site: str, n: int) -> tuple[str, bytes]:
    body = {"ts": 1_749_700_000_000 + n, "seq": n, "values": {"temperature_c": 25}}
    return f"fw/v1/{site}/SD-0001/reading", orjson.dumps(body)


def test_the_publisher_never_has_more_in_flight_than_its_window(broker_url: str, site: str) -> None:
    with subscriber(broker_url, site) as sub:
        with Publisher(MqttTarget(broker_url), client_id=f"pub-{site}", window=64) as pub:
            for n in range(1, 5001):
                pub.publish(*_message(site, n))
                assert pub.in_flight <= 64
        got = sub.wait_for(5000)
    assert pub.peak_in_flight == 64  # the window was reached, and held
    assert pub.in_flight == 0
    assert len({orjson.loads(r.payload)["seq"] for r in got}) == 5000


def test_a_broker_restart_loses_nothing_the_publisher_keeps_going(
    tmp_path: Path, site: str
) -> None:
    """paho resends what was unacknowledged after reconnecting; the window holds the rest."""
    port = free_port()
    conf = broker_config(tmp_path, port)
    broker = start_broker(conf, port)
    url = f"mqtt://127.0.0.1:{port}"
    total, sent = 3000, threading.Event()
    try:
        with subscriber(url, site, client_id=f"keep-{site}", clean=False) as sub:
            with Publisher(MqttTarget(url), client_id=f"pub-{site}", window=200) as pub:

                def publish() -> None:
                    for n in range(1, total + 1):
                        pub.publish(*_message(site, n))
                        time.sleep(0.0005)
                    sent.set()

                thread = threading.Thread(target=publish)
                thread.start()
                wait_until(lambda: pub.published >= 800, timeout=10, what="800 published")
                stop_broker(broker)  # saves the subscriber's session as it exits
                time.sleep(1.0)
                broker = start_broker(conf, port)
                thread.join(60)
                assert sent.is_set()
            wait_until(
                lambda: len({orjson.loads(r.payload)["seq"] for r in sub.messages}) >= total,
                timeout=30,
                what="every message at the subscriber",
            )
        assert pub.reconnects >= 1
    finally:
        stop_broker(broker)
