"""A Mosquitto of one test's own (deploy/mosquitto/firewatch.conf, persistence on), which a
test can stop and start again on the same port."""

from __future__ import annotations

import subprocess
from pathlib import Path

from firewatch.testing import broker_config, free_port, start_broker, stop_broker
from tests.faults.restartable import Restartable


class PrivateBroker(Restartable):
    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.conf = broker_config(workdir, self.port)
        self.url = f"mqtt://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = start_broker(self.conf, self.port)

    def stop(self) -> None:
        """SIGTERM: Mosquitto writes its sessions and queues to disk as it exits."""
        if self.proc is not None:
            stop_broker(self.proc)
            self.proc = None
