"""A real ingest process that SIGKILLs itself at a chosen point, for the crash-safety tests.

Usage: python -m tests.crash_consumer before_commit|before_ack
(settings come from FIREWATCH_* variables, as for the real service).
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Sequence

from ingest.pipeline import Inbound
from ingest.service import IngestService
from settings import Settings


def die(_batch: Sequence[Inbound]) -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main() -> None:
    point = sys.argv[1]
    settings = Settings()
    service = IngestService(
        settings,
        before_commit=die if point == "before_commit" else None,
        before_ack=die if point == "before_ack" else None,
    )
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    while not service.ready:
        threading.Event().wait(0.05)
    print("ready", flush=True)
    thread.join()


if __name__ == "__main__":
    main()
