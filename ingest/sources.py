"""What the committing loop takes batches from: the MQTT sessions, and the gateways' sources
(ingest/local_source.py in this process, ingest/inbox_source.py from other processes).

Every source acknowledges a batch only when the committer says it has committed, so every
source has the same guarantee: nothing acknowledged is lost."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ingest.pipeline import Inbound


class Source(Protocol):
    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        """Up to ``max_size`` messages (about ``max_bytes``), waiting at most ``idle_s`` for a
        first one and ``wait_s`` to fill the batch; never raises."""
        ...

    def ack(self, batch: Sequence[Inbound]) -> object:
        """Called by the committer once the batch has committed; never raises."""
        ...
