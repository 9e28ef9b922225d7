"""Real services for tests and benchmarks: a Mosquitto of our own, a database of our own, the
API on a real socket. Here, not in tests/, so bench/ need not import the tests."""

from __future__ import annotations

import contextlib
import getpass
import os
import secrets
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from psycopg.conninfo import make_conninfo

from firewatch import embedded
from settings import Settings
from store.database import connect, drop_database, ensure_database
from store.migrate import migrate

if TYPE_CHECKING:
    from fastapi import FastAPI

ROOT = embedded.ROOT
BROKER_CONF = embedded.BROKER_CONF


def free_port() -> int:
    """A port nothing holds now, below the kernel's ephemeral range. One from that range
    (what binding port 0 gives) can become the local port of an outgoing connection between
    this check and the server's bind: EADDRINUSE, seen once in a CI run."""
    low = _ephemeral_low()
    for _ in range(200):
        port = low - 1 - secrets.randbelow(min(12_000, low - 10_000))
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port found below {low}: is something holding them all?")


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def open_sockets() -> int:
    """This process's open sockets (Linux): what a test of a server's or client's stop counts."""
    found = 0
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(FileNotFoundError):  # the listing's own descriptor, since closed
            found += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
    return found


def mosquitto_binary() -> str:
    found = embedded.mosquitto_binary()
    if found is None:
        raise RuntimeError("mosquitto is not installed: apt-get install mosquitto")
    return found


def broker_config(workdir: Path, port: int) -> Path:
    """deploy/mosquitto/firewatch.conf plus a local anonymous listener and a work folder."""
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        BROKER_CONF.read_text()
        + f"\npersistence_location {workdir}/\nlog_dest file {workdir}/mosquitto.log\n"
        # Run as whoever started it, so it can write its own work folder.
        + f"user {getpass.getuser()}\n"
        + f"listener {port} 127.0.0.1\nallow_anonymous true\n"
    )
    return conf


def start_broker(conf: Path, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([mosquitto_binary(), "-c", str(conf)])  # noqa: S603 - our own binary and file
    wait_until(
        lambda: embedded.reachable("127.0.0.1", port), timeout=10, what=f"mosquitto on port {port}"
    )
    return proc


def stop_broker(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM: Mosquitto saves its sessions to disk as it exits."""
    proc.terminate()
    proc.wait(timeout=10)


@contextmanager
def own_broker(workdir: Path) -> Iterator[str]:
    """Mosquitto started from deploy/mosquitto/firewatch.conf on a free port; yields its URL."""
    port = free_port()
    proc = start_broker(broker_config(workdir, port), port)
    try:
        yield f"mqtt://127.0.0.1:{port}"
    finally:
        stop_broker(proc)


# The server tests and benchmarks make their databases on, when it is not the application's:
# the TimescaleDB lane sets it (docs/deploy.md).
TEST_DATABASE_URL = "FIREWATCH_TEST_DATABASE_URL"


def database_server() -> str:
    """FIREWATCH_TEST_DATABASE_URL, else FIREWATCH_DATABASE_URL (or its default)."""
    return os.environ.get(TEST_DATABASE_URL) or Settings().database_url


@contextmanager
def own_database(prefix: str = "fw_test", *, server: str | None = None) -> Iterator[str]:
    """A fresh, migrated database on ``server`` (default: database_server()), dropped afterwards."""
    url = make_conninfo(server or database_server(), dbname=f"{prefix}_{uuid.uuid4().hex[:10]}")
    ensure_database(url)
    try:
        with connect(url) as conn:
            migrate(conn, progress=lambda _line: None)
        yield url
    finally:
        drop_database(url)


def wait_until(check: Callable[[], object], *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")


@contextmanager
def serving(app: FastAPI, port: int | None = None) -> Iterator[str]:
    """Runs ``app`` under uvicorn in a thread (on ``port``, to start it again where a client
    expects it); yields its base URL. Leaving stops it, open streams included."""
    port = port or free_port()
    import uvicorn  # only where an API is served: ingest benchmarks stay light

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"api-{port}", daemon=True)
    thread.start()
    try:
        wait_until(lambda: server.started, timeout=10, what=f"the API on port {port}")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
    assert not thread.is_alive(), "the API did not stop"
