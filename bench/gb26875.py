"""GB/T 26875.3: packets from transmission devices committed and confirmed, against a baseline
that commits each packet on its own; a thousand devices connected at once; and a panel's fire
alarm to the operator's live stream.

    nice python -m bench.gb26875 [--repeat 3] [--seconds 10] [--devices 200] [--alarms 100]

1. Throughput. ``firewatch ingest`` runs as a process of its own with the server inside it
   (FIREWATCH_GB26875_PORT): packets go through ingest's batches, its engine (each packet
   turns a component's fault on or off: an event and an alert change) and one commit per
   batch. The baseline, in the same run and under the same load, is a server of the same
   framing and translation that commits each packet's rows in a transaction of its own (a
   pool of 8 connections) before confirming it, and runs no engine: what a first version
   usually looks like. Each counts packets confirmed per second; runs interleave. Target:
   >= 2,000 type-2 packets/s (issue 18).
2. Connections: 1,000 simulated transmission devices connect to that one process, each sends
   a heartbeat and a fire-alarm packet and waits for its confirms, all connected at once.
3. Latency, measured first, on the site as seeded: with the quarter's 3,031 devices
   publishing at their own rate (seed load) and the API as a process of its own, a panel
   component's fire alarm packet until its ``panel_fire`` alert is on the operator's live
   stream (SSE). Target: p99 <= 250 ms (issue 18).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx2
import orjson
import psycopg
from psycopg_pool import AsyncConnectionPool

from bench.alert_latency import SEED_RATE, Arrivals, percentile
from bench.results import Figure, record, rss_mb
from contract.codec import Limits, decode
from contract.kinds import KIND_SPECS, Kind
from contract.messages import Decoded
from contract.topics import Channel
from firewatch.testing import free_port, own_broker, own_database, wait_until
from gateways.gb26875 import data_units, frames
from gateways.gb26875.frames import Command, Frame, FrameReader
from gateways.gb26875.mapping import Mapping
from gateways.gb26875.translate import Context, StateMemory, addresses, translate
from registry.service import import_document
from simulators.gb26875_transmitter import (
    FAULT,
    FIRE,
    NORMAL,
    Transmitter,
    component_state,
    data_unit,
)
from simulators.load import LoadPlan, run_load
from simulators.topology import build_quarter
from store.users import add_user

SITE = "zilai"
COMPONENTS = 8  # per transmission device
START = 0x20  # component state bit 5: started (a linkage module)
# Workloads: (name, every how many packets one turns a fault on or off).
WORKLOADS = (("mix", 10), ("faults", 1))
LANES = 1  # packets in flight per device: each waits for its confirm
TARGET_RATE = 2000.0
TARGET_MS = 250.0
CONNECTIONS = 1000
ROOT = Path(__file__).resolve().parent.parent


def _hex(n: int) -> str:
    return f"{0x100000 + n:012x}"


def _register(db: str, *, transmitters: int, buildings: list[str]) -> None:
    """``transmitters`` devices, each with COMPONENTS panel components mapped to it, and the
    connection phase's CONNECTIONS devices with one component each."""
    rows: list[tuple[str, str, dict[str, Any], str]] = []
    for n in range(CONNECTIONS):
        building = buildings[n % len(buildings)]
        rows.append((f"GC-{n}", "transmitter", {"transmitter": _hex(50_000 + n)}, building))
        address = {"transmitter": _hex(50_000 + n), "system": 1, "component": 1}
        rows.append((f"GCP-{n}", "panel", address, building))
    for t in range(transmitters):
        building = buildings[t % len(buildings)]
        rows.append((f"GT-{t}", "transmitter", {"transmitter": _hex(t)}, building))
        rows += [
            (
                f"GP-{t}-{c}",
                "panel",
                {"transmitter": _hex(t), "system": 1, "component": c},
                building,
            )
            for c in range(COMPONENTS)
        ]
    with psycopg.connect(db, autocommit=True) as conn, conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building, config)"
            " VALUES (%s, %s, %s, %s, %s, %s::jsonb) ON CONFLICT DO NOTHING",
            [
                (
                    i,
                    k,
                    SITE,
                    KIND_SPECS[Kind(k)].heartbeat_s,
                    b,
                    orjson.dumps({"gb26875": a}).decode(),
                )
                for i, k, a, b in rows
            ],
        )


