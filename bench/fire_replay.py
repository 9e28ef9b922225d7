"""One FSRI experiment through the engine, and through the two classic detectors it must beat,
on the same thermocouples: a fixed 57 °C element and an 8.3 °C/min rate-of-rise element.

Each experiment's four ceiling thermocouples are four detectors on one floor of one building,
replayed at their 1 Hz in batches as ingest would hand them over. What counts is the first
fire-class alert and the first alert of any class after ignition, and every alert of any class
before it (the room is quiet then: each one is a false alarm).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.devices import device_info
from alerts.engine import Engine
from alerts.signals import Change
from bench.fsri import QUADRANTS, Experiment
from contract.alarms import AlertClass
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

IGNITION = datetime(2018, 12, 19, 12, 0, tzinfo=UTC)
FIXED_C = 57.0
ROR_C_PER_MIN = 8.3
ROR_WINDOW_S = 30.0
ALERTING = frozenset({AlertClass.FIRE, AlertClass.PREALARM, AlertClass.SUPERVISORY})


@dataclass(frozen=True, slots=True)
class Outcome:
    """Seconds from ignition (None: never) and the alerts raised before it."""

    fire_s: float | None
    fire_rule: str
    any_s: float | None
    any_rule: str
    before_fire: int  # fire-class raises before ignition
    before_any: int  # raises of any class before ignition


def engine_outcome(
    exp: Experiment, *, batch: int, overrides: dict[str, Any] | None = None
) -> Outcome:
    engine = Engine()
    ids = [f"{exp.name}-{q}" for q in QUADRANTS]
    config = {"rules": overrides} if overrides else None
    engine.configure(
        device_info(
            device_id=i, kind=Kind.SMOKE, site="fsri", building="room", floor=1, config=config
        )
        for i in ids
    )
    messages: list[tuple[Decoded, datetime]] = []
    for row, t in enumerate(exp.time_s):
        ts = IGNITION + timedelta(seconds=float(t))
        for q, device_id in enumerate(ids):
            value = exp.ceiling_c[row, q]
            if np.isfinite(value):
                values = {"temperature_c": float(value)}
                message = Decoded("fsri", device_id, Channel.READING, ts, row + 1, values)
                messages.append((message, ts))
    fire: tuple[float, str] | None = None
    first: tuple[float, str] | None = None
    before_fire = before_any = 0
    for start in range(0, len(messages), batch):
        for d in engine.evaluate(messages[start : start + batch]):
            if d.change is not Change.RAISE or d.alert_class not in ALERTING:
                continue
            t = (d.at - IGNITION).total_seconds()
            is_fire = d.alert_class is AlertClass.FIRE
            if t < 0:
                before_any += 1
                before_fire += is_fire
                continue
            if first is None:
                first = (t, d.rule.value)
            if is_fire and fire is None:
                fire = (t, d.rule.value)
        engine.commit()
    return Outcome(
        fire_s=None if fire is None else fire[0],
        fire_rule="-" if fire is None else fire[1],
        any_s=None if first is None else first[0],
        any_rule="-" if first is None else first[1],
        before_fire=before_fire,
        before_any=before_any,
    )


def drifted(exp: Experiment, *, c_per_min: float) -> Experiment:
    """The experiment in a room warming steadily throughout, before ignition and after."""
    warming = c_per_min * (exp.time_s - exp.time_s[0]) / 60.0
    return replace(exp, name=f"{exp.name}+drift", ceiling_c=exp.ceiling_c + warming[:, None])


def fixed_first(exp: Experiment) -> tuple[float | None, int]:
    """The fixed element on each quadrant: the first sample at or above 57 °C."""
    hot = np.nanmax(exp.ceiling_c, axis=1) >= FIXED_C
    return _first(exp, hot)


def ror_first(exp: Experiment) -> tuple[float | None, int]:
    """The classic rate-of-rise element on each quadrant: the rise over the last 30 s."""
    rising = np.zeros(len(exp.time_s), dtype=bool)
    times = exp.time_s
    back = np.searchsorted(times, times - ROR_WINDOW_S, side="right") - 1
    has = back >= 0
    then = np.maximum(back, 0)
    for q in range(len(QUADRANTS)):
        v = exp.ceiling_c[:, q]
        span = times - times[then]
        ok = has & np.isfinite(v) & np.isfinite(v[then]) & (span > 0)
        rate = np.where(ok, (v - v[then]) / np.where(span > 0, span, 1.0) * 60.0, -np.inf)
        rising |= rate >= ROR_C_PER_MIN
    return _first(exp, rising)


def _first(exp: Experiment, alarm: npt.NDArray[np.bool_]) -> tuple[float | None, int]:
    """Time of the first alarm at or after ignition, and how many separate alarms came before."""
    before = int(np.count_nonzero(np.diff(np.r_[False, alarm[exp.time_s < 0]].astype(int)) == 1))
    after = np.flatnonzero(alarm & (exp.time_s >= 0))
    return (float(exp.time_s[after[0]]) if len(after) else None), before
