"""Properties of the rules engine on generated streams: quiet readings stay quiet, batch
boundaries do not matter, higher thresholds never make an alert more active, and non-finite
numbers never reach the engine."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from contract.codec import Limits, decode
from contract.kinds import Kind
from contract.messages import Decoded, Reason, Rejection
from tests.alerts.test_rules import Batch, device, engine_with, reading, run, ts

FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
Edge = tuple[str, Rule, Change, datetime]


def edges_of(decisions: Sequence[Decision]) -> list[Edge]:
    return [
        (d.subject, d.rule, d.change, d.at)
        for d in decisions
        if d.change in (Change.RAISE, Change.CLEAR)
    ]


# -- quiet readings ------------------------------------------------------------------------

noise = st.floats(-0.2, 0.2)


@st.composite
def quiet_batch(draw: st.DrawFn) -> Batch:
    """A smoke detector and an electrical monitor at steady, normal levels with small noise."""
    n = draw(st.integers(5, 60))
    step = draw(st.sampled_from([1.0, 10.0, 60.0]))
    room = draw(st.floats(15.0, 35.0))
    smoke = draw(st.floats(0.0, 0.75))
    leak = draw(st.floats(0.0, 249.0))
    cable = draw(st.floats(20.0, 59.5))
    out: Batch = []
    for i in range(n):
        t = i * step
        out.append(
            reading(
                "S1",
                t,
                temperature_c=room + draw(noise),
                obscuration_pct_per_m=max(0.0, smoke + draw(noise)),
            )
        )
        out.append(
            reading(
                "E1",
                t + 0.5,
                residual_current_ma=min(249.9, max(0.0, leak + draw(noise))),
                cable_temp_c=min(59.9, cable + draw(noise)),
            )
        )
    return out


@FAST
@given(batch=quiet_batch())
def test_normal_readings_never_raise_a_fire_or_prealarm(batch: Batch) -> None:
    engine = engine_with(device("S1"), device("E1", Kind.ELECTRICAL))
    decisions = run(engine, batch)
    loud = [
        d
        for d in decisions
        if d.change is Change.RAISE and d.alert_class in (AlertClass.FIRE, AlertClass.PREALARM)
    ]
    assert loud == []


# -- batch boundaries ----------------------------------------------------------------------

DEVICES = [("S1", Kind.SMOKE), ("S2", Kind.SMOKE), ("E1", Kind.ELECTRICAL)]
LEVELS: dict[str, list[float]] = {
    "temperature_c": [20.0, 21.0, 58.0, 60.0],
    "obscuration_pct_per_m": [0.0, 0.5, 2.0, 4.0],
    "residual_current_ma": [50.0, 250.0, 320.0],
    "cable_temp_c": [30.0, 72.0, 95.0],
}
METRICS = {
    Kind.SMOKE: ("temperature_c", "obscuration_pct_per_m"),
    Kind.ELECTRICAL: ("residual_current_ma", "cable_temp_c"),
}


@st.composite
def interleaved(draw: st.DrawFn, *, one_building: bool) -> tuple[list[str], Batch]:
    """Each device's readings in its own time order, devices interleaved in arrival order."""
    buildings: list[str] = []
    per_device: dict[str, list[tuple[Any, datetime]]] = {}
    for device_id, kind in DEVICES:
        buildings.append("B1" if one_building else f"B-{device_id}")
        n = draw(st.integers(0, 25))
        gaps = draw(st.lists(st.sampled_from([1.0, 2.0, 5.0, 30.0]), min_size=n, max_size=n))
        t, stream = draw(st.sampled_from([0.0, 0.25, 0.5])), []
        for gap in gaps:
            t += gap
            values = {m: draw(st.sampled_from(LEVELS[m])) for m in METRICS[kind]}
            stream.append(reading(device_id, t, **values))
        per_device[device_id] = stream
    order = draw(st.permutations([d for d, stream in per_device.items() for _ in stream]))
    cursors = dict.fromkeys(per_device, 0)
    merged: Batch = []
    for device_id in order:
        merged.append(per_device[device_id][cursors[device_id]])
        cursors[device_id] += 1
    return buildings, merged


def engine_for(buildings: list[str]) -> Engine:
    return engine_with(
        *(device(d, kind, building=b) for (d, kind), b in zip(DEVICES, buildings, strict=True))
    )


def split_edges(buildings: list[str], batch: Batch, cuts: list[int]) -> list[Edge]:
    engine = engine_for(buildings)
    out: list[Edge] = []
    bounds = [0, *sorted(set(cuts)), len(batch)]
    for start, end in itertools.pairwise(bounds):
        if end > start:
            out.extend(edges_of(run(engine, batch[start:end])))
    return out


def per_rule(found: list[Edge]) -> dict[tuple[str, Rule], list[tuple[Change, datetime]]]:
    grouped: dict[tuple[str, Rule], list[tuple[Change, datetime]]] = defaultdict(list)
    for subject, rule, change, at in found:
        grouped[(subject, rule)].append((change, at))
    return dict(grouped)