# The baseline ------------------------------------------------------------------------------


class NaiveGateway:
    """The same framing and translation; each packet's rows in a transaction of their own,
    then its confirm. No batching across packets, no engine."""

    def __init__(self, database_url: str) -> None:
        self._url = database_url
        self._mapping = Mapping(database_url, site=SITE)
        self._memory = StateMemory()
        self._tz = ZoneInfo("Asia/Shanghai")
        self._limits = Limits()

    async def serve(self, port: int) -> None:
        async with AsyncConnectionPool(self._url, min_size=8, max_size=8, open=False) as pool:
            self._pool = pool
            server = await asyncio.start_server(self._connection, "127.0.0.1", port, backlog=4096)
            async with server:
                await server.serve_forever()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stream = FrameReader()
        try:
            while data := await reader.read(65536):
                for item in stream.feed(data):
                    if isinstance(item, Frame) and item.command == Command.SEND:
                        await self._packet(item, writer)
        except ConnectionError:
            pass
        finally:
            writer.close()

    async def _packet(self, frame: Frame, writer: asyncio.StreamWriter) -> None:
        unit = data_units.parse(frame.adu) if frame.adu else None
        await self._mapping.resolve(addresses(frame, unit))
        now = datetime.now(UTC)
        ctx = Context(
            site=SITE,
            tz=self._tz,
            lookup=self._mapping.lookup,
            memory=self._memory,
            received_at=now,
        )
        items = translate(frame, unit, ctx).items if unit is not None else []
        async with self._pool.connection() as conn, conn.transaction():
            for item in items:
                m = decode(item.topic, item.payload, now=now, limits=self._limits)
                if isinstance(m, Decoded) and m.channel is Channel.EVENT:
                    await conn.execute(
                        "INSERT INTO events (ts, device_id, seq, type, detail, received_at)"
                        " VALUES (%s, %s, %s, %s, %s::jsonb, %s) ON CONFLICT DO NOTHING",
                        (
                            m.ts,
                            m.device_id,
                            m.seq,
                            m.event_type,
                            orjson.dumps(m.detail).decode(),
                            now,
                        ),
                    )
        label = frames.label_of(now, self._tz)
        writer.write(frames.reply(frame, command=Command.CONFIRM, label=label))
        await writer.drain()


# The load ---------------------------------------------------------------------------------


@dataclass
class Load:
    confirmed: int = 0
    stop: bool = False


async def _lane(device: Transmitter, components: range, load: Load, fault_every: int) -> None:
    """Each packet a component's state: every ``fault_every``-th turns its fault on or off
    (an event and an alert change), the others its start (a linkage module started or
    stopped: kept as the component's status)."""
    state = dict.fromkeys(components, NORMAL)
    sent = 0
    while not load.stop:
        for c in components:
            if load.stop:
                return
            sent += 1
            state[c] ^= FAULT if sent % fault_every == 0 else START
            obj = component_state(system=1, component=c, state=state[c], at=device.label())
            await device.send(data_unit(2, [obj]))
            load.confirmed += 1


