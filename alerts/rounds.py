"""Readings, judged as arrays: for each metric, one round per sample depth over every device a
batch touches (round r holds each device's r-th sample), through the metric's rules."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts import metric_rules
from alerts.device_table import METRIC_CODE, RING_METRICS, DeviceTable
from alerts.metric_rules import METRIC_RULES, RATE_METRICS, Round
from alerts.recorder import Batch, Recorder
from alerts.rings import DEPTH, LEVEL_DEPTH, MetricRing
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
        """The readings of messages ``start`` <= index < ``stop`` of the batch."""
        for metric, samples in readings.items():
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
            self.undo.save_rows(self.trend, touched_rows)
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
                self._round(
                    metric,
                    ring,
                    s=s,
                    ring_rows=rows,
                    t=t,
                    v=v,
                    arrivals=[arrivals[int(i)] for i in idx],
                    out=out,
                )

    def _round(  # noqa: C901 - one vectorised round of every metric rule; each branch is a rule's few numpy lines
        self,
        metric: str,
        ring: MetricRing,
        *,
        s: I64,
        ring_rows: I64,
        t: F64,
        v: F64,
        arrivals: list[datetime],
        out: Batch,
    ) -> None:
        config_of = self.table.config_of[s]
        config_table = self.table.config_table

        def cfg(name: str) -> F64:
            return config_table[name][config_of]

        rows = ring_rows
        base, spread = ring.base[rows].copy(), ring.spread[rows].copy()
        warm = (ring.n[rows] >= 10) & (t - ring.first_t[rows] >= cfg("anomaly_warmup_s"))
        ring.push(rows, t, v, tau_s=cfg("anomaly_tau_s"), min_sigma=cfg("anomaly_min_sigma_c"))
        devices, ids, record = self.table.devices, self.table.ids, self.recorder.record

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
            for change, found in (
                (Change.RAISE, step.raised),
                (Change.CLEAR, step.cleared),
                (Change.HOLD, step.held),
            ):
                for i in found:
                    j = int(i) if rows is None else int(rows[i])
                    facts: dict[str, Any] = {"metric": metric}
                    for key, value in detail.items():
                        item = value[i] if isinstance(value, np.ndarray) else value
                        facts[key] = (
                            round(float(item), 3) if isinstance(item, np.floating) else item
                        )
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
        metric_rules.stuck(r, self.table.stuck_metric[s] == METRIC_CODE[metric])
