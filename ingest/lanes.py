"""Alarms ahead of telemetry.

A broker delivers one subscription in order, so under a backlog of readings (a gateway
flushing, ingest restarting, a burst beyond its rate) a detector's alarm would wait behind
every reading published before it. Ingest therefore keeps a second session subscribed to the
site's events only; its batches are prepared and committed before any waiting telemetry.

The telemetry session still subscribes to everything (a malformed topic must still arrive to
be dead-lettered), so each event comes twice. Whichever copy comes second is acknowledged
without being written: the first is either committed or, until then, unacknowledged in its
own session, which the broker redelivers after a crash. Nothing is lost and the store's
duplicate path (slower: a batch with a duplicate is copied twice) is not taken.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from contract.topics import Channel
from ingest.pipeline import Inbound, Prepared

if TYPE_CHECKING:
    from ingest.sources import Source

# Events seen once and waiting for their second copy; a flood of events from a broken gateway
# only makes the oldest ones fall out, and then their second copy is stored as a duplicate.
REMEMBER = 50_000
_EVENT_SUFFIX = "/" + Channel.EVENT.value


@dataclass(slots=True)
class Handoff:
    """A batch on its way from the preparer to the committer: everything to acknowledge, and
    the part to write (second copies of events left out)."""

    source: Source
    batch: list[Inbound]
    keep: list[Inbound]
    prepared: Prepared | None


@dataclass(slots=True)
class EventCopies:
    """Which events one lane has already taken, so the other lane's copy is skipped.
    Used by the preparer thread only."""

    _seen: OrderedDict[tuple[str, bytes], None] = field(default_factory=OrderedDict)
    skipped: int = 0

    def first_copies(self, batch: list[Inbound]) -> list[Inbound]:
        keep = []
        for item in batch:
            if not item.topic.endswith(_EVENT_SUFFIX):
                keep.append(item)
                continue
            key = (item.topic, item.payload)
            if key in self._seen:
                del self._seen[key]
                self.skipped += 1
                continue
            self._seen[key] = None
            if len(self._seen) > REMEMBER:
                self._seen.popitem(last=False)
            keep.append(item)
        return keep
