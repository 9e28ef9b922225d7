"""Importing the quarter's 3,031 devices (and 320 buildings) into an empty registry.

The import (parse, check every row, one upsert per table and chunk, broker passwords, audit)
against a naive baseline that inserts and commits one device at a time, as a first version
would. Both start from an empty database of their own, several times, interleaved; the
medians and their ratio are printed. Target: under 2 s for 3,000 devices.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

from bench.results import Figure, record
from firewatch.testing import own_database
from registry.import_service import import_registry
from registry.service import read_document
from simulators.topology import build_quarter
from store.audit import Actor


async def _import(url: str, data: bytes) -> float:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        document = read_document(data, content_type="application/json")
        async with conn.transaction():
            report = await import_registry(
                conn, document, status="active", dry_run=False, actor=Actor("bench")
            )
        elapsed = time.perf_counter() - started
    assert report.ok and len(report.created) == len(document.devices), report.errors
    return elapsed


def _naive(url: str, document: dict[str, Any]) -> float:
    """One INSERT and one commit per row: no checks, no passwords, no audit."""
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for b in document["buildings"]:
            conn.execute(
                "INSERT INTO buildings (id, name, address, lat, lon, zone, rented)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (b["id"], b["name"], b["address"], b["lat"], b["lon"], b["zone"], b["rented"]),
            )
            conn.commit()
        for d in document["devices"]:
            conn.execute(
                "INSERT INTO devices (id, kind, site, name, building, floor, room, lat, lon,"
                " zone, heartbeat_s, config) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s,"
                " %s, %s)",
                (
                    d["id"],
                    d["kind"],
                    d["site"],
                    d["name"],
                    d["building"],
                    d["floor"],
                    d["room"],
                    d["lat"],
                    d["lon"],
                    d["zone"],
                    d["heartbeat_s"],
                    Jsonb(d["config"]),
                ),
            )
            conn.commit()
        return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    document = build_quarter(seed=7, site="zilai").document()
    data = orjson.dumps(document)
    devices = len(document["devices"])
    ours, naive = [], []
    for run in range(args.runs):
        with own_database("fw_bench_import") as url:
            ours.append(asyncio.run(_import(url, data)))
        with own_database("fw_bench_naive") as url:
            naive.append(_naive(url, document))
        print(f"run {run + 1}: import {ours[-1]:.3f} s, naive {naive[-1]:.3f} s", flush=True)
    mine, base = statistics.median(ours), statistics.median(naive)
    print(
        f"{devices:,} devices, {len(document['buildings'])} buildings, median of {args.runs}:"
        f" import {mine:.3f} s ({devices / mine:,.0f} devices/s), naive row-by-row"
        f" {base:.3f} s ({devices / base:,.0f} devices/s); import is {base / mine:.1f}x"
        f" faster; target < 2 s: {'met' if mine < 2 else 'MISSED'}"
    )
    record(
        "registry_import",
        [
            Figure(
                name=f"import of {devices:,} devices",
                value=mine,
                unit="s",
                target="< 2 s",
                met=mine < 2,
                baseline="row-by-row INSERT (times slower)",
                ratio=base / mine,
            )
        ],
        note=f"median of {args.runs} runs, each into a fresh database",
    )
    return 0 if mine < 2 else 1


if __name__ == "__main__":
    sys.exit(main())
