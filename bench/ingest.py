"""Sustained ingest through the real broker into the real database, against two baselines.

For each run, the broker first holds a backlog of QoS 1 messages for the consumer's
persistent session (as after an ingest restart); the consumer then drains it and we time
the drain. Three consumers are measured in the same run, interleaved, on their own sites:

- firewatch: the ingest service (batched binary COPY, engine hook, ack after commit), on the
             3,000-device mix and on 200 electrical monitors with 1,000 queued readings each
             (few devices, many samples each per batch);
- naive:     paho on_message -> INSERT and commit per message (a smaller backlog: it is slow);
- ceiling:   mosquitto_sub at QoS 1, the broker's own delivery rate to a C client.

A live run follows: two publisher processes and ingest at the same time, all on this
machine's cores together with the broker and PostgreSQL.

    python -m bench.ingest [--messages 200000] [--devices 3000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.naive import NaiveConsumer
from bench.results import Figure, record
from contract.kinds import KIND_SPECS, Kind
from contract.topics import Channel, subscription_for, topic_for
from firewatch.testing import own_broker, own_database
from ingest.service import IngestService
from settings import MqttTarget, Settings
from simulators.publisher import Publisher

Message = tuple[str, bytes]
LIVE_PUBLISHERS = 2
PUBLISHER_RATES: list[float] = []  # one Python publisher alone, filling a backlog


def make_messages(site: str, devices: list[tuple[str, Kind]], count: int) -> list[Message]:
    """Readings mostly, some heartbeats, a few alarms and hot readings so the engine works too."""
    rng = random.Random(42)
    start = datetime.now(UTC) - timedelta(hours=2)
    seqs = dict.fromkeys((d for d, _ in devices), 0)
    out: list[Message] = []
    for n in range(count):
        device_id, kind = devices[n % len(devices)]
        seqs[device_id] += 1
        ts = int((start + timedelta(milliseconds=20 * n)).timestamp() * 1000)
        body: dict[str, Any] = {"ts": ts, "seq": seqs[device_id]}
        channel = Channel.READING
        roll = rng.random()
        if roll < 0.05:
            channel = Channel.STATUS
            body |= {"battery_pct": 90.0, "rssi_dbm": -70.0}
        elif kind is Kind.SMOKE and roll < 0.0505:
            channel = Channel.EVENT
            body["type"] = "alarm"
        elif kind is Kind.SMOKE:
            hot = 60.0 if roll > 0.9995 else rng.gauss(24, 0.5)
            body["values"] = {"obscuration_pct_per_m": rng.random(), "temperature_c": hot}
        elif kind is Kind.ELECTRICAL:
            body["values"] = {
                "residual_current_ma": rng.uniform(100, 200),
                "cable_temp_c": rng.gauss(32, 1),
            }
        else:
            body["values"] = {"max_temp_c": 40.0, "avg_temp_c": 25.0, "min_temp_c": 15.0}
        out.append((topic_for(site, device_id, channel), orjson.dumps(body)))
    return out


def monitor_backlog(site: str, monitors: list[tuple[str, Kind]], count: int) -> list[Message]:
    """Electrical monitors' readings queued during an outage, as they were sent: each monitor
    every 5 s, so a batch holds many samples of each."""
    rng = random.Random(43)
    start = datetime.now(UTC) - timedelta(hours=3)
    out: list[Message] = []
    for n in range(count):
        k, i = divmod(n, len(monitors))
        device_id = monitors[i][0]
        ts = int((start + timedelta(seconds=5 * k)).timestamp() * 1000)
        body = {
            "ts": ts,
            "seq": k + 1,
            "values": {
                "residual_current_ma": rng.uniform(100, 200),
                "cable_temp_c": rng.gauss(32, 1),
            },
        }
        out.append((topic_for(site, device_id, Channel.READING), orjson.dumps(body)))
    return out


def fleet(count: int) -> list[tuple[str, Kind]]:
    cameras, electrical = 14, 457 * count // 1471
    smoke = count - cameras - electrical
    return (
        [(f"SD-{n:05d}", Kind.SMOKE) for n in range(smoke)]
        + [(f"EF-{n:05d}", Kind.ELECTRICAL) for n in range(electrical)]
        + [(f"TC-{n:05d}", Kind.THERMAL_CAMERA) for n in range(cameras)]
    )


def register(database_url: str, site: str, devices: list[tuple[str, Kind]]) -> None:
    with (
        psycopg.connect(database_url) as conn,
        conn.cursor() as cur,
        cur.copy("COPY devices (id, kind, site, heartbeat_s) FROM STDIN") as copy,
    ):
        for device_id, kind in devices:
            copy.write_row((f"{site}-{device_id}", kind.value, site, KIND_SPECS[kind].heartbeat_s))


def publish(broker_url: str, messages: list[Message], client_id: str) -> float:
    """Returns the publish rate; the broker has acknowledged every message on return."""
    started = time.perf_counter()
    with Publisher(MqttTarget(broker_url), client_id=client_id, window=2000) as pub:
        for topic, payload in messages:
            pub.publish(topic, payload)
    rate = len(messages) / (time.perf_counter() - started)
    PUBLISHER_RATES.append(rate)
    return rate


def _publish_process(broker_url: str, messages: list[Message], client_id: str) -> None:
    publish(broker_url, messages, client_id)


_last_progress = [0.0]


def _progress(label: str, done: int, total: int) -> None:
    """At most once a second, on one line of the terminal."""
    now = time.monotonic()
    if now - _last_progress[0] >= 1.0 or done >= total:
        _last_progress[0] = now
        print(f"\r  {label}: {done}/{total}", end="", file=sys.stderr, flush=True)


def firewatch_drain(
    broker_url: str, database_url: str, site: str, messages: list[Message], *, live: bool
) -> float:
    settings = Settings(
        database_url=database_url,
        mqtt_url=broker_url,
        site=site,
        ingest_client_id=f"bench-{site}",
    )
    service = IngestService(settings)
    stop = threading.Event()
    publishers: list[mp.process.BaseProcess] = []
    if not live:
        service.source.start()  # create the session and its subscription, then leave
        service.source.stop()
        publish(broker_url, messages, f"pub-{site}")
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    started = time.perf_counter()
    thread.start()
    if live:
        # Two publishing processes: one Python publisher alone manages about 13k msg/s here.
        # Each device's messages stay in one process, so their order is kept.
        for n in range(LIVE_PUBLISHERS):
            share = [m for m in messages if hash(m[0].split("/")[3]) % LIVE_PUBLISHERS == n]
            proc = mp.get_context("spawn").Process(
                target=_publish_process, args=(broker_url, share, f"pub-{site}-{n}")
            )
            proc.start()
            publishers.append(proc)
    total = len(messages)
    c = service.counters
    while c.stored + c.duplicates + sum(c.rejected.values()) < total:
        time.sleep(0.05)
        _progress(f"firewatch {'live' if live else 'drain'}", c.received, total)
        if not thread.is_alive():
            raise RuntimeError("ingest stopped during the benchmark; see its log")
    elapsed = time.perf_counter() - started
    stop.set()
    thread.join()
    for publisher in publishers:
        publisher.join()
    print(file=sys.stderr)
    if c.stored != total:
        raise RuntimeError(f"stored {c.stored} of {total} (rejected {dict(c.rejected)})")
    return total / elapsed


def naive_drain(broker_url: str, database_url: str, site: str, messages: list[Message]) -> float:
    consumer = NaiveConsumer(
        MqttTarget(broker_url), database_url=database_url, client_id=f"naive-{site}"
    )
    consumer.subscribe_once(subscription_for(site))
    publish(broker_url, messages, f"pub-{site}")
    started = time.perf_counter()
    watcher = threading.Thread(target=consumer.drain, args=(len(messages), 3600), daemon=True)
    watcher.start()
    while watcher.is_alive():
        watcher.join(0.2)
        _progress("naive drain", consumer.count, len(messages))
    elapsed = time.perf_counter() - started
    print(file=sys.stderr)
    return len(messages) / elapsed


def ceiling_drain(broker_url: str, site: str, messages: list[Message]) -> float:
    target = MqttTarget(broker_url)
    binary = shutil.which("mosquitto_sub") or "/usr/bin/mosquitto_sub"
    base = [
        binary,
        "-h",
        target.host,
        "-p",
        str(target.port),
        "-q",
        "1",
        "-c",
        "-i",
        f"ceiling-{site}",
        "-t",
        subscription_for(site),
    ]
    subprocess.run([*base, "-W", "1"], check=False, capture_output=True)
    publish(broker_url, messages, f"pub-{site}")
    started = time.perf_counter()
    subprocess.run(
        [*base, "-C", str(len(messages))], check=True, stdout=subprocess.DEVNULL, timeout=600
    )
    return len(messages) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--naive-messages", type=int, default=20_000)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    devices = fleet(args.devices)
    monitors = [(f"EF-{n:05d}", Kind.ELECTRICAL) for n in range(args.monitors)]
    results: dict[str, list[float]] = {
        "firewatch": [],
        "monitors": [],
        "naive": [],
        "ceiling": [],
        "live": [],
    }
    with (
        tempfile.TemporaryDirectory() as work,
        own_broker(Path(work)) as broker,
        own_database("fw_bench") as db,
    ):
        print(
            f"broker {broker}, {len(devices)} devices, {args.messages} messages per run"
            f" (naive: {args.naive_messages})",
            file=sys.stderr,
        )
        for run in range(args.repeat):
            print(f"run {run + 1}/{args.repeat}", file=sys.stderr)
            for name in ("firewatch", "monitors", "naive", "ceiling", "live"):
                site = f"b{run}-{name}"
                count = args.naive_messages if name == "naive" else args.messages
                shape = monitors if name == "monitors" else devices
                prefixed = [(f"{site}-{d}", k) for d, k in shape]
                if name == "monitors":
                    messages = monitor_backlog(site, prefixed, count)
                else:
                    messages = make_messages(site, prefixed, count)
                register(db, site, shape)
                if name in ("firewatch", "monitors"):
                    rate = firewatch_drain(broker, db, site, messages, live=False)
                elif name == "live":
                    rate = firewatch_drain(broker, db, site, messages, live=True)
                elif name == "naive":
                    rate = naive_drain(broker, db, site, messages)
                else:
                    rate = ceiling_drain(broker, site, messages)
                results[name].append(rate)
                print(f"  {name:9s} {rate:10,.0f} msg/s", file=sys.stderr)
    med = {k: statistics.median(v) for k, v in results.items()}
    print("\nmedian msg/s over", args.repeat, "runs (QoS 1, through the broker, into PostgreSQL)")
    for name, label in (
        ("firewatch", "firewatch ingest, backlog drain"),
        ("monitors", f"the same, {args.monitors} monitors' backlog"),
        ("live", "firewatch ingest, 2 live publishers"),
        ("naive", "naive baseline (commit per message)"),
        ("ceiling", "mosquitto_sub ceiling (no database)"),
    ):
        runs = ", ".join(f"{r:,.0f}" for r in results[name])
        spread = f"{min(results[name]):,.0f}-{max(results[name]):,.0f}"
        print(f"  {label:40s} {med[name]:10,.0f}   runs: {runs} (spread {spread})")
    print(f"  {'one Python publisher alone':40s} {statistics.median(PUBLISHER_RATES):10,.0f}")
    print(f"  firewatch / naive    = {med['firewatch'] / med['naive']:.1f}x")
    print(f"  firewatch / ceiling  = {med['firewatch'] / med['ceiling']:.2f}")
    print(f"  live / naive         = {med['live'] / med['naive']:.1f}x")
    record(
        "ingest",
        [
            Figure(
                name="backlog drain",
                value=med["firewatch"],
                unit="msg/s",
                target=">= 15,000 msg/s",
                met=med["firewatch"] >= 15_000,
                baseline="naive",
                ratio=med["firewatch"] / med["naive"],
            ),
            Figure(
                name=f"backlog drain, {args.monitors} monitors",
                value=med["monitors"],
                unit="msg/s",
                target=">= 15,000 msg/s",
                met=med["monitors"] >= 15_000,
                baseline="naive",
                ratio=med["monitors"] / med["naive"],
            ),
            Figure(
                name="backlog drain vs broker alone",
                value=med["firewatch"],
                unit="msg/s",
                target="",
                met=None,
                baseline="mosquitto_sub",
                ratio=med["firewatch"] / med["ceiling"],
            ),
            Figure(
                name="live, 2 publishers alongside",
                value=med["live"],
                unit="msg/s",
                target="",
                met=None,
                baseline="naive",
                ratio=med["live"] / med["naive"],
            ),
        ],
        note=f"medians of {args.repeat} runs of {args.messages:,} QoS 1 messages",
    )


if __name__ == "__main__":
    main()
