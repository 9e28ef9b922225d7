"""Which batch the committer gets next, with every lane busy: alarms first, then gateways and
telemetry taking turns, so no lane starves another. Sources here stand in for ours at their
interface (ingest/sources.py); the preparer and its queues are the real ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from ingest.pipeline import Inbound, Prepared
from ingest.preparer import GATEWAY_STREAK, Preparer

COMMIT_S = 0.005


class Endless:
    """A source that always has a batch: a lane under load."""

    def __init__(self, name: str) -> None:
        self.name = name

    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        return [Inbound(f"{self.name}/x", b"{}", datetime.now(UTC))]

    def ack(self, batch: Sequence[Inbound]) -> int:
        return len(batch)


def _unprepared(batch: Sequence[Inbound]) -> Prepared:
    raise RuntimeError("the committer prepares it")  # the preparer hands it on unprepared


def _lanes(gateways: int) -> list[str]:
    telemetry = Endless("telemetry")
    preparer = Preparer(
        telemetry,
        alarms=None,
        gateways=[Endless(f"gateway{i}") for i in range(gateways)],
        prepare=_unprepared,
        batch_max=10,
        batch_max_bytes=1000,
        batch_wait_s=0.0,
    )
    stop = threading.Event()
    thread = threading.Thread(target=preparer.run, args=(stop,), daemon=True)
    thread.start()
    served: list[str] = []
    try:
        while len(served) < 60:
            item = preparer.next()
            if item is not None:
                served.append(item.batch[0].topic.split("/")[0])
                time.sleep(COMMIT_S)  # the preparer refills its lanes meanwhile
    finally:
        stop.set()
        thread.join(timeout=5)
    return served


def test_busy_gateways_leave_telemetry_its_turn() -> None:
    served = _lanes(gateways=2)
    telemetry = served.count("telemetry")
    assert telemetry >= len(served) // 4, served  # at least a quarter of the commits
    assert telemetry < len(served), served  # and the gateways are served too
    longest = max(
        len(run) for run in "".join("g" if s != "telemetry" else " " for s in served).split()
    )
    assert longest <= GATEWAY_STREAK, served


def test_telemetry_alone_is_served_as_before() -> None:
    assert set(_lanes(gateways=0)) == {"telemetry"}
