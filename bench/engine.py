"""Readings per second through the rules engine alone, against the same engine handed one
message at a time (the baseline: no evaluation across a batch), measured in the same run on
the same slice of the stream, with the same devices and configuration.

Two shapes: a quarter of 3,000 devices (smoke detectors with temperature and obscuration,
electrical monitors with residual current and cable temperature) at 1 Hz, and a backlog of 200
electrical monitors with many readings each (every batch holds 25 of each monitor's). Batches
of 5,000 messages as ingest hands them over. Each run is repeated; medians and the ratio are
printed.

    python -m bench.engine [--devices 3000] [--seconds 4] [--monitors 200] [--readings 100]
                           [--repeat 5]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from alerts.devices import device_info
from alerts.engine import Engine
from bench.results import Figure, record
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

BATCH = 5000
TARGET = 100_000
T0 = datetime(2026, 1, 1, tzinfo=UTC)

Message = tuple[Decoded, datetime]


def workload(devices: int, seconds: int) -> tuple[list[tuple[str, Kind]], list[Message]]:
    rng = random.Random(7)
    fleet = [
        (f"SD-{i:05d}", Kind.SMOKE) if i % 2 == 0 else (f"EF-{i:05d}", Kind.ELECTRICAL)
        for i in range(devices)
    ]
    messages: list[Message] = []
    for second in range(seconds):
        ts = T0 + timedelta(seconds=second)
        for n, (device_id, kind) in enumerate(fleet):
            if kind is Kind.SMOKE:
                values = {
                    "temperature_c": 24.0 + rng.gauss(0, 0.2),
                    "obscuration_pct_per_m": abs(rng.gauss(0.2, 0.05)),
                }
            else:
                values = {
                    "residual_current_ma": 150.0 + rng.gauss(0, 5),
                    "cable_temp_c": 32.0 + rng.gauss(0, 0.3),
                }
            message = Decoded("zilai", device_id, Channel.READING, ts, second * 10 + n % 10, values)
            messages.append((message, ts))
    return fleet, messages


def backlog(monitors: int, readings: int) -> tuple[list[tuple[str, Kind]], list[Message]]:
    """Electrical monitors' queued readings after an outage, in the order they were sent."""
    rng = random.Random(8)
    fleet = [(f"EF-{i:05d}", Kind.ELECTRICAL) for i in range(monitors)]
    messages: list[Message] = []
    for k in range(readings):
        ts = T0 + timedelta(seconds=5 * k)
        for device_id, _ in fleet:
            values = {
                "residual_current_ma": 150.0 + rng.gauss(0, 5),
                "cable_temp_c": 32.0 + rng.gauss(0, 0.3),
            }
            messages.append((Decoded("zilai", device_id, Channel.READING, ts, k + 1, values), ts))
    return fleet, messages


def configured(fleet: list[tuple[str, Kind]]) -> Engine:
    engine = Engine()
    engine.configure(
        device_info(device_id=d, kind=k, site="zilai", building=f"B-{i // 10}")
        for i, (d, k) in enumerate(fleet)
    )
    return engine


def run(fleet: list[tuple[str, Kind]], messages: list[Message], *, batch: int) -> float:
    """Seconds to judge the messages in batches of ``batch`` (1: one message at a time, which
    is what evaluating arrays over a batch buys)."""
    engine = configured(fleet)
    started = time.perf_counter()
    for start in range(0, len(messages), batch):
        engine.evaluate(messages[start : start + batch])
        engine.commit()
    return time.perf_counter() - started


def measure(
    name: str, fleet: list[tuple[str, Kind]], messages: list[Message], repeat: int
) -> tuple[float, float]:
    """Median readings/s batched and one at a time, on the same messages and devices."""
    readings = sum(len(m.values) for m, _ in messages)
    print(f"{name}: {len(messages)} messages, {readings} readings from {len(fleet)} devices")
    batched: list[float] = []
    single: list[float] = []
    for n in range(repeat):
        batched.append(readings / run(fleet, messages, batch=BATCH))
        single.append(readings / run(fleet, messages, batch=1))
        print(
            f"  run {n + 1}/{repeat}: batched {batched[-1]:,.0f} readings/s, "
            f"one message at a time {single[-1]:,.0f} readings/s",
            flush=True,
        )
    for label, rates in (("batched", batched), ("one at a time", single)):
        print(
            f"  {label}: median {statistics.median(rates):,.0f} readings/s, "
            f"spread {min(rates):,.0f}-{max(rates):,.0f}"
        )
    return statistics.median(batched), statistics.median(single)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--monitors", type=int, default=200)
    parser.add_argument("--readings", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    # One message at a time is slow: both shapes are kept short enough for it.
    mix, mix_rate = measure("3,000-device mix", *workload(args.devices, args.seconds), args.repeat)
    monitors = backlog(args.monitors, args.readings)
    backlog_rate, backlog_single = measure("monitors' backlog", *monitors, args.repeat)
    engine = min(mix, backlog_rate)
    print(
        f"median: mix {mix:,.0f} readings/s ({mix / mix_rate:.1f}x one at a time), backlog "
        f"{backlog_rate:,.0f} readings/s ({backlog_rate / backlog_single:.1f}x); target >= "
        f"{TARGET:,} in both: {'met' if engine >= TARGET else 'NOT MET'}"
    )
    record(
        "engine",
        [
            Figure(
                name="engine, readings per second on one core",
                value=mix,
                unit="readings/s",
                target=f">= {TARGET:,} readings/s",
                met=mix >= TARGET,
                baseline="one message at a time",
                ratio=mix / mix_rate,
            ),
            Figure(
                name="engine, monitors' backlog, readings per second",
                value=backlog_rate,
                unit="readings/s",
                target=f">= {TARGET:,} readings/s",
                met=backlog_rate >= TARGET,
                baseline="one message at a time",
                ratio=backlog_rate / backlog_single,
            ),
        ],
        note=f"median of {args.repeat} runs, {args.devices:,} devices; "
        f"{args.monitors} monitors x {args.readings} readings",
    )
    return 0 if engine >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
