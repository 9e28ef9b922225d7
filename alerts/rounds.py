"""Readings, judged as arrays: for each metric, every sample a batch brings (a device's
consecutive samples together, each on the state the one before left) through the metric's
rules; decisions come out in the order of one round per sample depth."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from itertools import count
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts import metric_rules
from alerts.device_table import METRIC_CODE, RING_METRICS, DeviceTable
from alerts.metric_rules import METRIC_RULES, RATE_METRICS, Round
from alerts.recorder import Batch, Recorder
from alerts.rings import DEPTH, LEVEL_DEPTH, MetricRing, firsts
from alerts.signals import Change, Decision
from alerts.tracks import Tracks
from alerts.trend import TrendRing
from alerts.undo import UndoLog
from contract.alarms import AlertClass, Rule

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
# (device slot, event time, value, index of the message in the batch)
Sample = tuple[int, float, float, int]


def _index_of(sample: Sample) -> int:
    return sample[3]


class MetricRounds:
    def __init__(
        self, *, table: DeviceTable, tracks: Tracks, recorder: Recorder, undo: UndoLog
    ) -> None:
        self.table, self.tracks, self.recorder, self.undo = table, tracks, recorder, undo
        self.hot = HotIndex.empty()
        self.rings = {
            metric: MetricRing(depth=DEPTH if metric in RATE_METRICS else LEVEL_DEPTH)
            for metric in RING_METRICS
        }
        self.trend = TrendRing()

    def evaluate(
        self,
        readings: dict[str, list[Sample]],
        *,
        start: int,
        stop: int,
        arrivals: list[datetime],
        out: Batch,
    ) -> None:
        """The readings of messages ``start`` <= index < ``stop`` of the batch. Temperatures
        first: a multi-sensor's smoke rule reads what its heat rule made of the same moment."""
        self.hot = HotIndex.empty()
        for metric in sorted(readings, key=lambda m: m != "temperature_c"):
            samples = readings[metric]
            if start == 0 and stop == len(arrivals):
                part = samples
            else:
                first = bisect_left(samples, start, key=_index_of)
                part = samples[first : bisect_left(samples, stop, key=_index_of)]
            if part:
                self._evaluate_metric(metric, part, arrivals, out)

    def _save_rows(self, rows: I64, metric: str, rules: Sequence[Rule]) -> None:
        """A metric's ring and its rules' tracks share the ring's rows."""
        self.undo.save_rows(self.rings[metric], rows)
        for rule in rules:
            self.undo.save_rows(self.tracks[(metric, rule)], rows)

    def _evaluate_metric(
        self, metric: str, samples: list[Sample], arrivals: list[datetime], out: Batch
    ) -> None:
        ring = self.rings[metric]
        data = np.array(samples, dtype=np.float64)
        slots = data[:, 0].astype(np.int64)
        order = np.lexsort((data[:, 1], slots))
        data, slots = data[order], slots[order]
        ring_rows = ring.rows_for(slots)
        # Rank of each sample among its device's samples: decisions come out as if round r
        # judged every device's r-th sample at once.
        index = np.arange(len(slots))
        rank = index - np.maximum.accumulate(np.where(firsts(slots), index, 0))
        rules = METRIC_RULES[metric]
        touched_rows = np.unique(ring_rows)
        for rule in (*rules, Rule.SENSOR_STUCK):
            self.tracks[(metric, rule)].ensure(ring.used)
        self._save_rows(touched_rows, metric, (*rules, Rule.SENSOR_STUCK))
        if metric == "residual_current_ma":  # the trend shares the metric's ring rows
            self.trend.ensure(ring.used)
            self.undo.save_rows(self.trend, touched_rows)
        # A sample not newer than the device's newest so far moves nothing.
        newest = np.where(rank == 0, -np.inf, np.concatenate(([-np.inf], data[:-1, 1])))
        fresh = data[:, 1] > np.maximum(ring.last_t[ring_rows], newest)
        if fresh.any():
            self._judge(
                metric,
                ring,
                s=slots[fresh],
                ring_rows=ring_rows[fresh],
                t=data[fresh, 1],
                v=data[fresh, 2],
                rank=rank[fresh],
                index=data[fresh, 3].astype(np.int64),
                arrivals=[arrivals[int(i)] for i in data[fresh, 3]],
                out=out,
            )

    def _judge(  # noqa: C901 - every metric rule over the samples at once; each branch is a rule's few numpy lines
        self,
        metric: str,
        ring: MetricRing,
        *,
        s: I64,
        ring_rows: I64,
        t: F64,
        v: F64,
        rank: I64,
        index: I64,
        arrivals: list[datetime],
        out: Batch,
    ) -> None:
        """A device's samples are consecutive and in time order; each is judged on the state
        the one before left, and decisions are recorded in the order of one round per rank."""
        config_of = self.table.config_of[s]
        config_table = self.table.config_table

        def cfg(name: str) -> F64:
            return config_table[name][config_of]

        first_t = ring.first_t[ring_rows]
        pushed = ring.push(
            ring_rows,
            t,
            v,
            tau_s=cfg("anomaly_tau_s"),
            min_sigma=cfg("anomaly_min_sigma_c"),
            rewarm_s=cfg("rewarm_after_s"),
        )
        after = pushed.after
        first = firsts(ring_rows)
        first_t = after.first_t
        warm = (after.since - 1 >= cfg("warmup_samples")) & (t - first_t >= cfg("anomaly_warmup_s"))
        nth = np.arange(len(s)) - np.maximum.accumulate(np.where(first, np.arange(len(s)), 0))
        devices, ids, record = self.table.devices, self.table.ids, self.recorder.record
        # (rank, emit call, change, sample): the order rounds of one sample per device had.
        pending: list[tuple[int, int, int, int, Rule, AlertClass, Change, dict[str, Any], int]]
        pending = []
        calls = count()  # each emit's place in the round

        def emit(
            rule: Rule,
            cls: AlertClass,
            *,
            on: npt.NDArray[np.bool_],
            off: npt.NDArray[np.bool_],
            dwell: F64 | float = 0.0,
            rows: I64 | None = None,
            **detail: Any,
        ) -> None:
            pick = slice(None) if rows is None else rows
            step = self.tracks[(metric, rule)].step(
                ring_rows[pick], t[pick], on=on, off=off, dwell_s=dwell
            )
            call = next(calls)
            for order, (change, found) in enumerate(
                (
                    (Change.RAISE, step.raised),
                    (Change.CLEAR, step.cleared),
                    (Change.HOLD, step.held),
                )
            ):
                for i in found:
                    j = int(i) if rows is None else int(rows[i])
                    pending.append(
                        (int(rank[j]), call, order, j, rule, cls, change, detail, int(i))
                    )

        sigma = np.maximum(pushed.spread, cfg("anomaly_min_sigma_c"))
        level, base = pushed.level, pushed.base
        r = Round(s, ring_rows, nth, t, v, level, base, sigma, warm, after, cfg, emit)
        r.trend, r.slope, r.index = pushed.trend, np.where(warm, pushed.slope, 0.0), index
        if metric == "temperature_c":
            metric_rules.heat(r, Corroboration(self, ring, r))
        elif metric == "cable_temp_c":
            metric_rules.cable(r)
        elif metric == "obscuration_pct_per_m":
            metric_rules.smoke(r, lambda: self.hot.of(self.rings["temperature_c"], s, index))
        elif metric == "residual_current_ma":
            metric_rules.leakage(r, self.trend)
        elif metric == "max_temp_c":
            metric_rules.camera_region(r)
        metric_rules.stuck(r, self.table.stuck_metric[s] == METRIC_CODE[metric])
        pending.sort(key=lambda entry: entry[:4])
        for _, _, _, j, rule, cls, change, detail, i in pending:
            facts: dict[str, Any] = {"metric": metric}
            for key, value in detail.items():
                item = value[i] if isinstance(value, np.ndarray) else value
                facts[key] = round(float(item), 3) if isinstance(item, np.floating) else item
            device = devices[ids[int(s[j])]]
            decision = Decision(
                subject=device.id,
                rule=rule,
                alert_class=cls,
                change=change,
                at=datetime.fromtimestamp(float(t[j]), UTC),
                value=float(v[j]),
                received_at=arrivals[j],
                site=device.site,
                building=device.building,
                detail=facts,
            )
            record(decision, device, out)


