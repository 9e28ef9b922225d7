"""Load mode: the quarter, or a scaled-up one, published at a target rate.

One Python publisher tops out near 12k msg/s on this machine, so the devices are split over
several processes, each pacing its share with a token bucket against the monotonic clock
(CLOCK_MONOTONIC is one clock for every process on Linux, so they start together). The
bucket holds at most 20 ms of tokens: a publisher that falls behind does not catch up in a
burst, and the achieved rate is what the broker really acknowledged.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.sharedctypes import Synchronized
from multiprocessing.synchronize import Event, Semaphore

from settings import MqttTarget
from simulators.errors import InputError
from simulators.live import LiveTraffic
from simulators.progress import Progress
from simulators.publisher import Publisher
from simulators.topology import load_quarter

BURST_S = 0.02
_REPORT_EVERY = 200  # messages between updates of the shared counter
_START_DELAY_S = 0.2
_CONNECT_TIMEOUT_S = 60.0


@dataclass(kw_only=True, frozen=True, slots=True)
class LoadPlan:
    mqtt_url: str
    site: str
    seed: int
    devices: int
    rate: float
    duration: float | None  # None: until stopped
    processes: int


@dataclass(frozen=True, slots=True)
class LoadResult:
    target_rate: float
    sent: int
    seconds: float
    peak_in_flight: int

    @property
    def achieved_rate(self) -> float:
        return self.sent / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        error = (self.achieved_rate - self.target_rate) / self.target_rate
        return (
            f"target {self.target_rate:,.0f} msg/s, achieved {self.achieved_rate:,.0f} msg/s "
            f"({error:+.1%}): {self.sent:,} messages acknowledged in {self.seconds:.2f} s"
        )


@dataclass(frozen=True, slots=True)
class _Share:
    sent: int
    first_s: float
    last_s: float  # when every message was acknowledged
    peak_in_flight: int


@dataclass(frozen=True, slots=True)
class _Signals:
    """What the parent and its workers share; passed at spawn, as multiprocessing requires."""

    ready: Semaphore
    go: Event
    stop: Event
    start_at: Synchronized[float]
    results: Queue[_Share]


def _worker(plan: LoadPlan, index: int, signals: _Signals, counter: Synchronized[int]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops us through ``stop``
    quarter = load_quarter(seed=plan.seed, site=plan.site, devices=plan.devices)
    traffic = LiveTraffic(quarter.devices[index :: plan.processes], seed=plan.seed)
    rate = plan.rate / plan.processes
    burst = max(1.0, rate * BURST_S)
    with Publisher(
        MqttTarget(plan.mqtt_url),
        client_id=f"firewatch-load-{plan.site}-{index}",
    ) as pub:
        signals.ready.release()
        signals.go.wait()
        begin = signals.start_at.value
        while (ahead := begin - time.monotonic()) > 0:
            time.sleep(ahead)
        tokens, last, sent = 0.0, begin, 0
        end = None if plan.duration is None else begin + plan.duration
        while not signals.stop.is_set():
            now = time.monotonic()
            if end is not None and now >= end:
                break
            tokens = min(burst, tokens + (now - last) * rate)
            last = now
            if tokens < 1.0:
                time.sleep(min(0.005, (1.0 - tokens) / rate))
                continue
            wall = time.time()
            for _ in range(int(tokens)):
                pub.publish(*traffic.next_message(wall))
                sent += 1
                if sent % _REPORT_EVERY == 0:
                    counter.value = sent
            tokens -= int(tokens)
        pub.flush()
        counter.value = sent
        signals.results.put(_Share(sent, begin, time.monotonic(), pub.peak_in_flight))


def run_load(plan: LoadPlan, *, progress: Progress | None = None) -> LoadResult:  # noqa: C901 - the load loop: pace, publish, count, report; each branch is one of them
    """Spawned workers (never a fork of a process that may hold threads); Ctrl-C stops them
    and the result covers what was sent until then."""
    if plan.rate <= 0 or plan.processes < 1 or plan.devices < plan.processes:
        raise InputError("--rate must be > 0, --processes >= 1 and --devices >= --processes")
    with Publisher(MqttTarget(plan.mqtt_url), client_id=f"firewatch-load-{plan.site}-check"):
        pass  # an unreachable broker is reported here, with what to do, not by each worker
    ctx = mp.get_context("spawn")
    signals = _Signals(
        ready=ctx.Semaphore(0),
        go=ctx.Event(),
        stop=ctx.Event(),
        start_at=ctx.Value("d", 0.0),
        results=ctx.Queue(),
    )
    counters = [ctx.Value("q", 0) for _ in range(plan.processes)]
    workers = [
        ctx.Process(
            target=_worker,
            args=(plan, index, signals, counters[index]),
            name=f"load-{index}",
            daemon=True,
        )
        for index in range(plan.processes)
    ]
    for worker in workers:
        worker.start()
    shares: list[_Share] = []
    try:
        _wait_connected(signals.ready, workers, plan.processes)
        signals.start_at.value = time.monotonic() + _START_DELAY_S
        signals.go.set()
        if progress is not None:
            progress.restart()
        while len(shares) < plan.processes:
            if progress is not None:
                progress.update(sum(c.value for c in counters))
            if not _collect(signals.results, shares) and not any(w.is_alive() for w in workers):
                raise RuntimeError("a load worker died; its error is printed above")
    except KeyboardInterrupt:
        signals.stop.set()
        while len(shares) < plan.processes and any(w.is_alive() for w in workers):
            _collect(signals.results, shares)
    finally:
        signals.stop.set()
        for worker in workers:
            worker.join(timeout=30)
    if not shares:
        return LoadResult(plan.rate, 0, 0.0, 0)
    return LoadResult(
        plan.rate,
        sum(s.sent for s in shares),
        max(s.last_s for s in shares) - min(s.first_s for s in shares),
        max(s.peak_in_flight for s in shares),
    )


def _wait_connected(
    ready: Semaphore, workers: Sequence[mp.process.BaseProcess], count: int
) -> None:
    deadline = time.monotonic() + _CONNECT_TIMEOUT_S
    for _ in range(count):
        while not ready.acquire(timeout=0.5):
            if not all(w.is_alive() for w in workers) or time.monotonic() > deadline:
                raise ConnectionError(
                    "a load worker did not connect to the broker; its error is printed above"
                )


def _collect(results: Queue[_Share], shares: list[_Share]) -> bool:
    try:
        shares.append(results.get(timeout=0.2))
    except queue.Empty:
        return False
    return True
