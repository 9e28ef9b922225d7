"""Ingest on a three-node NATS cluster (deploy/nats/): a broker node lost, an ingest worker
lost, a backlog drained by two workers against one, and an alarm's way to the screen.

    python -m bench.cluster [--devices 20] [--messages 4000] [--backlog 4000] [--repeat 3]
                            [--max-ack-pending N]

Two partitioned workers (FIREWATCH_INGEST_WORKERS=2), worker i connected to node i first, the
publisher on node 3. Each repeat:
- SIGKILL of worker 0's node mid-stream: lost, stored twice, rows stored after a later seq of
  their device, and the worker's resume time (from the kill to its first row stored after it);
- the node back, kill -9 of worker 1 mid-stream and its restart: the same;
- a backlog published with both workers stopped, drained by one worker at a time (worker 0,
  then worker 1: the baseline) and by both at once; the ratio is the target (>= 1.5x).
Then the alarm-to-screen latency of bench/alert_latency.py at seed load, its quarter's 3,031
devices on the cluster with one ingest worker (the cluster configured for one: 16384 unacked
messages per subscription). Targets: 0 lost, 0 duplicated, resume <= 10 s (median of the
repeats), drain >= 1.5x, alarm p99 <= 250 ms.

The devices are fewer than a district's: on NATS 2.9.10 each worker's per-device
subscriptions are replicated JetStream consumers created ~0.5 s apiece (docs/scaling.md).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from bench.alert_latency import SEED_RATE, SITE, _answers, _phase, _process, _row, percentile
from bench.results import Figure, record
from contract.kinds import Kind
from contract.topics import Channel, topic_for
from firewatch.nats_cluster import NatsCluster, own_nats_cluster
from firewatch.testing import ROOT, free_port, own_database, wait_until
from ingest.partition import assign
from registry.service import import_document
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from simulators.topology import build_quarter
from store.devices import load_registered
from store.stream_checks import out_of_order, register_in_buildings
from store.users import add_user

BUILDINGS = 20
RATE = 4000.0  # msg/s offered in the fault runs, so the fault falls mid-stream
READY_LINE = "ingest subscribed to"


class Worker:
    """``firewatch ingest`` as worker ``index`` of two, logging to a file."""

    def __init__(self, *, index: int, db: str, cluster: NatsCluster, site: str, log: Path) -> None:
        self.index, self.log = index, log
        self.env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": db,
            "FIREWATCH_MQTT_URL": cluster.url_from(index),
            "FIREWATCH_SITE": site,
            "FIREWATCH_INGEST_WORKERS": "2",
            "FIREWATCH_INGEST_WORKER_INDEX": str(index),
            "FIREWATCH_INGEST_CLIENT_ID": f"bench-ingest-{index}",
        }
        self.proc: subprocess.Popen[bytes] | None = None

    def launch(self) -> None:
        # A port of its own at each start: the last one's may not be free again yet.
        self.env["FIREWATCH_INGEST_METRICS_PORT"] = str(free_port())
        self._offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "firewatch", "ingest"],
                cwd=ROOT,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_ready(self, timeout: float = 600) -> None:
        """Until it has subscribed. A first start on NATS may exit, its SUBACKs later than ingest
        waits (each filter a new replicated consumer); it is started again, as systemd's
        Restart=always would, and finds the consumers made so far."""
        deadline = time.monotonic() + timeout
        while READY_LINE not in self.log.read_text(errors="replace")[self._offset :]:
            if time.monotonic() > deadline:
                raise TimeoutError(f"worker {self.index} did not subscribe; see {self.log}")
            if self.proc is not None and self.proc.poll() is not None:
                self.launch()
            time.sleep(0.05)

    def start(self) -> None:
        self.launch()
        self.wait_ready()

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


class Stream:
    """Readings of the site's devices, each run continuing every device's seq."""

    def __init__(self, site: str, devices: list[str]) -> None:
        self.site, self.devices = site, devices
        self.sent = 0  # messages per device so far
        self.start = datetime.now(UTC) - timedelta(hours=1)

    def next(self, count: int) -> tuple[list[tuple[str, bytes]], int, int]:
        """``count`` messages (rounded to whole rounds of the devices); their seq range."""
        rounds = max(1, count // len(self.devices))
        first = self.sent + 1
        out = []
        for r in range(rounds):
            seq = first + r
            for n, device in enumerate(self.devices):
                at = self.start + timedelta(milliseconds=seq * len(self.devices) + n)
                body = {
                    "ts": int(at.timestamp() * 1000),
                    "seq": seq,
                    "values": {"temperature_c": 21.5},
                }
                out.append((topic_for(self.site, device, Channel.READING), orjson.dumps(body)))
        self.sent += rounds
        return out, first, self.sent


def publish(url: str, messages: list[tuple[str, bytes]], *, rate: float | None) -> None:
    started = time.monotonic()
    with Publisher(Settings(mqtt_url=url).mqtt, client_id="bench-publisher", window=2000) as pub:
        for n, (topic, payload) in enumerate(messages):
            if rate is not None and n % 200 == 0:
                ahead = started + n / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)
            pub.publish(topic, payload)


def stored(conn: psycopg.Connection[Any], devices: list[str], first: int, last: int) -> int:
    row = conn.execute(
        "SELECT count(*) FROM readings WHERE device_id = ANY(%s) AND seq BETWEEN %s AND %s",
        (devices, first, last),
    ).fetchone()
    return int(row[0]) if row else 0


def tally(
    conn: psycopg.Connection[Any], devices: list[str], first: int, last: int
) -> tuple[int, int]:
    """(lost, stored twice) of the seq range."""
    row = conn.execute(
        "SELECT count(*), count(DISTINCT (device_id, seq)) FROM readings"
        " WHERE device_id = ANY(%s) AND seq BETWEEN %s AND %s",
        (devices, first, last),
    ).fetchone()
    rows, distinct = (int(row[0]), int(row[1])) if row else (0, 0)
    return len(devices) * (last - first + 1) - distinct, rows - distinct


def first_row_after(conn: psycopg.Connection[Any], devices: list[str], at: float) -> float | None:
    row = conn.execute(
        "SELECT extract(epoch FROM min(received_at)) FROM readings"
        " WHERE device_id = ANY(%s) AND received_at > to_timestamp(%s)",
        (devices, at),
    ).fetchone()
    return float(row[0]) if row and row[0] is not None else None


def fault_run(
    conn: psycopg.Connection[Any],
    *,
    stream: Stream,
    publish_url: str,
    messages: int,
    inflict: Any,
    victim: list[str],
) -> dict[str, float]:
    """Publishes mid-fault; returns lost, duplicated, disordered (rows this run stored after a
    later seq of their device) and the victim's resume time."""
    batch, first, last = stream.next(messages)
    total = len(batch)
    disordered = out_of_order(conn, stream.site)
    publisher = _thread(lambda: publish(publish_url, batch, rate=RATE))
    wait_until(
        lambda: stored(conn, stream.devices, first, last) >= total // 4,
        timeout=300,
        what="a quarter of the run stored",
    )
    killed = time.time()
    inflict()
    resumed = None
    deadline = time.monotonic() + 120
    while resumed is None and time.monotonic() < deadline:
        resumed = first_row_after(conn, victim, killed)
        time.sleep(0.05)
    publisher.join()
    wait_until(
        lambda: stored(conn, stream.devices, first, last) >= total,
        timeout=600,
        what=f"{total} stored",
    )
    time.sleep(2)  # redeliveries, if any, land now
    lost, twice = tally(conn, stream.devices, first, last)
    return {
        "lost": lost,
        "duplicated": twice,
        "disordered": out_of_order(conn, stream.site) - disordered,
        "resume_s": (resumed - killed) if resumed is not None else float("inf"),
    }


