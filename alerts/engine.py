"""The rules engine: messages, the registry's view of each device and ``now`` go in, decisions
come out. No I/O, no clock reads, no logging: the caller owns all of that.

Readings are evaluated as arrays over every device a batch touches (one round per sample
depth), events, status and frames one by one, since they are few. Rules use the devices' own
timestamps, so a replay at any speed and in batches of any size reaches the same decisions.
A sample older than the newest one already seen from its device (a gateway flushing its buffer)
is stored by ingest but does not move the engine's state.

State advances tentatively: :meth:`Engine.evaluate` records how to undo itself, and the caller
either :meth:`commit`s once the batch's transaction has committed or :meth:`rollback`s, so a
batch that is retried is evaluated exactly once.
"""

from __future__ import annotations

import copy
from bisect import bisect_left
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts import metric_rules
from alerts.config import RuleConfig
from alerts.correlation import Correlator
from alerts.devices import SUPPRESSING_STATUSES, DeviceInfo
from alerts.metric_rules import METRIC_RULES, RATE_METRICS, Round
from alerts.rings import DEPTH, LEVEL_DEPTH, MetricRing
from alerts.signals import Change, Condition, Decision
from alerts.thermal import CameraState, analyse
from alerts.tracks import Track
from alerts.trend import TrendRing
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Metrics the engine keeps history for; the rest are stored but not evaluated.
RING_METRICS = ("temperature_c", "cable_temp_c", "obscuration_pct_per_m",
                "residual_current_ma", "max_temp_c")  # fmt: skip
# The metric whose frozen value means a dead sensor, per kind.
STUCK_METRIC = {Kind.SMOKE: "temperature_c", Kind.ELECTRICAL: "cable_temp_c",
                Kind.THERMAL_CAMERA: "max_temp_c"}  # fmt: skip
MASS_OFFLINE_MIN = 5  # devices of one building silent together: a power cut, not five faults
MASS_OFFLINE_SHARE = 0.5
FLOOD_ALERTS = 10  # ISA-18.2: more than 10 new alerts in 10 minutes per operator is a flood
BATTERY_CLEAR_MARGIN = 5.0

_EVENT_RULES: dict[tuple[Kind, str], tuple[Rule, AlertClass]] = {
    (Kind.SMOKE, "alarm"): (Rule.SMOKE_ALARM, AlertClass.FIRE),
    (Kind.ELECTRICAL, "alarm"): (Rule.ELECTRICAL_ALARM, AlertClass.PREALARM),
    (Kind.THERMAL_CAMERA, "fire_detected"): (Rule.CAMERA_FIRE, AlertClass.FIRE),
    (Kind.THERMAL_CAMERA, "smoke_detected"): (Rule.CAMERA_SMOKE, AlertClass.PREALARM),
}
_EVENT_CLASS = {rule: cls for rule, cls in _EVENT_RULES.values()} | {Rule.FAULT: AlertClass.TROUBLE}
_CLEARED_BY = {
    "alarm_cleared": (Rule.SMOKE_ALARM, Rule.ELECTRICAL_ALARM, Rule.CAMERA_FIRE, Rule.CAMERA_SMOKE),
    "fault_cleared": (Rule.FAULT,),
}


def seconds(ts: datetime) -> float:
    return ts.timestamp()  # every timestamp here is timezone-aware


