"""Ingest's memory with a city's worth of registered devices, against the quarter's 3,031, in
the same run.

    python -m bench.memory [--devices 100000] [--per-device 2] [--runs 3]

Each run registers the devices, starts `firewatch ingest` as a process of its own, publishes
``--per-device`` messages from every device (so the engine holds state for each one), waits
until ingest has taken them all, and reads the process's peak resident set (VmHWM) from
/proc. The two sizes alternate, ``--runs`` times each, and the table gives medians. Target:
at most 300 MB with 100,000 devices.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx2
import psycopg
from prometheus_client.parser import text_string_to_metric_families

from bench.ingest import fleet, make_messages
from bench.results import Figure, record, rss_mb
from contract.kinds import KIND_SPECS
from firewatch.testing import free_port, own_broker, own_database, wait_until
from registry.service import import_document
from settings import MqttTarget
from simulators.publisher import Publisher

TARGET_MB = 300


def _received(metrics_url: str) -> float:
    try:
        text = httpx2.get(metrics_url, timeout=2).text
    except httpx2.TransportError:
        return -1
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "firewatch_ingest_received_total":
                return sample.value
    return -1


def measure(devices: int, per_device: int) -> dict[str, float]:
    site = f"mem{devices}"
    fleet_ = fleet(devices)
    with (
        tempfile.TemporaryDirectory() as tmp,
        own_broker(Path(tmp)) as broker,
        own_database() as db,
    ):

        async def register() -> None:
            async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
                rows = [
                    {
                        "id": d,
                        "kind": k.value,
                        "site": site,
                        "heartbeat_s": KIND_SPECS[k].heartbeat_s,
                    }
                    for d, k in fleet_
                ]
                for i in range(0, len(rows), 10_000):
                    await import_document(conn, {"devices": rows[i : i + 10_000]})

        asyncio.run(register())
        port = free_port()
        env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": db,
            "FIREWATCH_MQTT_URL": broker,
            "FIREWATCH_SITE": site,
            "FIREWATCH_INGEST_METRICS_PORT": str(port),
        }
        proc = subprocess.Popen(
            [sys.executable, "-m", "firewatch", "ingest"], env=env, stderr=subprocess.DEVNULL
        )
        metrics = f"http://127.0.0.1:{port}/metrics"
        try:
            wait_until(lambda: _received(metrics) >= 0, timeout=120, what="ingest to start")
            started = rss_mb(proc.pid, "VmRSS")
            messages = make_messages(site, fleet_, devices * per_device)
            began = time.perf_counter()
            with Publisher(MqttTarget(broker), client_id=f"mem-{site}") as pub:
                for n, (topic, payload) in enumerate(messages):
                    pub.publish(topic, payload)
                    if n % 20_000 == 0:
                        print(
                            f"\r  {devices:,} devices: published {n:,}/{len(messages):,}",
                            end="",
                            file=sys.stderr,
                        )
            wait_until(
                lambda: _received(metrics) >= len(messages),
                timeout=600,
                what=f"ingest to take {len(messages):,} messages",
            )
            print(
                f"\r  {devices:,} devices: {len(messages):,} messages in "
                f"{time.perf_counter() - began:.0f} s",
                file=sys.stderr,
            )
            return {
                "devices": devices,
                "messages": len(messages),
                "rss_start_mb": started,
                "rss_end_mb": rss_mb(proc.pid, "VmRSS"),
                "peak_mb": rss_mb(proc.pid, "VmHWM"),
            }
        finally:
            proc.terminate()
            proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=100_000)
    parser.add_argument("--per-device", type=int, default=2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    runs: dict[int, list[dict[str, float]]] = {3031: [], args.devices: []}
    for n in range(args.runs):
        print(f"run {n + 1}/{args.runs}", file=sys.stderr)
        for size, rows in runs.items():
            rows.append(measure(size, args.per_device))
    base, city = (_median(rows) for rows in runs.values())
    peaks = ", ".join(f"{r['peak_mb']:.0f}" for r in runs[args.devices])
    print(f"peaks with {args.devices:,} devices: {peaks} MB", file=sys.stderr)
    print(
        f"\n{'ingest memory (MB)':<24}{'devices':>10}{'start':>9}{'end':>9}{'peak':>9}{'ratio':>8}"
    )
    for row in (base, city):
        print(
            f"{'':<24}{row['devices']:>10,.0f}{row['rss_start_mb']:>9.0f}{row['rss_end_mb']:>9.0f}"
            f"{row['peak_mb']:>9.0f}{row['peak_mb'] / base['peak_mb']:>7.1f}x"
        )
    ok = city["peak_mb"] <= TARGET_MB
    record(
        "memory",
        [
            Figure(
                name=f"ingest peak RSS, {args.devices:,} devices (median of {args.runs})",
                value=city["peak_mb"],
                unit="MB",
                target=f"<= {TARGET_MB} MB",
                met=ok,
                baseline="3,031 devices",
                ratio=city["peak_mb"] / base["peak_mb"],
            )
        ],
        note=f"{args.per_device} messages from every device",
    )
    print(
        f"\nmedian peak with {args.devices:,} devices: {city['peak_mb']:.0f} MB, "
        f"{'meets' if ok else 'MISSES'} the {TARGET_MB} MB target"
    )
    return 0 if ok else 1


def _median(rows: list[dict[str, float]]) -> dict[str, float]:
    return {key: statistics.median(r[key] for r in rows) for key in rows[0]}


if __name__ == "__main__":
    raise SystemExit(main())