def _drained(
    conn: psycopg.Connection[Any], share: list[str], first: int, last: int
) -> Callable[[], bool]:
    need = len(share) * (last - first + 1)
    return lambda: stored(conn, share, first, last) >= need


def _thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def drain(
    conn: psycopg.Connection[Any],
    *,
    stream: Stream,
    publish_url: str,
    backlog: int,
    workers: list[Worker],
    shares: list[list[str]],
    together: bool,
) -> tuple[float, int]:
    """With the workers stopped, ``backlog`` messages into their sessions; then drained by both
    at once, or by one at a time. Returns msg/s, from the launch to the last row stored, and
    the rows stored after a later seq of their device (no fault)."""
    for w in workers:
        w.stop()
    batch, first, last = stream.next(backlog)
    publish(publish_url, batch, rate=None)
    disordered = out_of_order(conn, stream.site)
    started = time.monotonic()
    groups = (
        [list(zip(workers, shares, strict=True))]
        if together
        else [[p] for p in zip(workers, shares, strict=True)]
    )
    for group in groups:
        for w, _ in group:
            w.launch()
        for w, share in group:
            wait_until(
                _drained(conn, share, first, last), timeout=900, what=f"worker {w.index}'s backlog"
            )
    rate = len(batch) / (time.monotonic() - started)
    for w in workers:
        if w.proc is None:
            w.launch()
        w.wait_ready()
    return rate, out_of_order(conn, stream.site) - disordered


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--messages", type=int, default=4000)
    parser.add_argument("--backlog", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--alarms", type=int, default=100)
    # Also the session's cap on NATS 2.9.10: what its filters deliver beyond it is dropped
    # and sent again after ack_wait. By default as deploy/nats/node.conf says: as high as two
    # filters per device allow, should one worker own them all.
    parser.add_argument("--max-ack-pending", type=int, default=0)
    args = parser.parse_args(argv)
    args.max_ack_pending = args.max_ack_pending or 65535 // (2 * args.devices)
    runs: dict[str, list[dict[str, float]]] = {"node": [], "worker": []}
    drains: list[tuple[float, float]] = []
    drain_disorder: list[int] = []
    site = "bench"
    tmp = tempfile.mkdtemp(prefix="fw-bench-cluster-")
    print(f"nodes' and workers' logs in {tmp}", file=sys.stderr)
    with own_database("fw_bench") as db:
        with (
            own_nats_cluster(Path(tmp) / "nats", max_ack_pending=args.max_ack_pending) as cluster,
            psycopg.connect(db, autocommit=True) as conn,
        ):
            devices = register_in_buildings(conn, site, args.devices, buildings=BUILDINGS)
            registered = load_registered(conn)
            shares = [
                sorted(assign(registered, site=site, workers=2, index=i).devices) for i in (0, 1)
            ]
            workers = [
                Worker(index=i, db=db, cluster=cluster, site=site, log=Path(tmp) / f"w{i}.log")
                for i in (0, 1)
            ]
            t = time.monotonic()
            for w in workers:
                w.launch()
            for w in workers:
                w.wait_ready()
            print(
                f"two workers subscribed to {args.devices} devices' topics in "
                f"{time.monotonic() - t:.1f} s ({len(shares[0])} + {len(shares[1])})",
                file=sys.stderr,
            )
            stream = Stream(site, devices)
            publish_url = cluster.url_from(2)
            try:
                for r in range(args.repeat):
                    node = fault_run(
                        conn,
                        stream=stream,
                        publish_url=publish_url,
                        messages=args.messages,
                        inflict=lambda: cluster.kill(0),
                        victim=shares[0],
                    )
                    runs["node"].append(node)
                    print(f"  repeat {r + 1}, node killed: {node}", file=sys.stderr)
                    cluster.restart(0)
                    workers[0].stop()  # back on its own node for the next repeat
                    workers[0].start()

                    def kill_worker() -> None:
                        workers[1].kill()
                        workers[1].launch()

                    worker = fault_run(
                        conn,
                        stream=stream,
                        publish_url=publish_url,
                        messages=args.messages,
                        inflict=kill_worker,
                        victim=shares[1],
                    )
                    workers[1].wait_ready()
                    runs["worker"].append(worker)
                    print(f"  repeat {r + 1}, worker killed: {worker}", file=sys.stderr)
                    common = {"stream": stream, "publish_url": publish_url, "backlog": args.backlog}
                    one, wrong = drain(
                        conn, **common, workers=workers, shares=shares, together=False
                    )
                    two, wrong_too = drain(
                        conn, **common, workers=workers, shares=shares, together=True
                    )
                    drains.append((one, two))
                    drain_disorder += [wrong, wrong_too]
                    print(
                        f"  repeat {r + 1}, drain: one {one:,.0f}, two {two:,.0f} msg/s",
                        file=sys.stderr,
                    )
            finally:
                for w in workers:
                    w.stop()
        latency = [
            alarm_latency(Path(tmp), alarms=args.alarms)
            for _ in range(args.repeat if args.alarms else 0)
        ]
    return report(args, runs, drains, drain_disorder, latency)


def alarm_latency(tmp: Path, *, alarms: int) -> dict[str, list[float]]:
    """bench/alert_latency.py's seed-load phase, its quarter on the cluster, one ingest."""
    quarter = build_quarter(seed=7, site=SITE)
    with (
        own_database("fw_bench") as qdb,
        own_nats_cluster(Path(tempfile.mkdtemp(dir=tmp)), max_ack_pending=16384) as cluster,
    ):

        async def prepare() -> str:
            async with await psycopg.AsyncConnection.connect(qdb, autocommit=True) as conn:
                await import_document(conn, quarter.document())
                return await add_user(conn, name="bench-operator", role="operator")

        token = asyncio.run(prepare())
        api_port, metrics_port = free_port(), free_port()
        env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": qdb,
            "FIREWATCH_MQTT_URL": cluster.url,
            "FIREWATCH_SITE": SITE,
            "FIREWATCH_API_PORT": str(api_port),
            "FIREWATCH_INGEST_METRICS_PORT": str(metrics_port),
        }
        with _process("ingest", env), _process("api", env):
            base = f"http://127.0.0.1:{api_port}"
            wait_until(
                lambda: _answers(f"http://127.0.0.1:{metrics_port}/metrics"),
                timeout=120,
                what="ingest to start",
            )
            wait_until(lambda: _answers(f"{base}/readyz"), timeout=60, what="the API to start")
            smoke = [d for d in quarter.devices if d.kind is Kind.SMOKE]
            detectors = [SimDevice(d.id, Kind.SMOKE, SITE, seq=10**6) for d in smoke]
            settings = Settings(database_url=qdb, mqtt_url=cluster.url, site=SITE)
            return _phase(settings, base, token, detectors, SEED_RATE, alarms)