async def _throughput(port: int, *, devices: int, seconds: float, fault_every: int) -> float:
    """Packets confirmed per second, over ``seconds`` after a warm-up."""
    load = Load()
    senders = [
        Transmitter(_hex(t), host="127.0.0.1", port=port, resend_after_s=10) for t in range(devices)
    ]
    for s in senders:
        await s.__aenter__()
    share = COMPONENTS // LANES
    lanes = [
        asyncio.create_task(_lane(s, range(k * share, (k + 1) * share), load, fault_every))
        for s in senders
        for k in range(LANES)
    ]
    # Warm-up: every component reported twice, so each packet after is one change (a first
    # report says all four flags: four events) and their backlog is committed.
    while load.confirmed < devices * COMPONENTS * 2:
        await asyncio.sleep(0.2)
    before, began = load.confirmed, time.perf_counter()
    await asyncio.sleep(seconds)
    rate = (load.confirmed - before) / (time.perf_counter() - began)
    load.stop = True
    await asyncio.wait(lanes, timeout=60)
    for s in senders:
        await s.close()
    return rate


async def _connections(port: int) -> tuple[int, float, list[float]]:
    """CONNECTIONS devices connected at once, each confirmed a heartbeat and a component's
    fault; returns how many had both confirmed, the seconds it took, and the faults' confirm
    times."""
    began = time.perf_counter()
    devices = [
        Transmitter(_hex(50_000 + n), host="127.0.0.1", port=port, resend_after_s=30)
        for n in range(CONNECTIONS)
    ]
    await asyncio.gather(*(d.__aenter__() for d in devices))
    await asyncio.wait_for(asyncio.gather(*(d.heartbeat() for d in devices)), 120)

    async def fault(d: Transmitter) -> None:
        await d.component(system=1, component=1, state=NORMAL | FAULT)

    await asyncio.wait_for(asyncio.gather(*(fault(d) for d in devices)), 120)
    seconds = time.perf_counter() - began
    both = sum(1 for d in devices if d.tally.confirmed >= 2)
    latencies = [d.tally.latencies[-1] for d in devices if d.tally.latencies]
    await asyncio.gather(*(d.close() for d in devices))
    return both, seconds, latencies


# Processes --------------------------------------------------------------------------------


