"""The rules engine: messages, the registry's view of each device and ``now`` go in, decisions
come out. No I/O, no clock reads, no logging: the caller owns all of that.

Its parts: the device table (:mod:`alerts.device_table`), readings judged as arrays
(:mod:`alerts.rounds`), events, status and frames one by one (:mod:`alerts.messages`), timers
(:mod:`alerts.timers`), what every decision goes through (:mod:`alerts.recorder`), and the undo
log (:mod:`alerts.undo`). Rules use the devices' own timestamps, so a replay at any speed and
in batches of any size reaches the same decisions. A sample older than the newest one already
seen from its device (a gateway flushing its buffer) is stored by ingest but does not move the
engine's state.

State advances tentatively: :meth:`Engine.evaluate` records how to undo itself, and the caller
either :meth:`commit`s once the batch's transaction has committed or :meth:`rollback`s, so a
batch that is retried is evaluated exactly once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime

import numpy as np

from alerts.device_table import STUCK_METRIC, DeviceTable
from alerts.devices import DeviceInfo
from alerts.messages import MessageRules
from alerts.metric_rules import METRIC_RULES
from alerts.recorder import Batch, Recorder
from alerts.rings import MetricRing
from alerts.rounds import MetricRounds, Sample
from alerts.signals import Decision
from alerts.timers import Timers
from alerts.tracks import Track, Tracks
from alerts.undo import UndoLog
from contract.alarms import Rule
from contract.messages import Decoded
from contract.topics import Channel

__all__ = ["Engine"]

# Which track holds a rule's state: a metric's, the frames', the timers' or the events'.
_RULE_SCOPE: dict[Rule, str] = {
    **{rule: metric for metric, rules in METRIC_RULES.items() for rule in rules},
    Rule.CAMERA_PREALARM: "frame",
    Rule.CAMERA_SUDDEN_RISE: "frame",
    Rule.CAMERA_GROWTH: "frame",
    Rule.OFFLINE: "tick",
}


class Engine:
    def __init__(self) -> None:
        self.table = DeviceTable()
        self.tracks: Tracks = defaultdict(Track)
        self.undo = UndoLog()
        self.recorder = Recorder(self.undo)
        table, tracks, recorder, undo = self.table, self.tracks, self.recorder, self.undo
        self.rounds = MetricRounds(table=table, tracks=tracks, recorder=recorder, undo=undo)
        self.messages = MessageRules(table=table, tracks=tracks, recorder=recorder, undo=undo)
        self.timers = Timers(table=table, tracks=tracks, recorder=recorder, undo=undo)

    @property
    def devices(self) -> dict[str, DeviceInfo]:
        return self.table.devices

    @property
    def rings(self) -> dict[str, MetricRing]:
        return self.rounds.rings

    def configure(self, devices: Iterable[DeviceInfo]) -> None:
        """Adds or updates devices; thresholds take effect from the next sample."""
        self.table.configure(devices)

    def commit(self) -> None:
        self.undo.commit()

    def rollback(self) -> None:
        self.undo.rollback()

    def evaluate(self, messages: Sequence[tuple[Decoded, datetime]]) -> list[Decision]:
        """Decisions for one batch of accepted, non-duplicate messages with their arrival times."""
        out = Batch()
        readings: dict[str, list[Sample]] = defaultdict(list)
        arrivals: list[datetime] = []
        others: list[tuple[Decoded, datetime]] = []
        other_index: list[int] = []  # each other message's place in the batch
        heard: list[tuple[int, int]] = []  # (slot, index into arrivals and sent)
        sent: list[datetime] = []
        slot_of, rings = self.table.slot, self.rounds.rings
        for message, received_at in messages:
            slot = slot_of.get(message.device_id)
            if slot is None:
                continue  # not configured: the registry does not know it
            index = len(arrivals)
            arrivals.append(received_at)
            sent.append(message.ts)
            heard.append((slot, index))
            if message.channel is Channel.READING:
                t = message.ts.timestamp()
                for metric, value in message.values.items():
                    if metric in rings:
                        readings[metric].append((slot, t, value, index))
            else:
                others.append((message, received_at))
                other_index.append(index)
        if heard:
            slots = self.messages.heard_from(heard, arrivals, sent, out)
            self.messages.clock(messages, slots, others, out)
        # A camera's frames and its region readings drive the same tracks, so each frame is
        # judged after the readings that came before it and before those after it: where the
        # stream is cut into batches does not change the outcome.
        frames = [
            (m, r, i)
            for (m, r), i in zip(others, other_index, strict=True)
            if m.channel is Channel.FRAME
        ]
        done = 0
        for message, received_at, index in frames:
            self.rounds.evaluate(readings, start=done, stop=index, arrivals=arrivals, out=out)
            self.messages.evaluate(message, received_at, out)
            done = index
        self.rounds.evaluate(readings, start=done, stop=len(arrivals), arrivals=arrivals, out=out)
        rest = [pair for pair in others if pair[0].channel is not Channel.FRAME]
        for message, received_at in sorted(rest, key=lambda pair: pair[0].ts):
            self.messages.evaluate(message, received_at, out)
        return out.decisions

    def tick(
        self, now: datetime, *, opened_last_10min: Mapping[str, int] | None = None
    ) -> list[Decision]:
        """Timers on the server clock (alerts/timers.py), undone like a batch."""
        self.undo.save_snapshot(self.timers)
        return self.timers.tick(now, opened_last_10min=opened_last_10min).decisions

    def remember_open(self, open_alerts: Iterable[tuple[str, str]]) -> None:
        """At start-up: alerts already open count as active, so their return is noticed."""
        table = self.table
        for subject, name in open_alerts:
            try:
                rule = Rule(name)
            except ValueError:
                continue  # a rule this version no longer has: operators resolve it
            _, _, ident = subject.partition(":")
            if rule is Rule.COMM_FAULT:
                self.timers.offline_buildings.add(ident)
            elif rule is Rule.ALERT_FLOOD:
                self.timers.flooding.add(ident)
            elif subject in table.slot:
                slot = table.slot[subject]
                # A rule several metrics share is the device's main metric's (a panel's
                # component and a transmitter have none: their rules are their events').
                main = STUCK_METRIC.get(table.devices[subject].kind)
                shared = main is not None and (
                    rule is Rule.SENSOR_STUCK or rule in METRIC_RULES[main]
                )
                scope = main if main is not None and shared else _RULE_SCOPE.get(rule, "event")
                track = self.tracks[(scope, rule)]
                if scope in self.rings:  # a metric's rules are kept by the ring's rows
                    ring = self.rings[scope]
                    row = int(ring.rows_for(np.array([slot]))[0])
                    track.ensure(ring.used)
                    track.set(row, True)
                else:
                    track.ensure(len(table))
                    track.set(slot, True)

    def remember_shields(self, shields: Mapping[str, tuple[bool, datetime]]) -> None:
        """At start-up, each panel component's newest shield event: on or off, and when, so a
        shield stays on until the panel lifts it and an older event changes nothing."""
        for device_id, (on, at) in shields.items():
            self.recorder.shields[device_id] = (on, at.timestamp())

    def remember_heard(self, heard: Mapping[str, datetime]) -> None:
        """At start-up, from the stored device status: offline timers survive a restart."""
        for device_id, when in heard.items():
            if device_id in self.table.devices:
                self.table.heard[self.table.slot_of(device_id)] = when.timestamp()
