"""SIGTERM ends ``firewatch ingest`` and ``firewatch up`` within 10 s, whatever state they are
in: idle, with the database away, with the broker flapping, right after a session takeover.
Each runs as a real process against a real broker and database. Once, a SIGTERM after a
session takeover hung for 80 s."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firewatch.testing import ROOT, free_port, wait_until
from settings import MqttTarget
from tests.faults.private_broker import PrivateBroker
from tests.faults.private_postgres import private_cluster

STOP_WITHIN_S = 10.0


class Process:
    """``python -m firewatch <command>`` with its log in a file."""

    def __init__(self, command: str, log_path: Path, env: dict[str, str]) -> None:
        self.command, self.log_path = command, log_path
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "firewatch", command],
                cwd=ROOT,
                env={**os.environ, "FIREWATCH_LOG_FORMAT": "text", **env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, *, timeout: float = 30) -> None:
        wait_until(
            lambda: text in self.log() or self.proc.poll() is not None,
            timeout=timeout,
            what=f"{text!r} from firewatch {self.command}",
        )
        assert self.proc.poll() is None, f"firewatch {self.command} exited:\n{self.log()}"

    def sigterm(self) -> tuple[float, int]:
        """Seconds from SIGTERM to exit, and the exit status; killed if beyond the deadline."""
        sent = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout=STOP_WITHIN_S + 20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"firewatch {self.command} ignored SIGTERM for 30 s:\n{self.log()}")
        return time.monotonic() - sent, status

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@contextmanager
def firewatch(command: str, tmp_path: Path, **env: str) -> Iterator[Process]:
    process = Process(command, tmp_path / f"{command}.log", env)
    try:
        yield process
    finally:
        process.kill()


def env_for(site: str, database_url: str, broker_url: str) -> dict[str, str]:
    return {
        "FIREWATCH_DATABASE_URL": database_url,
        "FIREWATCH_MQTT_URL": broker_url,
        "FIREWATCH_SITE": site,
        "FIREWATCH_INGEST_CLIENT_ID": f"ingest-{site}",
        "FIREWATCH_INGEST_METRICS_PORT": "0",
        "FIREWATCH_API_PORT": str(free_port()),
        "FIREWATCH_EMBEDDED": "false",
    }


def assert_stopped(process: Process, took: float, status: int) -> None:
    print(f"\n  firewatch {process.command}: exit {status} {took:.1f} s after SIGTERM")
    assert took < STOP_WITHIN_S, process.log()[-3000:]


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_sigterm_stops_an_idle_process(
    command: str, tmp_path: Path, site: str, database_url: str, broker_url: str
) -> None:
    with firewatch(command, tmp_path, **env_for(site, database_url, broker_url)) as process:
        process.wait_for("engine warmed up")
        took, status = process.sigterm()
    assert_stopped(process, took, status)
    assert status == 0, process.log()[-3000:]
    assert "did not stop" not in process.log()


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_sigterm_stops_it_while_the_database_is_away(
    command: str, tmp_path: Path, site: str, broker_url: str
) -> None:
    with (
        private_cluster() as (cluster, url),
        firewatch(command, tmp_path, **env_for(site, url, broker_url)) as process,
    ):
        process.wait_for("engine warmed up")
        cluster.stop()
        process.wait_for("database unavailable")
        took, status = process.sigterm()
    assert_stopped(process, took, status)


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_sigterm_stops_it_while_the_broker_flaps(
    command: str, tmp_path: Path, site: str, database_url: str
) -> None:
    with (
        PrivateBroker(tmp_path) as broker,
        firewatch(command, tmp_path, **env_for(site, database_url, broker.url)) as process,
    ):
        process.wait_for("engine warmed up")
        for _ in range(3):
            broker.stop()
            time.sleep(0.3)
            broker.start()
            time.sleep(0.3)
        broker.stop()
        flapping = threading.Thread(target=_flap, args=(broker,), daemon=True)
        flapping.start()
        took, status = process.sigterm()
        flapping.join()
    assert_stopped(process, took, status)


def _flap(broker: PrivateBroker) -> None:
    """Up and down once more while the process stops."""
    broker.start()
    time.sleep(0.5)
    broker.stop()


@pytest.mark.parametrize("command", ["ingest", "up"])
def test_sigterm_right_after_a_session_takeover(
    command: str, tmp_path: Path, site: str, database_url: str, broker_url: str
) -> None:
    env = env_for(site, database_url, broker_url)
    with firewatch(command, tmp_path, **env) as process:
        process.wait_for("engine warmed up")
        # Another client with ingest's client id takes its persistent session over, and holds
        # it while ingest reconnects and takes it back: the two fight over it.
        target = MqttTarget(broker_url)
        client_id = env["FIREWATCH_INGEST_CLIENT_ID"]
        thief = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=False)
        thief.connect(target.host, target.port, keepalive=30)
        thief.loop_start()
        try:
            wait_until(thief.is_connected, timeout=10, what="the takeover")
            time.sleep(1.5)  # ingest reconnects (1 s) and takes the session back
            took, status = process.sigterm()
        finally:
            thief.loop_stop()
            thief.disconnect()
    assert_stopped(process, took, status)


def test_a_stop_that_sticks_is_cut_short_and_says_where(tmp_path: Path) -> None:
    """The watchdog: a process whose orderly stop hangs exits anyway, with status 1, logging
    each thread still running and the line it waits on, after stopping what it started
    outside itself (embedded services)."""
    cleaned = tmp_path / "cleaned"
    script = (
        "import logging, os, signal, threading, time\n"
        "from pathlib import Path\n"
        "from firewatch.processes import Stopping\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "stop = threading.Event()\n"
        "stopping = Stopping(stop, grace_s=1.0)\n"
        f"stopping.before_exit.append(lambda: Path({str(cleaned)!r}).write_text('done'))\n"
        "stopping.install()\n"
        "def stuck() -> None:\n"
        "    threading.Event().wait()\n"
        "threading.Thread(target=stuck, name='stuck-part', daemon=True).start()\n"
        "os.kill(os.getpid(), signal.SIGTERM)\n"
        "while True:\n"
        "    time.sleep(0.1)  # a main thread that never finishes its stop\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    took = time.monotonic() - started
    assert done.returncode == 1, done.stderr
    assert "still running 1 s after the stop signal" in done.stderr
    assert "stuck-part" in done.stderr and "in stuck" in done.stderr, done.stderr
    assert cleaned.read_text() == "done"
    assert took < STOP_WITHIN_S
