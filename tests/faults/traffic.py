"""Valid QoS 1 traffic for the fault tests, and the exactly-once check over what was stored."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from contract.kinds import KIND_SPECS, Kind
from contract.topics import Channel, topic_for
from firewatch.testing import wait_until
from settings import MqttTarget
from simulators.publisher import Publisher

Message = tuple[str, bytes]


def register_smoke_detectors(conn: psycopg.Connection[Any], site: str, count: int) -> list[str]:
    ids = [f"{site}-{n:04d}" for n in range(count)]
    with (
        conn.cursor() as cur,
        cur.copy("COPY devices (id, kind, site, heartbeat_s, building) FROM STDIN") as copy,
    ):
        for device_id in ids:
            copy.write_row(
                (device_id, Kind.SMOKE.value, site, KIND_SPECS[Kind.SMOKE].heartbeat_s, "B-001")
            )
    return ids


def readings(site: str, devices: list[str], count: int) -> list[Message]:
    """One temperature reading per message (one row each), round-robin over the devices, each
    device's ``seq`` counting from 1; an hour old, so no alert and no engine warm-up cost."""
    start = datetime.now(UTC) - timedelta(hours=1)
    out: list[Message] = []
    seqs: Counter[str] = Counter()
    for n in range(count):
        device = devices[n % len(devices)]
        seqs[device] += 1
        ts = int((start + timedelta(milliseconds=n)).timestamp() * 1000)
        body = {"ts": ts, "seq": seqs[device], "values": {"temperature_c": 22.0 + n % 7 / 10}}
        out.append((topic_for(site, device, Channel.READING), orjson.dumps(body)))
    return out


class StreamPublisher(threading.Thread):
    """Publishes the messages at QoS 1 (optionally at a rate) and waits for every PUBACK."""

    def __init__(
        self, broker_url: str, messages: list[Message], *, client_id: str, rate: float | None = None
    ) -> None:
        super().__init__(name=f"publisher-{client_id}", daemon=True)
        self.publisher = Publisher(MqttTarget(broker_url), client_id=client_id, window=2000)
        self.messages = messages
        self.rate = rate
        self.error: BaseException | None = None

    @property
    def published(self) -> int:
        return self.publisher.published

    def run(self) -> None:
        try:
            started = time.monotonic()
            with self.publisher as pub:
                for n, (topic, payload) in enumerate(self.messages):
                    if self.rate is not None and n % 100 == 0:
                        ahead = started + n / self.rate - time.monotonic()
                        if ahead > 0:
                            time.sleep(ahead)
                    pub.publish(topic, payload)
        except BaseException as exc:
            self.error = exc

    def finish(self, timeout: float = 60) -> None:
        self.join(timeout)
        assert not self.is_alive(), "the publisher did not finish"
        assert self.error is None, f"the publisher failed: {self.error!r}"


def stored_readings(conn: psycopg.Connection[Any], site: str) -> int:
    row = conn.execute(
        "SELECT count(*) FROM readings WHERE device_id LIKE %s", (f"{site}-%",)
    ).fetchone()
    return int(row[0]) if row else 0


def wait_stored(conn: psycopg.Connection[Any], site: str, count: int, *, timeout: float) -> None:
    wait_until(
        lambda: stored_readings(conn, site) >= count,
        timeout=timeout,
        what=f"{count} stored readings",
    )


def exactly_once(conn: psycopg.Connection[Any], site: str, messages: list[Message]) -> None:
    """Every device's rows are its seqs 1..n, each exactly once: no gap, no duplicate."""
    expected = Counter(topic.split("/")[3] for topic, _ in messages)
    rows = conn.execute(
        "SELECT device_id, count(*), count(DISTINCT seq), min(seq), max(seq) FROM readings"
        " WHERE device_id LIKE %s GROUP BY device_id",
        (f"{site}-%",),
    ).fetchall()
    found = {device: (total, distinct, low, high) for device, total, distinct, low, high in rows}
    wrong = {d: found.get(d) for d, n in expected.items() if found.get(d) != (n, n, 1, n)}
    total = sum(v[0] for v in found.values())
    print(
        f"  counted: {total} rows for {len(found)} devices; expected {sum(expected.values())} "
        f"for {len(expected)} devices; devices with a gap or a duplicate: {len(wrong)}"
    )
    sample = dict(list(wrong.items())[:5])
    assert not wrong, f"gaps or duplicates (device: rows, distinct, min, max): {sample}"
    assert found.keys() == expected.keys()
