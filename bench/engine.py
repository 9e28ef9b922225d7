"""Readings per second through the rules engine alone, against the same engine handed one
message at a time (the baseline: no evaluation across a batch), measured in the same run.

A quarter of 3,000 devices (smoke detectors with temperature and obscuration, electrical
monitors with residual current and cable temperature), 1 Hz, batches of 5,000 messages as
ingest hands them over. Each run is repeated; medians and the ratio are printed.

    python -m bench.engine [--devices 3000] [--seconds 20] [--repeat 5]
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
    fleet = [(f"SD-{i:05d}", Kind.SMOKE) if i % 2 == 0 else (f"EF-{i:05d}", Kind.ELECTRICAL)
             for i in range(devices)]  # fmt: skip
    messages: list[Message] = []
    for second in range(seconds):
        ts = T0 + timedelta(seconds=second)
        for n, (device_id, kind) in enumerate(fleet):
            if kind is Kind.SMOKE:
                values = {"temperature_c": 24.0 + rng.gauss(0, 0.2),
                          "obscuration_pct_per_m": abs(rng.gauss(0.2, 0.05))}  # fmt: skip
            else:
                values = {"residual_current_ma": 150.0 + rng.gauss(0, 5),
                          "cable_temp_c": 32.0 + rng.gauss(0, 0.3)}  # fmt: skip
            message = Decoded("zilai", device_id, Channel.READING, ts, second * 10 + n % 10, values)
            messages.append((message, ts))
    return fleet, messages


def run_engine(fleet: list[tuple[str, Kind]], messages: list[Message]) -> float:
    engine = Engine()
    engine.configure(device_info(device_id=d, kind=k, site="zilai", building=f"B-{i // 10}")
                     for i, (d, k) in enumerate(fleet))  # fmt: skip
    started = time.perf_counter()
    for start in range(0, len(messages), BATCH):
        engine.evaluate(messages[start : start + BATCH])
        engine.commit()
    return time.perf_counter() - started


def run_unbatched(fleet: list[tuple[str, Kind]], messages: list[Message]) -> float:
    """The same engine handed one message at a time: what evaluating arrays over a batch buys."""
    engine = Engine()
    engine.configure(device_info(device_id=d, kind=k, site="zilai") for d, k in fleet)
    started = time.perf_counter()
    for message in messages:
        engine.evaluate([message])
        engine.commit()
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    fleet, messages = workload(args.devices, args.seconds)
    readings = sum(len(m.values) for m, _ in messages)
    print(f"{len(messages)} messages, {readings} readings from {args.devices} devices", flush=True)
    # The baseline is slow: it runs on the first tenth of the stream.
    sample = messages[: len(messages) // 10]
    sample_readings = sum(len(m.values) for m, _ in sample)
    engine_rates: list[float] = []
    single_rates: list[float] = []
    for run in range(args.repeat):
        engine_rates.append(readings / run_engine(fleet, messages))
        single_rates.append(sample_readings / run_unbatched(fleet, sample))
        print(f"run {run + 1}/{args.repeat}: batched {engine_rates[-1]:,.0f} readings/s, "
              f"one message at a time {single_rates[-1]:,.0f} readings/s", flush=True)  # fmt: skip
    engine, single = statistics.median(engine_rates), statistics.median(single_rates)
    print(f"median: engine {engine:,.0f} readings/s, one message at a time {single:,.0f} "
          f"readings/s, ratio {engine / single:.1f}x; target >= {TARGET:,}: "
          f"{'met' if engine >= TARGET else 'NOT MET'}")  # fmt: skip
    record("engine", [Figure("engine, readings per second on one core", engine, "readings/s",
                             f">= {TARGET:,} readings/s", engine >= TARGET,
                             "one message at a time", engine / single)],
           note=f"median of {args.repeat} runs, {args.devices:,} devices")  # fmt: skip
    return 0 if engine >= TARGET else 1


if __name__ == "__main__":
    sys.exit(main())