def _spread(values: list[float]) -> str:
    med, low, high = statistics.median(values), min(values), max(values)
    return f"median {med:,.2f} (min {low:,.2f}, max {high:,.2f})"


def _fault_figures(what: str, rs: list[dict[str, float]]) -> list[Figure]:
    resume = statistics.median([r["resume_s"] for r in rs])
    lost, twice = max(r["lost"] for r in rs), max(r["duplicated"] for r in rs)
    print(
        f"{what}: lost {[r['lost'] for r in rs]}, stored twice {[r['duplicated'] for r in rs]},"
        f" rows stored after a later seq {[r['disordered'] for r in rs]};"
        f" resume s {_spread([r['resume_s'] for r in rs])}"
    )
    disordered = sum(r["disordered"] for r in rs)
    return [
        Figure(name=f"{what}: lost, worst run", value=lost, unit="", target="0", met=lost == 0),
        Figure(
            name=f"{what}: stored twice, worst run",
            value=twice,
            unit="",
            target="0",
            met=twice == 0,
        ),
        Figure(
            name=f"{what}: the worker's resume time, median",
            value=resume,
            unit="s",
            target="<= 10 s",
            met=resume <= 10,
        ),
        Figure(
            name=f"{what}: rows stored after a later seq of their device, all runs",
            value=disordered,
            unit="",
            target="0",
            met=disordered == 0,
        ),
    ]


