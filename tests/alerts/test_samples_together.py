"""A device's consecutive samples judged together reach exactly what one sample at a time
reaches: the same edges with the same details, and the same state, bit for bit. The streams
are built to reach the corners of that: more samples per device than a ring holds, repeated
and late timestamps, and samples that both return a rule and raise it again."""

from __future__ import annotations

import random
from datetime import datetime

import numpy as np
import pytest

from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.kinds import Kind
from tests.alerts.test_rules import Batch, device, engine_with, reading

FLEET = [("S1", Kind.SMOKE), ("S2", Kind.SMOKE), ("E1", Kind.ELECTRICAL), ("E2", Kind.ELECTRICAL)]


def stream(seed: int, samples: int) -> Batch:
    """Each device's readings, jumping between levels that cross the rules' thresholds in
    both directions; a few timestamps repeat."""
    rng = random.Random(seed)
    per_device: list[Batch] = []
    for device_id, kind in FLEET:
        t, out = rng.choice([0.0, 0.5]), []
        for _ in range(samples):
            t += rng.choice([0.0, 1.0, 2.0, 5.0, 20.0, 400.0])  # 0: a repeat, which moves nothing
            if kind is Kind.SMOKE:
                values = {
                    "temperature_c": rng.choice([20.0, 21.0, 30.0, 58.0, 60.0]),
                    "obscuration_pct_per_m": rng.choice([0.0, 0.5, 1.0, 2.0, 4.0]),
                }
            else:
                values = {
                    "residual_current_ma": rng.choice([50.0, 250.0, 280.0, 320.0]),
                    "cable_temp_c": rng.choice([30.0, 60.0, 72.0, 95.0]),
                }
            out.append(reading(device_id, t, **values))
        per_device.append(out)
    merged = [pair for group in per_device for pair in group]
    rng.shuffle(merged)  # arrival order: devices interleaved, each device's own order kept
    cursors = {device_id: 0 for device_id, _ in FLEET}
    own = {group[0][0].device_id: group for group in per_device}
    ordered: Batch = []
    for message, _ in merged:
        ordered.append(own[message.device_id][cursors[message.device_id]])
        cursors[message.device_id] += 1
    return ordered


def judged(batches: list[Batch]) -> tuple[Engine, list[Decision]]:
    engine = engine_with(*(device(d, k, building=f"B-{d}") for d, k in FLEET))  # no correlation
    decisions: list[Decision] = []
    for batch in batches:
        decisions += engine.evaluate(batch)
        engine.commit()
    return engine, decisions


def edges(decisions: list[Decision]) -> list[tuple[str, str, Change, datetime, object, str]]:
    return sorted(
        (d.subject, d.rule.value, d.change, d.at, d.value, repr(d.detail))
        for d in decisions
        if d.change is not Change.HOLD
    )


@pytest.mark.parametrize("seed", range(12))
def test_a_device_s_samples_together_decide_as_one_at_a_time(seed: int) -> None:
    messages = stream(seed, samples=70)
    together, at_once = judged([messages])
    alone, one_by_one = judged([[message] for message in messages])
    assert edges(at_once) == edges(one_by_one)
    assert {d.change for d in at_once} >= {Change.RAISE, Change.CLEAR}
    slots = np.array([together.table.slot[d] for d, _ in FLEET])
    assert [alone.table.slot[d] for d, _ in FLEET] == slots.tolist()
    for metric, ring in together.rings.items():
        other = alone.rings[metric]
        seen = slots[slots < len(ring.row_of)]
        seen = seen[ring.row_of[seen] >= 0]  # rows are given in a different order
        rows, other_rows = ring.row_of[seen], other.row_of[seen]
        for name in ("t", "v", "n", "last_t", "first_t", "base", "spread", "changed_at"):
            mine, theirs = getattr(ring, name)[rows], getattr(other, name)[other_rows]
            assert np.array_equal(mine, theirs, equal_nan=True), (metric, name)
        for key, track in together.tracks.items():
            if key[0] == metric:
                other_track = alone.tracks[key]
                assert np.array_equal(track.active[rows], other_track.active[other_rows]), key
                assert np.array_equal(
                    track.since[rows], other_track.since[other_rows], equal_nan=True
                ), key


def test_a_rolled_back_batch_of_many_samples_leaves_nothing_behind() -> None:
    messages = stream(99, samples=40)
    first, second = messages[:80], messages[80:]
    engine, before = judged([first])
    _, expected = judged([first, second])
    engine.evaluate(second)
    engine.rollback()
    assert edges(engine.evaluate(second)) == edges(expected[len(before) :])