@dataclass(slots=True)
class HotIndex:
    """Each temperature sample of this part of the batch (by slot, then time) with the device's
    newest suspect time after it, and before the part: so a neighbour or the device's own smoke
    rule reads a device's state as it stood at a point of the stream, however it was cut."""

    slots: I64
    index: I64
    after: F64
    before: F64

    @classmethod
    def empty(cls) -> HotIndex:
        none = np.zeros(0, dtype=np.int64)
        return cls(none, none, np.zeros(0), np.zeros(0))

    def of(self, ring: MetricRing, slots: I64, index: I64) -> F64:
        """Each device's newest suspect time at its message ``index`` (-inf: none)."""
        found = np.full(len(slots), -np.inf)
        known = np.flatnonzero(slots < ring.row_of.shape[0])
        rows = ring.row_of[slots[known]]
        found[known[rows >= 0]] = ring.hot_t[rows[rows >= 0]]
        if len(self.slots):
            lo = np.searchsorted(self.slots, slots, side="left")
            hi = np.searchsorted(self.slots, slots, side="right")
            for j in np.flatnonzero(hi > lo):
                a, b = int(lo[j]), int(hi[j])
                k = a + int(np.searchsorted(self.index[a:b], index[j], side="right")) - 1
                found[j] = self.after[k] if k >= a else self.before[a]
        return found


class Corroboration:
    """What the heat rule asks of the rest of the stream for its early rise: whether a
    neighbour of the device was suspect within ``room_window_s`` before the sample."""

    def __init__(self, rounds: MetricRounds, ring: MetricRing, r: Round) -> None:
        self.rounds, self.ring, self.r = rounds, ring, r

    def mark(self, suspect: npt.NDArray[np.bool_]) -> None:
        """Records the suspect samples: each row's newest suspect time, after each sample."""
        r, ring = self.r, self.ring
        first = firsts(r.rows)
        position = np.arange(len(r.rows))
        head = np.maximum.accumulate(np.where(first, position, 0))
        newest = np.maximum.accumulate(np.where(suspect, position, -1))
        before = ring.hot_t[r.rows]
        after = np.where(newest >= head, r.t[np.maximum(newest, 0)], before)
        self.rounds.hot = HotIndex(r.s, r.index, after, before)
        last = np.flatnonzero(np.append(first[1:], True))
        ring.hot_t[r.rows[last]] = after[last]

    def neighbours(self, candidates: I64) -> npt.NDArray[np.bool_]:
        """Whether each candidate sample has a neighbour suspect in the window before it."""
        r, table, hot = self.r, self.rounds.table, self.rounds.hot
        window = r.cfg("room_window_s")
        helped = np.zeros(len(candidates), dtype=bool)
        for n, j in enumerate(candidates):
            others = table.neighbours(int(r.s[j]))
            if others:
                slots = np.array(others, dtype=np.int64)
                when = hot.of(self.ring, slots, np.full(len(slots), r.index[j]))
                helped[n] = bool((when >= r.t[j] - window[j]).any())
        return helped
