"""``firewatch ingest`` as a process of its own, so a test can SIGKILL it and read its memory."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from firewatch.testing import ROOT, free_port, wait_until
from settings import Settings
from tests.faults.restartable import Restartable

READY_LINE = "ingest subscribed to"


class IngestProcess(Restartable):
    """Started with the test's settings; its log goes to a file, its counters to /metrics."""

    def __init__(self, settings: Settings, log_path: Path) -> None:
        self.settings = settings
        self.log_path = log_path
        self.metrics_port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 20) -> None:
        env = {
            **os.environ,
            "FIREWATCH_DATABASE_URL": self.settings.database_url,
            "FIREWATCH_MQTT_URL": self.settings.mqtt_url,
            "FIREWATCH_SITE": self.settings.site,
            "FIREWATCH_INGEST_CLIENT_ID": self.settings.ingest_client_id,
            "FIREWATCH_INGEST_METRICS_PORT": str(self.metrics_port),
            "FIREWATCH_INGEST_BATCH_MAX": str(self.settings.ingest_batch_max),
            "FIREWATCH_INGEST_WORKERS": str(self.settings.ingest_workers),
            "FIREWATCH_INGEST_WORKER_INDEX": str(self.settings.ingest_worker_index),
        }
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "firewatch", "ingest"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(
            lambda: (
                READY_LINE in self.log_path.read_text(errors="replace")[offset:]
                or self.proc is None
                or self.proc.poll() is not None
            ),
            timeout=timeout,
            what="the ingest process to subscribe",
        )
        assert self.proc.poll() is None, f"ingest exited; see {self.log_path}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def metric(self, name: str) -> float:
        """One sample of its /metrics, e.g. ``firewatch_ingest_received_total``."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=5) as response:
            for line in response.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
        raise KeyError(name)

    def rss_mib(self) -> float:
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError(f"no VmRSS for pid {self.pid}")

    def bytes_taken_from(self, port: int) -> int:
        """Bytes it has read from its TCP connections to ``port`` (one per MQTT session), by
        ``ss``: received by the kernel, less what still waits in the receive queues."""
        out = subprocess.run(
            ["ss", "-tinpH", "state", "established", f"( dport = :{port} )"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        lines, taken = out.splitlines(), 0
        for socket_line, info in zip(lines[::2], lines[1::2], strict=True):
            if f"pid={self.pid}," in socket_line:
                received = re.search(r"bytes_received:(\d+)", info)
                taken += (int(received.group(1)) if received else 0) - int(socket_line.split()[0])
        return taken

    def kill(self) -> None:
        """kill -9: no cleanup, no goodbye to the broker or the database."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(timeout=10) == -signal.SIGKILL
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise
            finally:
                self.proc = None


def log_records(log_path: Path) -> list[dict[str, Any]]:
    """Its log as records: stderr is a file, so ``firewatch`` writes JSON lines."""
    text = log_path.read_text(errors="replace")
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
