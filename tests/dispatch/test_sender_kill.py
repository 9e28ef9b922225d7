"""``firewatch dispatcher`` killed with SIGKILL during a burst of 1,000 deliveries, three times,
and started again each time: nothing is lost, and duplicates are counted by delivery key.

A delivery's row stays locked while its request is out and its outcome commits right after the
reply, so the only duplicates are requests the receiver took before the kill but whose
outcome had not committed: at most one per worker with a request out at the kill, each key at
most twice (docs/dispatch.md, "Delivery guarantees")."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest

from dispatch.sender import DELIVERY_HEADER
from firewatch.testing import own_database, wait_until
from store.deliveries import NewDelivery, enqueue

BURST = 1000
KILLS = (250, 500, 750)  # received so far when each SIGKILL falls


class Receiver:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.keys: Counter[str] = Counter()
        self.first: float | None = None

    def take(self, key: str) -> None:
        with self.lock:
            self.keys[key] += 1
            self.first = self.first or time.monotonic()

    def reached(self, count: int) -> bool:
        return self.count() >= count

    def count(self) -> int:
        with self.lock:
            return sum(self.keys.values())


class _Server(ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


@contextmanager
def receiving() -> Iterator[tuple[Receiver, str]]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            receiver.take(self.headers.get(DELIVERY_HEADER) or "(none)")
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield receiver, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


def _dispatcher(database_url: str, log: Path, *, workers: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "FIREWATCH_DATABASE_URL": database_url,
        "FIREWATCH_DISPATCHER_WORKERS": str(workers),
        "FIREWATCH_DISPATCHER_POLL_S": "0.2",
        "FIREWATCH_DISPATCHER_BACKOFF_S": "0.2",
        "FIREWATCH_LOG_FORMAT": "text",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "firewatch", "dispatcher"], env=env, stdout=out, stderr=out
        )


def _enqueue_burst(database_url: str, url: str) -> list[str]:
    tag = uuid.uuid4().hex[:8]
    items = [
        NewDelivery(
            key=f"{tag}-{n:04d}",
            dispatch_id=None,
            person_id=f"p{n % 7}",
            step="notify:0",
            channel_id="hook",
            channel_kind="webhook",
            channel_config={"url": url},
            message={"title": "火警", "text": f"演练 {n}", "link": None, "mention_phones": []},
        )
        for n in range(BURST)
    ]

    async def run() -> None:
        async with await psycopg.AsyncConnection.connect(database_url) as conn:
            await enqueue(conn, items=items)
            await conn.commit()

    asyncio.run(run())
    return [item.key for item in items]


def _states(database_url: str) -> Counter[str]:
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT state, count(*) FROM deliveries GROUP BY state").fetchall()
    return Counter({state: n for state, n in rows})


@pytest.fixture()
def database_url() -> Iterator[str]:
    with own_database("fw_kill") as url:
        yield url


@pytest.mark.timeout(180)
@pytest.mark.parametrize("workers", [1, 4])
def test_sigkill_mid_burst_loses_nothing_and_duplicates_only_what_was_in_flight(
    database_url: str, tmp_path: Path, workers: int
) -> None:
    log = tmp_path / "dispatcher.log"
    with receiving() as (receiver, url):
        sender = _dispatcher(database_url, log, workers=workers)
        try:
            keys = _enqueue_burst(database_url, url)
            for at in KILLS:
                wait_until(partial(receiver.reached, at), timeout=60, what=f"{at} received")
                os.kill(sender.pid, signal.SIGKILL)
                sender.wait(timeout=10)
                assert receiver.count() < BURST, "the burst ended before the kill"
                sender = _dispatcher(database_url, log, workers=workers)
            wait_until(lambda: _states(database_url)["sent"] == BURST, timeout=60, what="all sent")
            finished = time.monotonic()
        finally:
            sender.send_signal(signal.SIGTERM)
            assert sender.wait(timeout=15) == 0, log.read_text()
    assert _states(database_url) == Counter({"sent": BURST})
    lost = [k for k in keys if receiver.keys[k] == 0]
    twice = sorted(k for k, n in receiver.keys.items() if n > 1)
    extra = sum(receiver.keys.values()) - len(receiver.keys)
    print(
        f"\n{len(KILLS)} SIGKILLs during {BURST} deliveries: {len(lost)} lost, "
        f"{extra} duplicate(s) {twice}; {workers} worker(s), "
        f"{BURST / (finished - (receiver.first or finished)):.0f} deliveries/s "
        "overall, restarts included"
    )
    assert lost == []
    assert set(receiver.keys) == set(keys)
    assert max(receiver.keys.values()) <= 2
    # A duplicate is a request out when a kill fell: at most one per worker per kill, so with
    # one worker at most one per kill.
    assert extra <= workers * len(KILLS)