def at(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


@dataclass(slots=True)
class _Batch:
    """Decisions of one evaluation, holds merged so each active alert is touched once."""

    decisions: list[Decision] = field(default_factory=list)
    holds: dict[tuple[str, Rule], Decision] = field(default_factory=dict)
    # Rising edges for correlation, fed in event-time order once the batch is judged: metrics
    # are judged one after another, and a confirmed fire must not depend on that order.
    signals: list[tuple[Decision, tuple[str, ...]]] = field(default_factory=list)

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


def _index_of(sample: tuple[int, float, float, int]) -> int:
    return sample[3]


class Engine:
    def __init__(self, *, correlation_window_s: float = 120.0) -> None:
        self.devices: dict[str, DeviceInfo] = {}
        self._slot: dict[str, int] = {}
        self._ids: list[str] = []
        self.rings = {metric: MetricRing(depth=DEPTH if metric in RATE_METRICS else LEVEL_DEPTH)
                      for metric in RING_METRICS}  # fmt: skip
        self.tracks: dict[tuple[str, Rule], Track] = defaultdict(Track)
        self.trend = TrendRing()
        self.cameras: dict[str, CameraState] = {}
        self.heard: F64 = np.full(64, np.nan)  # server time of each device's newest message
        self.test_until: dict[str, float] = {}
        self.correlator = Correlator(window_s=correlation_window_s)
        self._chatter: dict[tuple[str, Rule], deque[float]] = {}
        self._deferred_clear: dict[tuple[str, Rule], Decision] = {}
        # When each alert's newest activation arrived (server time): a chattering alert is
        # released once quiet for a window of it. Its event time would release a backlog or a
        # replay, whose samples are minutes old, at the first tick while it still chatters.
        self._raised_arrival: dict[tuple[str, Rule], float] = {}
        self._building_size: dict[str, int] = {}
        self._offline_buildings: set[str] = set()
        self._flooding: set[str] = set()
        self._undo: list[Callable[[], None]] = []
        # Every device's thresholds, so a round reads them without a loop: a table with one
        # column per distinct configuration (a city's devices share a handful) and each
        # device's column by slot. A row per device and threshold cost a city 23 MB.
        self._config_of: npt.NDArray[np.int32] = np.zeros(64, dtype=np.int32)
        self._config_ids: dict[tuple[float, ...], int] = {}
        self._config_table: dict[str, F64] = {name: np.zeros(0) for name in _CONFIG_FIELDS}
        # Which metric's ring judges a device stuck, as an index into RING_METRICS (-1: none).
        self._stuck_metric: npt.NDArray[np.int8] = np.full(64, -1, dtype=np.int8)
        # Seconds of silence after which a device is offline (inf: never, e.g. decommissioned).
        self._silent_after: F64 = np.full(64, np.inf)

    # -- registry --------------------------------------------------------------------------
    def configure(self, devices: Iterable[DeviceInfo]) -> None:
        """Adds or updates devices; thresholds take effect from the next sample."""
        for device in devices:
            self._count_in_building(self.devices.get(device.id), -1)
            self._count_in_building(device, +1)
            self.devices[device.id] = device
            slot = self._slot_of(device.id)
            self._config_of[slot] = self._config_id(device)
            self._stuck_metric[slot] = _METRIC_CODE[STUCK_METRIC[device.kind]]
            self._silent_after[slot] = (
                np.inf if device.status == "decommissioned"
                else 2 * device.heartbeat + device.rules.offline_margin_s
            )  # fmt: skip

    def _config_id(self, device: DeviceInfo) -> int:
        # A camera's region summaries are judged with its frames' levels.
        values = (*(getattr(device.rules, n) for n in _RULE_FIELDS),
                  *(getattr(device.thermal, n) for n in _REGION_FIELDS))  # fmt: skip
        found = self._config_ids.get(values)
        if found is None:
            found = self._config_ids[values] = len(self._config_ids)
            for name, value in zip(_CONFIG_FIELDS, values, strict=True):
                self._config_table[name] = np.append(self._config_table[name], value)
        return found

    def _count_in_building(self, device: DeviceInfo | None, step: int) -> None:
        """Devices per building, for the mass-offline roll-up, kept as devices come and go."""
        if device is not None and device.building and device.status != "decommissioned":
            self._building_size[device.building] = (
                self._building_size.get(device.building, 0) + step
            )

    def _slot_of(self, device_id: str) -> int:
        slot = self._slot.get(device_id)
        if slot is None:
            slot = self._slot[device_id] = len(self._ids)
            self._ids.append(device_id)
            if slot >= self.heard.shape[0]:
                grow = max(64, self.heard.shape[0] // 4)
                self.heard = np.concatenate([self.heard, np.full(grow, np.nan)])
                self._config_of = np.concatenate([self._config_of, np.zeros(grow, np.int32)])
                self._silent_after = np.concatenate([self._silent_after, np.full(grow, np.inf)])
                self._stuck_metric = np.concatenate(
                    [self._stuck_metric, np.full(grow, -1, dtype=np.int8)]
                )
        return slot

    # -- transactions ----------------------------------------------------------------------
    def commit(self) -> None:
        self._undo.clear()

    def rollback(self) -> None:
        while self._undo:
            self._undo.pop()()

    def _save_rows(self, rows: I64, metric: str, rules: Sequence[Rule]) -> None:
        """A metric's ring and its rules' tracks share the ring's rows."""
        ring = self.rings[metric]
        saved = ring.rows(rows)
        self._undo.append(lambda: ring.restore(rows, saved))
        for rule in rules:
            self._save_track(self.tracks[(metric, rule)], rows)

    def _save_track(self, track: Track, slots: I64) -> None:
        saved = track.rows(slots)
        self._undo.append(lambda: track.restore(slots, saved))

    def _save_python_state(self) -> None:
        snapshot = (copy.deepcopy(self._chatter), dict(self._deferred_clear), dict(self.test_until),
                    copy.deepcopy(self.correlator), set(self._offline_buildings),
                    set(self._flooding), self.heard.copy(), dict(self._raised_arrival))  # fmt: skip

        def restore() -> None:
            (self._chatter, self._deferred_clear, self.test_until, self.correlator,
             self._offline_buildings, self._flooding, heard,
             self._raised_arrival) = snapshot  # fmt: skip
            self.heard[: heard.shape[0]] = heard

        self._undo.append(restore)

    # -- evaluation ------------------------------------------------------------------------
    def evaluate(self, messages: Sequence[tuple[Decoded, datetime]]) -> list[Decision]:
        """Decisions for one batch of accepted, non-duplicate messages with their arrival times."""
        self._save_python_state()
        out = _Batch()
        readings: dict[str, list[tuple[int, float, float, int]]] = defaultdict(list)
        arrivals: list[datetime] = []
        others: list[tuple[Decoded, datetime]] = []
        other_index: list[int] = []  # each other message's place in the batch
        heard: list[tuple[int, int]] = []  # (slot, index into arrivals and sent)
        sent: list[datetime] = []
        slot_of, rings = self._slot, self.rings
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
            slots = self._heard_from(heard, arrivals, sent, out)
            self._clock(messages, slots, others, out)
        # A camera's frames and its region readings drive the same tracks, so each frame is
        # judged after the readings that came before it and before those after it: where the
        # stream is cut into batches does not change the outcome.
        frames = [(m, r, i) for (m, r), i in zip(others, other_index, strict=True)
                  if m.channel is Channel.FRAME]  # fmt: skip
        done = 0
        for message, received_at, index in frames:
            self._evaluate_readings(readings, done, index, arrivals, out)
            self._evaluate_other(message, received_at, out)
            done = index
        self._evaluate_readings(readings, done, len(arrivals), arrivals, out)
        rest = [pair for pair in others if pair[0].channel is not Channel.FRAME]
        for message, received_at in sorted(rest, key=lambda pair: pair[0].ts):
            self._evaluate_other(message, received_at, out)
        for decision, covers in sorted(out.signals, key=lambda pair: pair[0].at):
            for confirmed in self.correlator.signal(decision, covers=covers):
                out.add(confirmed)
        return out.decisions

    def _evaluate_readings(
        self, readings: dict[str, list[tuple[int, float, float, int]]], start: int, stop: int,
        arrivals: list[datetime], out: _Batch,
    ) -> None:  # fmt: skip
        """The readings of messages ``start`` <= index < ``stop`` of the batch."""
        for metric, samples in readings.items():
            if start == 0 and stop == len(arrivals):
                part = samples
            else:
                first = bisect_left(samples, start, key=_index_of)
                part = samples[first : bisect_left(samples, stop, key=_index_of)]
            if part:
                self._evaluate_metric(metric, part, arrivals, out)

    def _evaluate_metric(
        self, metric: str, samples: list[tuple[int, float, float, int]],
        arrivals: list[datetime], out: _Batch,
    ) -> None:  # fmt: skip
        ring = self.rings[metric]
        data = np.array(samples, dtype=np.float64)
        slots = data[:, 0].astype(np.int64)
        order = np.lexsort((data[:, 1], slots))
        data, slots = data[order], slots[order]
        ring_rows = ring.rows_for(slots)
        # Rank of each sample among its device's samples: round r evaluates every device's
        # r-th sample at once.
        starts = np.flatnonzero(np.r_[True, slots[1:] != slots[:-1]])
        rank = np.arange(len(slots)) - np.repeat(starts, np.diff(np.r_[starts, len(slots)]))
        rules = METRIC_RULES[metric]
        touched_rows = np.unique(ring_rows)
        for rule in (*rules, Rule.SENSOR_STUCK):
            self.tracks[(metric, rule)].ensure(ring.used)
        self._save_rows(touched_rows, metric, (*rules, Rule.SENSOR_STUCK))
        if metric == "residual_current_ma":  # the trend shares the metric's ring rows
            self.trend.ensure(ring.used)
            saved = self.trend.rows(touched_rows)
            self._undo.append(lambda: self.trend.restore(touched_rows, saved))
        for r in range(int(rank.max()) + 1):
            pick = rank == r
            s, rows, t, v = slots[pick], ring_rows[pick], data[pick, 1], data[pick, 2]
            fresh = t > ring.last_t[rows]
            if not fresh.all():
                s, rows, t, v = s[fresh], rows[fresh], t[fresh], v[fresh]
                idx = data[pick, 3][fresh]
            else:
                idx = data[pick, 3]
            if len(s):
                self._round(metric, ring, s=s, ring_rows=rows, t=t, v=v,
                            arrivals=[arrivals[int(i)] for i in idx], out=out)  # fmt: skip

    def _round(
        self,
        metric: str,
        ring: MetricRing,
        *,
        s: I64,
        ring_rows: I64,
        t: F64,
        v: F64,
        arrivals: list[datetime],
        out: _Batch,
    ) -> None:
        config_of = self._config_of[s]

        def cfg(name: str) -> F64:
            return self._config_table[name][config_of]

        rows = ring_rows
        base, spread = ring.base[rows].copy(), ring.spread[rows].copy()
        warm = (ring.n[rows] >= 10) & (t - ring.first_t[rows] >= cfg("anomaly_warmup_s"))
        ring.push(rows, t, v, tau_s=cfg("anomaly_tau_s"), min_sigma=cfg("anomaly_min_sigma_c"))

        def emit(rule: Rule, cls: AlertClass, *, on: npt.NDArray[np.bool_],
                 off: npt.NDArray[np.bool_], dwell: F64 | float = 0.0, rows: I64 | None = None,
                 **detail: Any) -> None:  # fmt: skip
            pick = slice(None) if rows is None else rows
            step = self.tracks[(metric, rule)].step(
                ring_rows[pick], t[pick], on=on, off=off, dwell_s=dwell
            )
            for change, found in ((Change.RAISE, step.raised), (Change.CLEAR, step.cleared),
                                  (Change.HOLD, step.held)):  # fmt: skip
                for i in found:
                    j = int(i) if rows is None else int(rows[i])
                    facts: dict[str, Any] = {"metric": metric}
                    for key, value in detail.items():
                        item = value[i] if isinstance(value, np.ndarray) else value
                        facts[key] = (
                            round(float(item), 3) if isinstance(item, np.floating) else item
                        )
                    device = self.devices[self._ids[int(s[j])]]
                    decision = Decision(device.id, rule, cls, change, at(float(t[j])),
                                        float(v[j]), arrivals[j], device.site, device.building,
                                        facts)  # fmt: skip
                    self._record(decision, device, out)

        sigma = np.maximum(spread, cfg("anomaly_min_sigma_c"))
        r = Round(s, ring_rows, t, v, ring.level(ring_rows), base, sigma, warm, ring, cfg, emit)
        if metric == "temperature_c":
            metric_rules.heat(r)
        elif metric == "cable_temp_c":
            metric_rules.cable(r)
        elif metric == "obscuration_pct_per_m":
            metric_rules.smoke(r)
        elif metric == "residual_current_ma":
            metric_rules.leakage(r, self.trend)
        elif metric == "max_temp_c":
            metric_rules.camera_region(r)
        metric_rules.stuck(r, self._stuck_metric[s] == _METRIC_CODE[metric])

    # -- events, status, frames ------------------------------------------------------------
    def _evaluate_other(self, message: Decoded, received_at: datetime, out: _Batch) -> None:
        device = self.devices[message.device_id]
        t = seconds(message.ts)
        slot = self._slot[device.id]

        def record(rule: Rule, cls: AlertClass, active: bool, value: float | None,
                   detail: dict[str, Any]) -> None:  # fmt: skip
            track = self.tracks[("event", rule)]
            track.ensure(len(self._ids))
            was = bool(track.active[slot])
            if not active and not was:
                return
            self._save_track(track, np.array([slot]))
            track.set(slot, active)
            change = Change.CLEAR if not active else Change.REPEAT if was else Change.RAISE
            self._record(Decision(device.id, rule, cls, change, message.ts, value, received_at,
                                  device.site, device.building, detail), device, out)  # fmt: skip

        if message.channel is Channel.EVENT:
            kind_rule = _EVENT_RULES.get((device.kind, message.event_type or ""))
            detail = {"event": message.event_type, **(message.detail or {})}
            skew = message.clock_skew()  # only ingest may say so, never the device's detail
            if skew is None:
                detail.pop("clock_skew", None)
            else:
                detail["clock_skew"] = skew
            if kind_rule is not None:
                record(kind_rule[0], kind_rule[1], True, None, detail)
            elif message.event_type == "tamper":
                record(Rule.TAMPER, AlertClass.SUPERVISORY, True, None, detail)
            elif message.event_type == "fault":
                record(Rule.FAULT, AlertClass.TROUBLE, True, None, detail)
            elif message.event_type == "test":
                self.test_until[device.id] = t + device.rules.test_mode_s
            for rule in _CLEARED_BY.get(message.event_type or "", ()):
                record(rule, _EVENT_CLASS[rule], False, None, detail)
        elif message.channel is Channel.STATUS:
            battery = message.values.get("battery_pct")
            if battery is not None:
                low = device.rules.low_battery_pct
                track = self.tracks[("event", Rule.LOW_BATTERY)]
                track.ensure(len(self._ids))
                was = bool(track.active[slot])
                if battery <= low or (was and battery < low + BATTERY_CLEAR_MARGIN):
                    record(Rule.LOW_BATTERY, AlertClass.TROUBLE, True, battery,
                           {"battery_pct": battery, "threshold_pct": low})  # fmt: skip
                elif was:
                    record(
                        Rule.LOW_BATTERY,
                        AlertClass.TROUBLE,
                        False,
                        battery,
                        {"battery_pct": battery},
                    )
        elif message.channel is Channel.FRAME and message.frame is not None:
            state = self.cameras.get(device.id)
            if state is None:
                state = self.cameras[device.id] = CameraState()
                self._undo.append(lambda: self._forget_camera(device.id))
            else:
                saved_state = copy.deepcopy(state)
                self._undo.append(lambda: self.cameras.__setitem__(device.id, saved_state))
            conditions = analyse(
                state,
                message.frame,
                camera_id=device.id,
                preset=message.preset,
                at=message.ts,
                config=device.thermal,
            )
            for condition in conditions:
                self._frame_condition(condition, device, received_at, out)

    def _forget_camera(self, device_id: str) -> None:
        self.cameras.pop(device_id, None)

    def _frame_condition(
        self, condition: Condition, device: DeviceInfo, received_at: datetime, out: _Batch
    ) -> None:
        slot = self._slot[device.id]
        track = self.tracks[("frame", condition.rule)]
        track.ensure(len(self._ids))
        was = bool(track.active[slot])
        if not condition.active and not was:
            return
        self._save_track(track, np.array([slot]))
        track.set(slot, condition.active)
        change = Change.CLEAR if not condition.active else Change.HOLD if was else Change.RAISE
        self._record(Decision(device.id, condition.rule, condition.alert_class, change,
                              condition.at, condition.value, received_at, device.site,
                              device.building, dict(condition.detail)), device, out)  # fmt: skip

    # -- what every device decision goes through -------------------------------------------
    def _record(self, decision: Decision, device: DeviceInfo, out: _Batch) -> None:
        t = seconds(decision.at)
        if device.status in SUPPRESSING_STATUSES:
            decision.suppressed = device.status
        elif self.test_until.get(device.id, float("-inf")) >= t:
            decision.suppressed = "test"
        key = (decision.subject, decision.rule)
        if decision.change is Change.RAISE:
            arrived = decision.received_at
            self._raised_arrival[key] = t if arrived is None else seconds(arrived)
            if self._chattering(key, t, device):
                decision.detail["chattering"] = True
                if self._deferred_clear.pop(key, None) is not None:
                    decision.change = Change.HOLD  # the alert never left: one alert, not many
        elif (
            decision.change is Change.CLEAR
            and key in self._chatter
            and len(self._chatter[key]) >= device.rules.chatter_count
        ):
            self._deferred_clear[key] = decision  # released once it stays quiet a window
            return
        out.add(decision)
        if decision.change is Change.RAISE and decision.suppressed is None:
            out.signals.append((decision, device.covers))

    def _chattering(self, key: tuple[str, Rule], t: float, device: DeviceInfo) -> bool:
        window = device.rules.chatter_window_s
        times = self._chatter.setdefault(key, deque())
        times.append(t)
        while times and times[0] < t - window:
            times.popleft()
        return len(times) >= device.rules.chatter_count

    def _release_deferred(self, out: _Batch, *, until: float) -> None:
        """Chattering alerts' returns are released by the tick, once no activation has arrived
        for a window."""
        for key, decision in list(self._deferred_clear.items()):
            device = self.devices[decision.subject]
            if (
                until - self._raised_arrival.get(key, float("-inf"))
                >= device.rules.chatter_window_s
            ):
                del self._deferred_clear[key]
                self._chatter.pop(key, None)
                self._raised_arrival.pop(key, None)
                decision.detail["chattering"] = True
                out.add(decision)

    def _heard_from(
        self, heard: list[tuple[int, int]], arrivals: list[datetime], sent: list[datetime],
        out: _Batch,
    ) -> I64:  # fmt: skip
        """Remembers when each device was last heard (server clock) and clears the offline
        alerts of those that are back. Arrivals are in order: a device's last is its latest.
        Returns the slots of the devices heard."""
        latest = dict(heard)
        slots = np.fromiter(latest, dtype=np.int64, count=len(latest))
        received = np.array([arrivals[i].timestamp() for i in latest.values()])
        self.heard[slots] = np.fmax(self.heard[slots], received)
        track = self.tracks[("tick", Rule.OFFLINE)]
        track.ensure(len(self._ids))
        back = slots[track.active[slots]]
        if not len(back):
            return slots
        self._save_track(track, back)
        for slot in back:
            track.set(int(slot), False)
            device = self.devices[self._ids[slot]]
            index = latest[int(slot)]
            received_at = arrivals[index]
            out.add(Decision(device.id, Rule.OFFLINE, AlertClass.TROUBLE, Change.CLEAR,
                             sent[index], None, received_at, device.site, device.building,
                             {"back_at": received_at.isoformat()}))  # fmt: skip
        return slots

    def _clock(
        self, messages: Sequence[tuple[Decoded, datetime]], slots: I64,
        others: list[tuple[Decoded, datetime]], out: _Batch,
    ) -> None:  # fmt: skip
        """A message re-stamped for its device's wrong clock raises (then repeats) the device's
        clock_skew trouble; its next message within the window clears it. In arrival order,
        and only for devices with a skewed message or an active alert, so it costs nothing
        while every clock is right."""
        track = self.tracks[("event", Rule.CLOCK_SKEW)]
        track.ensure(len(self._ids))
        watch = {self._ids[int(s)] for s in slots[track.active[slots]]}
        watch.update(m.device_id for m, _ in others if m.device_ts is not None)
        if not watch:
            return
        for message, received_at in messages:
            if message.device_id not in watch:
                continue
            slot = self._slot[message.device_id]
            skew = message.clock_skew()
            was = bool(track.active[slot])
            if skew is None and not was:
                continue
            self._save_track(track, np.array([slot]))
            track.set(slot, skew is not None)
            change = Change.CLEAR if skew is None else Change.REPEAT if was else Change.RAISE
            device = self.devices[message.device_id]
            value = None if skew is None else abs(skew["skew_s"])
            detail = skew or {"in_window_at": message.ts.isoformat()}
            self._record(Decision(device.id, Rule.CLOCK_SKEW, AlertClass.TROUBLE, change,
                                  message.ts, value, received_at, device.site, device.building,
                                  detail), device, out)  # fmt: skip

    # -- timers ----------------------------------------------------------------------------
    def tick(
        self, now: datetime, *, opened_last_10min: Mapping[str, int] | None = None
    ) -> list[Decision]:
        """Timers on the server clock: offline devices (rolled up per building when many go
        silent together), chattering alerts that went quiet, and alert floods per site."""
        self._save_python_state()
        out = _Batch()
        now_s = seconds(now)
        track = self.tracks[("tick", Rule.OFFLINE)]
        track.ensure(len(self._ids))
        self._save_track(track, np.arange(len(self._ids)))
        silent_by_building: dict[str, list[DeviceInfo]] = defaultdict(list)
        newly: list[tuple[DeviceInfo, float]] = []
        count = len(self._ids)
        with np.errstate(invalid="ignore"):  # never heard: NaN, not silent
            quiet = now_s - self.heard[:count] > self._silent_after[:count]
        for slot in np.flatnonzero(quiet):
            device = self.devices[self._ids[slot]]
            if device.building:
                silent_by_building[device.building].append(device)
            if not track.active[slot]:
                newly.append((device, float(self.heard[slot])))
        rolled_up: set[str] = set()
        for building, silent in silent_by_building.items():
            size = self._building_size.get(building, len(silent))
            if len(silent) >= MASS_OFFLINE_MIN and len(silent) >= MASS_OFFLINE_SHARE * size:
                rolled_up.add(building)
                change = Change.HOLD if building in self._offline_buildings else Change.RAISE
                first = silent[0]
                out.add(Decision(f"building:{building}", Rule.COMM_FAULT, AlertClass.TROUBLE,
                                 change, now, float(len(silent)), None, first.site, building,
                                 {"silent": len(silent), "devices_in_building": size,
                                  "devices": sorted(d.id for d in silent)[:200]}))  # fmt: skip
        for building in self._offline_buildings - rolled_up:
            site = next((d.site for d in self.devices.values() if d.building == building), None)
            out.add(Decision(f"building:{building}", Rule.COMM_FAULT, AlertClass.TROUBLE,
                             Change.CLEAR, now, None, None, site, building, {}))  # fmt: skip
        self._offline_buildings = rolled_up
        for device, heard in newly:
            track.set(self._slot[device.id], True)
            if device.building in rolled_up:
                continue  # counted in the building's communication fault
            decision = Decision(device.id, Rule.OFFLINE, AlertClass.TROUBLE, Change.RAISE, now,
                                None, None, device.site, device.building,
                                {"last_heard": at(heard).isoformat(),
                                 "heartbeat_s": device.heartbeat})  # fmt: skip
            if device.status in SUPPRESSING_STATUSES:
                decision.suppressed = device.status
            out.add(decision)
        self._release_deferred(out, until=now_s)
        rates = opened_last_10min if opened_last_10min is not None else {}
        for site in sorted(set(rates) | self._flooding) if opened_last_10min is not None else ():
            opened = rates.get(site, 0)
            flooding = opened > FLOOD_ALERTS
            if flooding or site in self._flooding:
                change = (Change.CLEAR if not flooding else
                          Change.HOLD if site in self._flooding else Change.RAISE)  # fmt: skip
                out.add(Decision(f"site:{site}", Rule.ALERT_FLOOD, AlertClass.SUPERVISORY,
                                 change, now, float(opened), None, site, None,
                                 {"opened_last_10_min": opened,
                                  "threshold": FLOOD_ALERTS}))  # fmt: skip
            if flooding:
                self._flooding.add(site)
            else:
                self._flooding.discard(site)
        return out.decisions

    def remember_open(self, open_alerts: Iterable[tuple[str, str]]) -> None:
        """At start-up: alerts already open count as active, so their return is noticed."""
        for subject, name in open_alerts:
            try:
                rule = Rule(name)
            except ValueError:
                continue  # a rule this version no longer has: operators resolve it
            _, _, ident = subject.partition(":")
            if rule is Rule.COMM_FAULT:
                self._offline_buildings.add(ident)
            elif rule is Rule.ALERT_FLOOD:
                self._flooding.add(ident)
            elif subject in self._slot:
                slot = self._slot[subject]
                # A rule several metrics share is the device's main metric's.
                main = STUCK_METRIC[self.devices[subject].kind]
                shared = rule is Rule.SENSOR_STUCK or rule in METRIC_RULES[main]
                scope = main if shared else _RULE_SCOPE.get(rule, "event")
                track = self.tracks[(scope, rule)]
                if scope in self.rings:  # a metric's rules are kept by the ring's rows
                    ring = self.rings[scope]
                    row = int(ring.rows_for(np.array([slot]))[0])
                    track.ensure(ring.used)
                    track.set(row, True)
                else:
                    track.ensure(len(self._ids))
                    track.set(slot, True)

    def remember_heard(self, heard: Mapping[str, datetime]) -> None:
        """At start-up, from the stored device status: offline timers survive a restart."""
        for device_id, when in heard.items():
            if device_id in self.devices:
                self.heard[self._slot_of(device_id)] = seconds(when)


# Which track holds a rule's state: a metric's, the frames', the timers' or the events'.
_RULE_SCOPE: dict[Rule, str] = {
    **{rule: metric for metric, rules in METRIC_RULES.items() for rule in rules},
    Rule.CAMERA_PREALARM: "frame", Rule.CAMERA_SUDDEN_RISE: "frame", Rule.CAMERA_GROWTH: "frame",
    Rule.OFFLINE: "tick",
}  # fmt: skip
_RULE_FIELDS = tuple(f.name for f in fields(RuleConfig))
_METRIC_CODE = {metric: code for code, metric in enumerate(RING_METRICS)}
_REGION_FIELDS = ("alarm_c", "clear_c", "delta_c")
_CONFIG_FIELDS = (*_RULE_FIELDS, *(f"camera_{n}" for n in _REGION_FIELDS))