@contextmanager
def _process(args: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([sys.executable, *args], env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _listening(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _answers(url: str) -> bool:
    try:
        return httpx2.get(url, timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


# Latency ----------------------------------------------------------------------------------


def _watch(base: str, token: str, seen: Arrivals, stop: threading.Event) -> None:
    """The operator's live stream: when each panel_fire alert was raised on screen."""
    try:
        with httpx2.stream(
            "GET",
            f"{base}/api/v1/alerts/stream",
            headers={"Authorization": f"Bearer {token}"},
            timeout=None,
        ) as response:
            kind = ""
            for line in response.iter_lines():
                if stop.is_set():
                    return
                if line.startswith("event: "):
                    kind = line[7:]
                elif line.startswith("data: ") and kind == "alert":
                    event = orjson.loads(line[6:])
                    alert = event["alert"]
                    if event["change"] == "raise" and alert["rule"] == "panel_fire":
                        seen.saw(alert["subject"])
    except httpx2.TransportError:
        if not stop.is_set():
            raise


async def _alarms(port: int, alarms: int, transmitters: int) -> dict[str, float]:
    """One fire alarm every 0.2 s, each from another component; when each was sent."""
    sent: dict[str, float] = {}
    devices = [
        Transmitter(_hex(t), host="127.0.0.1", port=port, resend_after_s=30)
        for t in range(transmitters)
    ]
    for d in devices:
        await d.__aenter__()
    for n in range(alarms):
        t, c = n % transmitters, COMPONENTS - 1 - n // transmitters
        device = devices[t]
        obj = component_state(system=1, component=c, state=NORMAL | FIRE, at=device.label())
        sent[f"GP-{t}-{c}"] = time.perf_counter()
        device.send(data_unit(2, [obj]))
        print(f"\r  panel alarm {n + 1}/{alarms}", end="", file=sys.stderr)
        await asyncio.sleep(0.2)
    print(file=sys.stderr)
    await asyncio.sleep(2)
    for d in devices:
        await d.close()
    return sent


def _latency(
    settings_env: dict[str, str], db: str, broker_url: str, gb_port: int, alarms: int
) -> list[float]:
    async def operator() -> str:
        async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
            return await add_user(conn, name="bench-gb-operator", role="operator")

    token = asyncio.run(operator())
    api_port = free_port()
    env = {**settings_env, "FIREWATCH_API_PORT": str(api_port)}
    base = f"http://127.0.0.1:{api_port}"
    seen, stop = Arrivals(), threading.Event()
    with _process(["-m", "firewatch", "api"], env):
        wait_until(lambda: _answers(f"{base}/readyz"), timeout=60, what="the API to start")
        watcher = threading.Thread(target=_watch, args=(base, token, seen, stop), daemon=True)
        watcher.start()
        plan = LoadPlan(
            mqtt_url=broker_url,
            site=SITE,
            seed=7,
            devices=3031,
            rate=SEED_RATE,
            duration=alarms * 0.2 + 10,
            processes=1,
        )
        background = threading.Thread(target=run_load, args=(plan,), daemon=True)
        background.start()
        time.sleep(4)
        sent = asyncio.run(_alarms(gb_port, alarms, transmitters=min(alarms, 20)))
        wait_until(lambda: len(seen.at) >= len(sent), timeout=60, what="every alarm on SSE")
        stop.set()
        background.join()
    return [(seen.at[d] - t) * 1000 for d, t in sent.items()]


# Main -------------------------------------------------------------------------------------


def _spread(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):,.0f} (min {min(values):,.0f}, max {max(values):,.0f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--devices", type=int, default=1000, help="transmission devices sending")
    parser.add_argument("--alarms", type=int, default=100)
    parser.add_argument("--naive-server", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.naive_server:
        asyncio.run(NaiveGateway(args.database_url).serve(args.naive_server))
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))
    quarter = build_quarter(seed=7, site=SITE)
    rates: dict[tuple[str, str], list[float]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        own_broker(Path(tmp)) as broker_url,
        own_database() as db,
    ):

        async def prepare() -> list[str]:
            async with await psycopg.AsyncConnection.connect(db, autocommit=True) as conn:
                await import_document(conn, quarter.document())
                cur = await conn.execute("SELECT id FROM buildings ORDER BY id")
                return [str(r[0]) for r in await cur.fetchall()]

        buildings = asyncio.run(prepare())
        _register(db, transmitters=max(args.devices, 20), buildings=buildings)
        gb_port, naive_port, metrics_port = free_port(), free_port(), free_port()
        env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": db,
            "FIREWATCH_MQTT_URL": broker_url,
            "FIREWATCH_SITE": SITE,
            "FIREWATCH_INGEST_METRICS_PORT": str(metrics_port),
            "FIREWATCH_GB26875_PORT": str(gb_port),
            "FIREWATCH_GB26875_HOST": "127.0.0.1",
            "FIREWATCH_GB26875_FRAMES_PER_S": "10000",
            "FIREWATCH_LOG_FORMAT": "text",
        }
        naive_args = [
            "-m",
            "bench.gb26875",
            "--naive-server",
            str(naive_port),
            "--database-url",
            db,
        ]
        with _process(["-m", "firewatch", "ingest"], env) as ingest, _process(naive_args, env):
            wait_until(lambda: _listening(gb_port), timeout=60, what="ingest's GB/T 26875.3 server")
            wait_until(lambda: _listening(naive_port), timeout=60, what="the baseline server")
            # First, while the site is as seeded: the throughput runs leave thousands of open
            # alerts behind, which no control centre at seed load has.
            latencies = _latency(env, db, broker_url, gb_port, args.alarms)
            for run in range(args.repeat):
                for (load, fault_every), (name, port) in itertools.product(
                    WORKLOADS, (("firewatch", gb_port), ("naive", naive_port))
                ):
                    rate = asyncio.run(
                        _throughput(
                            port,
                            devices=args.devices,
                            seconds=args.seconds,
                            fault_every=fault_every,
                        )
                    )
                    rates.setdefault((load, name), []).append(rate)
                    print(
                        f"  run {run + 1}, {load}: {name} {rate:,.0f} packets/s confirmed",
                        file=sys.stderr,
                    )
            both, seconds, confirm_s = asyncio.run(_connections(gb_port))
            peak_mb = rss_mb(ingest.pid, "VmHWM")
            print(
                f"  {both}/{CONNECTIONS} devices confirmed at once in {seconds:.1f} s",
                file=sys.stderr,
            )
    return _report(
        rates=rates,
        both=both,
        connect_s=seconds,
        confirm_ms=[s * 1000 for s in confirm_s],
        peak_mb=peak_mb,
        latencies=latencies,
        devices=args.devices,
    )


def _report(
    *,
    rates: dict[tuple[str, str], list[float]],
    both: int,
    connect_s: float,
    confirm_ms: list[float],
    peak_mb: float,
    latencies: list[float],
    devices: int,
) -> int:
    p99 = percentile(latencies, 99)
    figures: list[Figure] = []
    print()
    for load, fault_every in WORKLOADS:
        fast, naive = rates[(load, "firewatch")], rates[(load, "naive")]
        ratio = statistics.median(fast) / statistics.median(naive)
        what = (
            f"1 in {fault_every} a fault on or off" if fault_every > 1 else "each a fault on or off"
        )
        print(f"type-2 packets confirmed/s, {what}:")
        print(f"  firewatch          {_spread(fast)}")
        print(f"  a commit a packet  {_spread(naive)}   ratio {ratio:.1f}x")
        headline = fault_every > 1
        figures += [
            Figure(
                name=f"GB/T 26875.3 type-2 packets committed and confirmed, {what} (median)",
                value=statistics.median(fast),
                unit="packets/s",
                target=">= 2,000 packets/s" if headline else "",
                met=statistics.median(fast) >= TARGET_RATE if headline else None,
                baseline="a commit per packet, no engine (median)",
                ratio=ratio,
            ),
            Figure(name="same, lowest run", value=min(fast), unit="packets/s", target="", met=None),
            Figure(
                name="baseline: a commit per packet (median)",
                value=statistics.median(naive),
                unit="packets/s",
                target="",
                met=None,
            ),
        ]
    print(
        f"{both}/{CONNECTIONS} devices connected at once, each confirmed twice, in "
        f"{connect_s:.1f} s; fault confirm p50 {statistics.median(confirm_ms):.0f} ms, "
        f"p99 {percentile(confirm_ms, 99):.0f} ms; ingest peak RSS {peak_mb:.0f} MB"
    )
    print(
        f"panel fire alarm -> SSE alert: n {len(latencies)}, "
        f"p50 {statistics.median(latencies):.0f} ms, "
        f"p95 {percentile(latencies, 95):.0f} ms, p99 {p99:.0f} ms"
    )
    figures += [
        Figure(
            name="transmission devices connected at once, every packet confirmed",
            value=both,
            unit="devices",
            target=">= 1,000 devices",
            met=both >= CONNECTIONS,
        ),
        Figure(
            name="panel fire alarm -> SSE alert, seed load, p99",
            value=p99,
            unit="ms",
            target="p99 <= 250 ms",
            met=p99 <= TARGET_MS,
        ),
        Figure(
            name="same, p50", value=statistics.median(latencies), unit="ms", target="", met=None
        ),
    ]
    record(
        "gb26875",
        figures,
        note=f"{len(rates[('mix', 'firewatch')])} interleaved runs each, {devices} devices x "
        f"{LANES} packets in flight, "
        "ingest (with the server) and the baseline as processes; 1,000 connections to ingest's "
        f"process (peak RSS {peak_mb:.0f} MB); {len(latencies)} alarms at seed load",
    )
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
