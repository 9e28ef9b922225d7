"""What every device decision goes through before it leaves the engine: suppression (registry
status, test mode), chattering (ISA-18.2) with its deferred returns, and the batch that merges
holds so each active alert is touched once."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from alerts.devices import SUPPRESSING_STATUSES, DeviceInfo
from alerts.signals import Change, Decision
from alerts.undo import UndoLog
from contract.alarms import Rule

Key = tuple[str, Rule]


@dataclass(slots=True)
class Batch:
    """Decisions of one evaluation, holds merged so each active alert is touched once."""

    decisions: list[Decision] = field(default_factory=list)
    holds: dict[Key, Decision] = field(default_factory=dict)

    def add(self, decision: Decision) -> None:
        key = (decision.subject, decision.rule)
        if decision.change is Change.HOLD:
            held = self.holds.get(key)
            if held is None:
                self.holds[key] = decision
                self.decisions.append(decision)
            else:
                held.at = max(held.at, decision.at)
                # At an equal peak the later detail wins: a confirmed fire's lists every signal
                # so far, whichever batch the last one happened to fall in.
                if decision.value is not None and (
                    held.value is None or decision.value >= held.value
                ):
                    held.value, held.detail = decision.value, decision.detail
            return
        self.holds.pop(key, None)
        self.decisions.append(decision)


class Recorder:
    def __init__(self, undo: UndoLog) -> None:
        self.undo = undo
        self.test_until: dict[str, float] = {}
        # Panel components' shields (屏蔽): on or off, and when the panel said so. While on,
        # like maintenance, their alarms are recorded and never dispatched.
        self.shields: dict[str, tuple[bool, float]] = {}
        self.chatter: dict[Key, deque[float]] = {}
        self.deferred_clear: dict[Key, Decision] = {}
        # When each alert's newest activation arrived (server time): a chattering alert is
        # released once quiet for a window of it. Its event time would release a backlog or a
        # replay, whose samples are minutes old, at the first tick while it still chatters.
        self.raised_arrival: dict[Key, float] = {}

    def _save(self, key: Key) -> None:
        """Puts the alert's chattering state in the undo log before it changes."""
        times = self.chatter.get(key)
        self.undo.save_item(self.chatter, key, None if times is None else deque(times))
        self.undo.save_item(self.deferred_clear, key, self.deferred_clear.get(key))
        self.undo.save_item(self.raised_arrival, key, self.raised_arrival.get(key))

    def record(self, decision: Decision, device: DeviceInfo, out: Batch) -> None:
        t = decision.at.timestamp()
        if device.status in SUPPRESSING_STATUSES:
            decision.suppressed = device.status
        elif self.test_until.get(device.id, float("-inf")) >= t:
            decision.suppressed = "test"
        elif (shield := self.shields.get(device.id)) is not None and shield[0] and shield[1] <= t:
            decision.suppressed = "disabled"
        key = (decision.subject, decision.rule)
        self._save(key)
        if decision.change is Change.RAISE:
            arrived = decision.received_at
            self.raised_arrival[key] = t if arrived is None else arrived.timestamp()
            if self._chattering(key, t, device):
                decision.detail["chattering"] = True
                if self.deferred_clear.pop(key, None) is not None:
                    decision.change = Change.HOLD  # the alert never left: one alert, not many
        elif (
            decision.change is Change.CLEAR
            and key in self.chatter
            and len(self.chatter[key]) >= device.rules.chatter_count
        ):
            self.deferred_clear[key] = decision  # released once it stays quiet a window
            return
        decision.covers = device.covers
        out.add(decision)

    def _chattering(self, key: Key, t: float, device: DeviceInfo) -> bool:
        window = device.rules.chatter_window_s
        times = self.chatter.setdefault(key, deque())
        times.append(t)
        while times and times[0] < t - window:
            times.popleft()
        return len(times) >= device.rules.chatter_count

    def release_deferred(self, devices: dict[str, DeviceInfo], out: Batch, *, until: float) -> None:
        """Chattering alerts' returns are released by the tick, once no activation has arrived
        for a window."""
        for key, decision in list(self.deferred_clear.items()):
            device = devices[decision.subject]
            if until - self.raised_arrival.get(key, float("-inf")) >= device.rules.chatter_window_s:
                self._save(key)
                del self.deferred_clear[key]
                self.chatter.pop(key, None)
                self.raised_arrival.pop(key, None)
                decision.detail["chattering"] = True
                out.add(decision)