@FAST
@given(data=st.data())
def test_batch_boundaries_do_not_change_device_edges(data: st.DataObject) -> None:
    buildings, batch = data.draw(interleaved(one_building=False))
    cuts = data.draw(st.lists(st.integers(0, len(batch)), max_size=6))
    whole = split_edges(buildings, batch, [])
    split = split_edges(buildings, batch, cuts)
    assert per_rule(split) == per_rule(whole)
    assert sorted(split) == sorted(whole)


# -- thresholds ----------------------------------------------------------------------------


def active_at(found: list[Edge], rule: Rule, when: datetime) -> bool:
    """Whether the rule's alert is active at ``when`` (edges at that instant included)."""
    state = False
    for _, r, change, at in sorted(found, key=lambda e: e[3]):
        if r is rule and at <= when:
            state = change is Change.RAISE
    return state


@FAST
@given(
    temps=st.lists(st.sampled_from([20.0, 54.0, 56.0, 57.0, 59.0, 62.0, 70.0]), max_size=40),
    leaks=st.lists(st.sampled_from([100.0, 280.0, 300.0, 350.0, 420.0, 480.0]), max_size=40),
    fixed=st.floats(57.0, 120.0),
    leakage=st.floats(300.0, 500.0),
)
def test_a_higher_threshold_never_makes_an_alert_more_active(
    temps: list[float], leaks: list[float], fixed: float, leakage: float
) -> None:
    batch = [reading("S1", i, temperature_c=v) for i, v in enumerate(temps)]
    batch += [reading("E1", i, residual_current_ma=v) for i, v in enumerate(leaks)]

    def evaluate(fixed_c: float | None, leakage_ma: float | None) -> list[Edge]:
        smoke = {"rules": {"fixed_c": fixed_c}} if fixed_c is not None else None
        power = {"rules": {"leakage_ma": leakage_ma}} if leakage_ma is not None else None
        engine = engine_with(
            device("S1", config=smoke), device("E1", Kind.ELECTRICAL, config=power)
        )
        return edges_of(run(engine, batch))

    low, high = evaluate(None, None), evaluate(fixed, leakage)
    for rule in (Rule.HEAT_FIXED, Rule.LEAKAGE):
        for _, r, change, at in high:
            if r is rule and change is Change.RAISE:
                assert active_at(low, rule, at), (rule, at)
        first_low = [e[3] for e in low if e[1] is rule and e[2] is Change.RAISE]
        first_high = [e[3] for e in high if e[1] is rule and e[2] is Change.RAISE]
        if first_high:
            assert first_low and first_low[0] <= first_high[0]


def test_hysteresis_can_give_a_higher_threshold_more_raise_edges() -> None:
    """Why the property above is about activity, not edge counts: with fixed_c 57 a dip to
    55.5 stays inside the 2 °C hysteresis, with 57.6 it returns and raises again."""
    temps = [60.0, 55.5, 60.0]

    def raises(fixed: float) -> int:
        engine = engine_with(device("S1", config={"rules": {"fixed_c": fixed}}))
        batch = [reading("S1", i, temperature_c=v) for i, v in enumerate(temps)]
        return sum(
            1 for d in run(engine, batch) if d.rule is Rule.HEAT_FIXED and d.change is Change.RAISE
        )

    assert (raises(57.0), raises(57.6)) == (1, 2)


# -- non-finite numbers --------------------------------------------------------------------

NOW = datetime(2026, 1, 1, tzinfo=UTC)
STAMP = "2026-01-01T00:00:00Z"


@FAST
@given(
    metric=st.sampled_from(
        ["temperature_c", "obscuration_pct_per_m", "residual_current_ma", "cable_temp_c"]
    ),
    literal=st.sampled_from(["1e999", "-1e999", "NaN", "Infinity", "-Infinity", "nan"]),
)
def test_non_finite_readings_are_rejected_by_the_codec(metric: str, literal: str) -> None:
    payload = f'{{"ts": "{STAMP}", "seq": 1, "values": {{"{metric}": {literal}}}}}'.encode()
    result = decode("fw/v1/s/S1/reading", payload, now=NOW, limits=Limits())
    assert isinstance(result, Rejection)
    assert result.reason in (Reason.MALFORMED, Reason.OUT_OF_RANGE)
    assert result.device_id == "S1"


@pytest.mark.parametrize("literal", ["1e999", "NaN"])
def test_non_finite_battery_is_rejected_by_the_codec(literal: str) -> None:
    payload = f'{{"ts": "{STAMP}", "seq": 1, "battery_pct": {literal}}}'.encode()
    result = decode("fw/v1/s/S1/status", payload, now=NOW, limits=Limits())
    assert isinstance(result, Rejection)


def test_a_finite_reading_of_the_same_shape_is_accepted() -> None:
    payload = f'{{"ts": "{STAMP}", "seq": 1, "values": {{"temperature_c": 1e2}}}}'.encode()
    result = decode("fw/v1/s/S1/reading", payload, now=NOW, limits=Limits())
    assert isinstance(result, Decoded)
    assert result.values == {"temperature_c": 100.0}
    assert result.ts == ts(0)
