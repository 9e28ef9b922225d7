"""Ingest's backlog drain on each time-series backend, interleaved in the same run: stock
PostgreSQL with the roll-up trigger, the same without it (what ingest wrote before the roll-ups:
the baseline that prices them), and TimescaleDB.

    python -m bench.timeseries_ingest [--messages 100000] [--devices 3000] [--repeat 3]
                                      [--timescaledb URL]

Each run queues ``--messages`` QoS 1 messages of the quarter's mix for a fresh persistent
session, then times ingest draining them (bench/ingest.py), once per backend, the order turning
each run. The native server is FIREWATCH_DATABASE_URL; TimescaleDB is ``--timescaledb`` or
FIREWATCH_TEST_DATABASE_URL when that server has it (otherwise it is left out).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import psycopg

from bench.ingest import firewatch_drain, fleet, make_messages, register
from bench.results import Figure, record
from firewatch.testing import database_server, own_broker, own_database
from settings import Settings
from store.database import has_timescaledb

NO_ROLLUPS = "native, no roll-ups"


def timescaledb_server(given: str) -> str | None:
    """``given`` or FIREWATCH_TEST_DATABASE_URL, if that server preloads TimescaleDB."""
    candidate = given or database_server()
    with psycopg.connect(candidate, dbname="postgres") as conn:
        return candidate if has_timescaledb(conn) else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--timescaledb", default="", help="default: FIREWATCH_TEST_DATABASE_URL")
    args = parser.parse_args(argv)
    native = Settings().database_url
    timescale = timescaledb_server(args.timescaledb)
    devices = fleet(args.devices)
    with ExitStack() as stack:
        broker = stack.enter_context(
            own_broker(Path(stack.enter_context(tempfile.TemporaryDirectory())))
        )
        targets = {
            "native": stack.enter_context(own_database("fw_drain", server=native)),
            NO_ROLLUPS: stack.enter_context(own_database("fw_drain", server=native)),
        }
        with psycopg.connect(targets[NO_ROLLUPS], autocommit=True) as conn:
            conn.execute("DROP TRIGGER readings_roll_up ON readings")
        if timescale:
            targets["timescaledb"] = stack.enter_context(own_database("fw_drain", server=timescale))
        rates: dict[str, list[float]] = {name: [] for name in targets}
        names = list(targets)
        for run in range(args.repeat):
            order = names[run % len(names) :] + names[: run % len(names)]
            for name in order:
                site = f"d{run}-{names.index(name)}"
                prefixed = [(f"{site}-{d}", k) for d, k in devices]
                register(targets[name], site, devices)
                rate = firewatch_drain(
                    broker,
                    targets[name],
                    site,
                    make_messages(site, prefixed, args.messages),
                    live=False,
                )
                rates[name].append(rate)
                print(f"  run {run + 1} {name:20s} {rate:10,.0f} msg/s", file=sys.stderr)
    med = {name: statistics.median(values) for name, values in rates.items()}
    print(f"\nbacklog drain, {args.messages:,} messages, median of {args.repeat} runs (msg/s)")
    for name, values in rates.items():
        runs = ", ".join(f"{v:,.0f}" for v in values)
        print(f"  {name:22s} {med[name]:10,.0f}   runs: {runs}")
    cost = med["native"] / med[NO_ROLLUPS]
    print(f"  native with / without roll-ups = {cost:.2f}")
    figures = [
        Figure(
            name="native backlog drain with the roll-up trigger",
            value=med["native"],
            unit="msg/s",
            target="",
            met=None,
            baseline=NO_ROLLUPS,
            ratio=cost,
        )
    ]
    if "timescaledb" in med:
        ratio = med["timescaledb"] / med["native"]
        print(f"  timescaledb / native           = {ratio:.2f}")
        figures.append(
            Figure(
                name="timescaledb backlog drain",
                value=med["timescaledb"],
                unit="msg/s",
                target="within 10 % of native",
                met=ratio >= 0.9,
                baseline="native, same run",
                ratio=ratio,
            )
        )
    else:
        print("  TimescaleDB: no server with it at --timescaledb or FIREWATCH_TEST_DATABASE_URL")
    record("timeseries_ingest", figures, note=f"{args.messages} messages, {args.repeat} runs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
