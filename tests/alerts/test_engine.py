"""The minimal engine: decoded messages and kinds in, one decision per device and rule out."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.engine import HEAT_PREALARM_C, AlertClass, Raise, evaluate
from alerts.kinds import Kind
from ingest.messages import Decoded
from ingest.topics import Channel

T0 = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
KINDS = {
    "SMK-1": Kind.SMOKE,
    "SMK-2": Kind.SMOKE,
    "ELE-1": Kind.ELECTRICAL,
    "CAM-1": Kind.THERMAL_CAMERA,
}


def event(device: str, event_type: str, ts: datetime, seq: int = 1) -> Decoded:
    return Decoded("zilai", device, Channel.EVENT, ts, seq, event_type=event_type)


def reading(device: str, ts: datetime, seq: int = 1, **values: float) -> Decoded:
    return Decoded("zilai", device, Channel.READING, ts, seq, values=dict(values))


def received(message: Decoded) -> datetime:
    """A server clock a little behind the device clock, different for every message."""
    return message.ts + timedelta(milliseconds=150 + message.seq)


def run(*messages: Decoded, kinds: dict[str, Kind] = KINDS) -> list[Raise]:
    return evaluate([(m, received(m)) for m in messages], kinds)


def test_smoke_alarm_event_raises_one_fire_alert():
    message = event("SMK-1", "alarm", T0)
    [decision] = run(message)
    assert decision.device_id == "SMK-1"
    assert decision.rule == "smoke_alarm"
    assert decision.alert_class is AlertClass.FIRE
    assert (decision.at, decision.last_at, decision.count) == (T0, T0, 1)
    assert decision.received_at == received(message)
    assert decision.detail == {"event": "alarm"}


def test_temperature_at_threshold_is_a_heat_prealarm():
    [decision] = run(reading("SMK-1", T0, temperature_c=57.0))
    assert (decision.rule, decision.alert_class) == ("heat_fixed", AlertClass.PREALARM)
    assert decision.detail == {"temperature_c": 57.0, "threshold_c": HEAT_PREALARM_C}
    assert HEAT_PREALARM_C == 57.0


def test_temperature_above_threshold_is_a_heat_prealarm():
    [decision] = run(reading("SMK-1", T0, temperature_c=81.5, obscuration_pct_per_m=0.4))
    assert decision.rule == "heat_fixed"
    assert decision.detail["temperature_c"] == 81.5


def test_temperature_below_threshold_raises_nothing():
    assert run(reading("SMK-1", T0, temperature_c=56.9)) == []
    assert run(reading("SMK-1", T0, temperature_c=-40.0)) == []


def test_other_metrics_do_not_trigger_heat():
    assert run(reading("ELE-1", T0, cable_temp_c=90.0, residual_current_ma=800.0)) == []
    assert run(reading("CAM-1", T0, max_temp_c=300.0, frame_max_temp_c=300.0)) == []


def test_repeats_collapse_into_one_raise_with_count_and_time_span():
    times = [T0 + timedelta(seconds=s) for s in (20, 5, 40, 10)]
    messages = [event("SMK-1", "alarm", ts, seq=i) for i, ts in enumerate(times)]
    [decision] = run(*messages)
    assert decision.count == 4
    assert decision.at == T0 + timedelta(seconds=5)
    assert decision.last_at == T0 + timedelta(seconds=40)
    # received_at belongs to the earliest message, not to the first one processed.
    assert decision.received_at == received(messages[1])


def test_repeated_heat_keeps_the_detail_of_the_earliest_reading():
    late = reading("SMK-1", T0 + timedelta(seconds=30), seq=2, temperature_c=70.0)
    early = reading("SMK-1", T0, seq=1, temperature_c=60.0)
    [decision] = run(late, early)
    assert decision.count == 2
    assert (decision.at, decision.last_at) == (T0, T0 + timedelta(seconds=30))
    assert decision.detail["temperature_c"] == 60.0


def test_one_decision_per_device_and_rule():
    decisions = run(
        event("SMK-1", "alarm", T0),
        event("SMK-2", "alarm", T0 + timedelta(seconds=1)),
        reading("SMK-1", T0 + timedelta(seconds=2), temperature_c=60.0),
        event("SMK-1", "alarm", T0 + timedelta(seconds=3)),
    )
    counts = {(d.device_id, d.rule): d.count for d in decisions}
    assert counts == {("SMK-1", "smoke_alarm"): 2, ("SMK-2", "smoke_alarm"): 1,
                      ("SMK-1", "heat_fixed"): 1}  # fmt: skip


def test_electrical_alarm_does_not_raise_smoke_alarm():
    assert run(event("ELE-1", "alarm", T0)) == []


def test_unregistered_device_alarm_raises_nothing():
    assert run(event("GHOST-1", "alarm", T0)) == []


def test_other_smoke_events_raise_nothing():
    messages = [
        event("SMK-1", t, T0) for t in ("alarm_cleared", "test", "tamper", "fault", "button")
    ]
    assert run(*messages) == []


def test_empty_batch():
    assert evaluate([], KINDS) == []


# --------------------------------------------------------------------------- property


@st.composite
def triggering(draw: st.DrawFn) -> Decoded:
    """A message that may or may not trigger a rule, from a small set of devices and times."""
    device = draw(st.sampled_from([*sorted(KINDS), "GHOST-1"]))
    ts = T0 + timedelta(seconds=draw(st.integers(0, 600)))
    seq = draw(st.integers(0, 10_000))
    if draw(st.booleans()):
        return event(device, draw(st.sampled_from(["alarm", "alarm_cleared", "test"])), ts, seq)
    values: dict[str, Any] = {"temperature_c": draw(st.floats(50.0, 65.0))}
    return reading(device, ts, seq, **values)


def _summary(decisions: list[Raise]) -> dict[tuple[str, str], tuple[int, datetime, datetime]]:
    return {(d.device_id, d.rule): (d.count, d.at, d.last_at) for d in decisions}


@settings(max_examples=300, deadline=None, database=None)
@given(messages=st.lists(triggering(), max_size=30), batch=st.data())
def test_splitting_into_two_batches_preserves_counts_and_earliest_time(messages, batch):
    in_first = batch.draw(st.lists(st.booleans(), min_size=len(messages), max_size=len(messages)))
    first = [m for m, f in zip(messages, in_first, strict=True) if f]
    second = [m for m, f in zip(messages, in_first, strict=True) if not f]

    whole = _summary(run(*messages))
    totals: dict[tuple[str, str], list[Any]] = defaultdict(lambda: [0, None, None])
    for part in (first, second):
        for key, (count, at, last_at) in _summary(run(*part)).items():
            total = totals[key]
            total[0] += count
            total[1] = at if total[1] is None else min(total[1], at)
            total[2] = last_at if total[2] is None else max(total[2], last_at)
    assert {key: tuple(v) for key, v in totals.items()} == whole

    # And against an oracle: the count is the number of messages that meet the rule.
    expected: dict[tuple[str, str], int] = defaultdict(int)
    for m in messages:
        if KINDS.get(m.device_id) is Kind.SMOKE and m.event_type == "alarm":
            expected[(m.device_id, "smoke_alarm")] += 1
        if m.values.get("temperature_c", 0.0) >= HEAT_PREALARM_C:
            expected[(m.device_id, "heat_fixed")] += 1
    assert {key: v[0] for key, v in whole.items()} == dict(expected)