def report(
    args: argparse.Namespace,
    runs: dict[str, list[dict[str, float]]],
    drains: list[tuple[float, float]],
    drain_disorder: list[int],
    latency: list[dict[str, list[float]]],
) -> int:
    load = os.getloadavg()[0]
    print(f"\n{args.devices} devices, {args.messages:,} messages per fault run, load {load:.1f}")
    figures = _fault_figures("broker node SIGKILLed mid-stream", runs["node"])
    figures += _fault_figures("ingest worker killed -9 mid-stream", runs["worker"])
    ones, twos = [d[0] for d in drains], [d[1] for d in drains]
    ratios = [two / one for one, two in drains]
    print(f"backlog drain, one worker at a time: {_spread(ones)} msg/s")
    print(f"backlog drain, two workers at once: {_spread(twos)} msg/s; ratio {_spread(ratios)}")
    print(f"rows stored after a later seq of their device, each drain (no fault): {drain_disorder}")
    figures.append(
        Figure(
            name="backlog drain through the cluster, two workers",
            value=statistics.median(twos),
            unit="msg/s",
            target=">= 1.5x one worker",
            met=statistics.median(ratios) >= 1.5,
            baseline="one worker at a time, same run",
            ratio=statistics.median(ratios),
        )
    )
    figures.append(
        Figure(
            name="backlog drains, no fault: rows stored after a later seq of their device",
            value=sum(drain_disorder),
            unit="",
            target="0",
            met=sum(drain_disorder) == 0,
        )
    )
    if latency:
        p99s = [percentile(run["sse"], 99) for run in latency]
        rows = [_row(run["sse"], run["broker"]) for run in latency]
        print(f"alarm publish -> SSE alert event, seed load, cluster: p99 ms {_spread(p99s)}")
        print(f"  p50 ms {_spread([r['p50_ms'] for r in rows])}")
        print(f"  broker alone p50 ms {_spread([r['broker_p50_ms'] for r in rows])}")
        figures.append(
            Figure(
                name="alarm publish -> SSE alert event through the cluster, seed load, p99",
                value=statistics.median(p99s),
                unit="ms",
                target="p99 <= 250 ms",
                met=statistics.median(p99s) <= 250,
                baseline="broker alone (p50)",
                ratio=statistics.median([r["ratio"] for r in rows]),
            )
        )
    record(
        "cluster",
        figures,
        note=f"NATS 2.9.10, three nodes on one machine; {args.devices} devices, max_ack_pending "
        f"{args.max_ack_pending}; medians of "
        f"{args.repeat} runs; load average {load:.1f} at the end",
    )
    return 0 if all(f.met is not False for f in figures) else 1


if __name__ == "__main__":
    raise SystemExit(main())
