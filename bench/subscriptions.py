"""What per-device subscriptions cost Mosquitto (partitioned ingest workers, ingest/partition.py).

For 3,000 and 100,000 devices: the time from the first SUBSCRIBE to the last SUBACK (1,000
filters a packet, as MqttSource sends them), the broker's resident memory before and after, and
the delivery rate of a QoS 0 burst to a subscriber holding the explicit filters, against the
same subscriber holding one wildcard (the baseline, measured in the same run). Medians of
``--repeat`` runs.

    python -m bench.subscriptions [--devices 3000 100000] [--messages 50000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench.results import Figure, record
from firewatch.testing import broker_config, free_port, start_broker, stop_broker
from ingest.partition import device_topics

CHUNK = 1000


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def subscriber(
    port: int, filters: list[str], got: threading.Event, want: int
) -> tuple[mqtt.Client, float]:
    """Connects, subscribes; returns the client and seconds until every SUBACK came."""
    acked = threading.Event()
    pending: set[int] = set()
    count = [0]
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"sub-{port}-{len(filters)}")

    def on_subscribe(_c: object, _u: object, mid: int, _r: object, _p: object) -> None:
        pending.discard(mid)
        if not pending:
            acked.set()

    def on_message(_c: object, _u: object, _m: object) -> None:
        count[0] += 1
        if count[0] >= want:
            got.set()

    client.on_subscribe = on_subscribe
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    started = time.perf_counter()
    for i in range(0, len(filters), CHUNK):
        pending.add(client.subscribe([(f, 0) for f in filters[i : i + CHUNK]])[1] or 0)
    acked.wait(120)
    return client, time.perf_counter() - started


def burst(port: int, site: str, devices: int, messages: int) -> None:
    pub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{port}")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    payload = b'{"ts":1,"seq":1,"values":{"temperature_c":24.0}}'
    for n in range(messages):
        pub.publish(f"fw/v1/{site}/D{n % devices:06d}/reading", payload, qos=0)
    pub.loop_stop()
    pub.disconnect()


def one_run(devices: int, messages: int) -> dict[str, float]:
    site = "bench"
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_broker(broker_config(Path(tmp), port), port)
        try:
            before = rss_kib(proc.pid)
            explicit = [device_topics(site, f"D{i:06d}") for i in range(devices)]
            for name, filters in (("wildcard", [f"fw/v1/{site}/#"]), ("explicit", explicit)):
                got = threading.Event()
                client, subscribe_s = subscriber(port, filters, got, messages)
                if name == "explicit":
                    out["subscribe_s"] = subscribe_s
                    out["rss_mib"] = (rss_kib(proc.pid) - before) / 1024
                started = time.perf_counter()
                threading.Thread(target=burst, args=(port, site, devices, messages)).start()
                got.wait(120)
                out[f"{name}_msg_s"] = messages / (time.perf_counter() - started)
                client.loop_stop()
                client.disconnect()
        finally:
            stop_broker(proc)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, nargs="+", default=[3000, 100_000])
    parser.add_argument("--messages", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    figures: list[Figure] = []
    print("devices  subscribe  broker RSS  explicit msg/s  wildcard msg/s  ratio   (medians)")
    for devices in args.devices:
        runs = [one_run(devices, args.messages) for _ in range(args.repeat)]
        med = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        print(
            f"{devices:7,d}  {med['subscribe_s']:7.2f} s  {med['rss_mib']:7.1f} MiB"
            f"  {med['explicit_msg_s']:14,.0f}  {med['wildcard_msg_s']:14,.0f}"
            f"  {med['explicit_msg_s'] / med['wildcard_msg_s']:5.2f}"
        )
        figures.append(
            Figure(
                name=f"per-device subscriptions, {devices:,} devices: delivery",
                value=med["explicit_msg_s"],
                unit="msg/s",
                target="",
                met=None,
                baseline="one wildcard",
                ratio=med["explicit_msg_s"] / med["wildcard_msg_s"],
            )
        )
    record("subscriptions", figures, note=f"medians of {args.repeat} runs")


if __name__ == "__main__":
    main()
