"""Detection delay on real fires: the engine against a fixed 57 °C heat detector and an
8.3 °C/min rate-of-rise detector, computed in the same run on the same data.

Each FSRI experiment's four ceiling thermocouples become four detectors in one room, replayed
at their 1 Hz through the engine in batches (as ingest would hand them over). For each, the
seconds from ignition to the first fire or pre-alarm, and the number of alerts before ignition.

    python -m bench.detection [--batch 20]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from alerts.devices import device_info
from alerts.engine import Engine
from alerts.signals import Change
from bench.fsri import QUADRANTS, Experiment, experiments
from bench.results import Figure, record
from contract.alarms import AlertClass
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

IGNITION = datetime(2018, 12, 19, 12, 0, tzinfo=UTC)
FIXED_C = 57.0
ROR_C_PER_MIN = 8.3
ROR_WINDOW_S = 30.0
ALERTING = {AlertClass.FIRE, AlertClass.PREALARM}


def engine_first(exp: Experiment, *, batch: int) -> tuple[float | None, str, int]:
    """(seconds to first alert, its rule, alerts before ignition)."""
    engine = Engine()
    ids = [f"{exp.name}-{q}" for q in QUADRANTS]
    engine.configure(
        device_info(device_id=i, kind=Kind.SMOKE, site="fsri", building="room") for i in ids
    )
    messages: list[tuple[Decoded, datetime]] = []
    for row, t in enumerate(exp.time_s):
        ts = IGNITION + timedelta(seconds=float(t))
        for q, device_id in enumerate(ids):
            value = exp.ceiling_c[row, q]
            if np.isfinite(value):
                messages.append(
                    (
                        Decoded(
                            "fsri",
                            device_id,
                            Channel.READING,
                            ts,
                            row + 1,
                            {"temperature_c": float(value)},
                        ),
                        ts,
                    )
                )
    first: float | None = None
    rule = "-"
    before = 0
    for start in range(0, len(messages), batch):
        for d in engine.evaluate(messages[start : start + batch]):
            if d.change is not Change.RAISE or d.alert_class not in ALERTING:
                continue
            t = (d.at - IGNITION).total_seconds()
            if t < 0:
                before += 1
            elif first is None:
                first, rule = t, d.rule.value
        engine.commit()
    return first, rule, before


def fixed_first(exp: Experiment) -> tuple[float | None, int]:
    hot = np.nanmax(exp.ceiling_c, axis=1) >= FIXED_C
    return _first(exp, hot)


def ror_first(exp: Experiment) -> tuple[float | None, int]:
    """The classic rate-of-rise element: the rise over the last 30 s, per quadrant."""
    rising = np.zeros(len(exp.time_s), dtype=bool)
    for q in range(len(QUADRANTS)):
        v = exp.ceiling_c[:, q]
        for i, t in enumerate(exp.time_s):
            j = np.searchsorted(exp.time_s, t - ROR_WINDOW_S, side="right") - 1
            if j >= 0 and np.isfinite(v[i]) and np.isfinite(v[j]) and exp.time_s[i] > exp.time_s[j]:
                rate = (v[i] - v[j]) / (exp.time_s[i] - exp.time_s[j]) * 60
                rising[i] |= rate >= ROR_C_PER_MIN
    return _first(exp, rising)


def _first(exp: Experiment, alarm: np.ndarray) -> tuple[float | None, int]:
    """Time of the first alarm at or after ignition, and how many separate alarms came before."""
    before = int(np.count_nonzero(np.diff(np.r_[False, alarm[exp.time_s < 0]].astype(int)) == 1))
    after = np.flatnonzero(alarm & (exp.time_s >= 0))
    return (float(exp.time_s[after[0]]) if len(after) else None), before


def _fmt(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=20, help="messages per engine batch")
    args = parser.parse_args(argv)
    rows = []
    started = time.perf_counter()
    print(
        f"{'experiment':28} {'engine':>7} {'rule':14} {'fixed57':>7} {'ror8.3':>7} "
        f"{'ratio':>6} {'pre-ignition e/f/r':>19}",
        flush=True,
    )
    for exp in experiments():
        engine_t, rule, engine_before = engine_first(exp, batch=args.batch)
        fixed_t, fixed_before = fixed_first(exp)
        ror_t, ror_before = ror_first(exp)
        ratio = engine_t / fixed_t if engine_t is not None and fixed_t else None
        rows.append((exp, engine_t, fixed_t, ror_t, engine_before, ratio))
        print(
            f"{exp.name:28} {_fmt(engine_t):>7} {rule:14} {_fmt(fixed_t):>7} {_fmt(ror_t):>7} "
            f"{'-' if ratio is None else f'{ratio:.2f}':>6} "
            f"{engine_before:>7}/{fixed_before}/{ror_before}",
            flush=True,
        )
    slow = [r for r in rows if r[0].slow]
    engine_med = statistics.median(r[1] if r[1] is not None else np.inf for r in slow)
    fixed_med = statistics.median(r[2] if r[2] is not None else np.inf for r in slow)
    ror_med = statistics.median(r[3] if r[3] is not None else np.inf for r in slow)
    before_total = sum(r[4] for r in rows)
    missed = sum(1 for r in rows if r[1] is None)
    print(
        f"\nslow chair fires (RedAccent, n={len(slow)}): median engine {engine_med:.0f} s, "
        f"fixed 57 °C {fixed_med:.0f} s, rate of rise {ror_med:.0f} s; "
        f"engine/fixed = {engine_med / fixed_med:.2f} (target <= 0.50)"
    )
    print(
        f"all {len(rows)} experiments: engine alerts before ignition = {before_total} "
        f"(target 0); fires never alerted = {missed}; {time.perf_counter() - started:.1f} s"
    )
    ok = engine_med <= 0.5 * fixed_med and before_total == 0 and missed == 0
    print("targets met" if ok else "TARGETS NOT MET")
    record(
        "detection",
        [
            Figure(
                name="slow chair fires: median seconds to first alert",
                value=engine_med,
                unit="s",
                target="<= 0.50 of fixed 57 °C",
                met=engine_med <= 0.5 * fixed_med,
                baseline="fixed 57 °C",
                ratio=engine_med / fixed_med,
            ),
            Figure(
                name="alerts before ignition, all experiments",
                value=before_total,
                unit="alerts",
                target="0",
                met=before_total == 0,
            ),
            Figure(
                name="fires never alerted",
                value=missed,
                unit="experiments",
                target="0",
                met=missed == 0,
            ),
        ],
        note=f"UL FSRI 2018, {len(rows)} experiments, {len(slow)} slow chair fires",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
