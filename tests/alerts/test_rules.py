"""The rules engine on synthetic device streams: thresholds, dwell times, suppression,
correlation, chattering, timers and transactions. Pure: no database, no broker."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from alerts.config import ConfigError, rule_config
from alerts.devices import DeviceInfo, device_info
from alerts.engine import Engine
from alerts.incidents import joins_incidents
from alerts.metric_rules import RATE_METRICS
from alerts.rings import DEPTH
from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SITE = "s"
Batch = list[tuple[Decoded, datetime]]


def ts(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def device(
    device_id: str,
    kind: Kind = Kind.SMOKE,
    *,
    building: str | None = "B1",
    status: str = "active",
    heartbeat_s: int = 0,
    config: dict[str, Any] | None = None,
) -> DeviceInfo:
    return device_info(
        device_id=device_id,
        kind=kind,
        site=SITE,
        building=building,
        status=status,
        heartbeat_s=heartbeat_s,
        config=config,
    )


def engine_with(*devices: DeviceInfo) -> Engine:
    engine = Engine()
    engine.configure(devices)
    return engine


_seq = iter(range(1, 10**9))


def reading(device_id: str, t: float, **values: float) -> tuple[Decoded, datetime]:
    at = ts(t)
    return Decoded(SITE, device_id, Channel.READING, at, next(_seq), values=dict(values)), at


def event(device_id: str, t: float, event_type: str) -> tuple[Decoded, datetime]:
    at = ts(t)
    return Decoded(SITE, device_id, Channel.EVENT, at, next(_seq), event_type=event_type), at


def status(device_id: str, t: float, battery_pct: float) -> tuple[Decoded, datetime]:
    at = ts(t)
    message = Decoded(
        SITE, device_id, Channel.STATUS, at, next(_seq), values={"battery_pct": battery_pct}
    )
    return message, at


def series(device_id: str, metric: str, points: Iterable[tuple[float, float]]) -> Batch:
    return [reading(device_id, t, **{metric: v}) for t, v in points]


def run(engine: Engine, messages: Sequence[tuple[Decoded, datetime]]) -> list[Decision]:
    decisions = engine.evaluate(messages)
    engine.commit()
    return decisions


def edges(
    decisions: Iterable[Decision], rule: Rule, change: Change = Change.RAISE
) -> list[Decision]:
    return [d for d in decisions if d.rule is rule and d.change is change]


def raised(decisions: Iterable[Decision]) -> set[Rule]:
    return {d.rule for d in decisions if d.change is Change.RAISE}


# -- smoke ---------------------------------------------------------------------------------


def test_smoke_alarm_event_raises_fire_repeats_and_clears() -> None:
    engine = engine_with(device("S1"))
    first = run(engine, [event("S1", 0, "alarm")])
    assert [(d.rule, d.alert_class, d.change) for d in first] == [
        (Rule.SMOKE_ALARM, AlertClass.FIRE, Change.RAISE)
    ]
    again = run(engine, [event("S1", 5, "alarm")])
    assert [(d.rule, d.change) for d in again] == [(Rule.SMOKE_ALARM, Change.REPEAT)]
    cleared = run(engine, [event("S1", 10, "alarm_cleared")])
    assert [(d.rule, d.change, d.at) for d in cleared] == [(Rule.SMOKE_ALARM, Change.CLEAR, ts(10))]


def test_alarm_cleared_without_an_alarm_says_nothing() -> None:
    engine = engine_with(device("S1"))
    assert run(engine, [event("S1", 0, "alarm_cleared")]) == []


@pytest.mark.parametrize(("value", "expected"), [(1.49, False), (1.5, True)])
def test_obscuration_prealarm_threshold(value: float, expected: bool) -> None:
    engine = engine_with(device("S1"))
    decisions = run(engine, series("S1", "obscuration_pct_per_m", [(t, value) for t in range(5)]))
    found = edges(decisions, Rule.SMOKE_PREALARM)
    assert bool(found) is expected
    if expected:
        assert found[0].alert_class is AlertClass.PREALARM
    assert not edges(decisions, Rule.SMOKE_OBSCURATION)


def test_obscuration_alarm_needs_twenty_seconds_of_dwell() -> None:
    engine = engine_with(device("S1"))
    stream = series("S1", "obscuration_pct_per_m", [(t, 3.0) for t in range(0, 30)])
    before = run(engine, stream[:20])  # 0..19 s: held for 19 s
    assert not edges(before, Rule.SMOKE_OBSCURATION)
    assert edges(before, Rule.SMOKE_PREALARM)
    after = run(engine, stream[20:])
    fire = edges(after, Rule.SMOKE_OBSCURATION)
    assert [(d.alert_class, d.at) for d in fire] == [(AlertClass.FIRE, ts(20))]


def test_obscuration_just_below_alarm_never_fires() -> None:
    engine = engine_with(device("S1"))
    decisions = run(engine, series("S1", "obscuration_pct_per_m", [(t, 2.99) for t in range(60)]))
    assert not edges(decisions, Rule.SMOKE_OBSCURATION)


# -- heat ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("peak", "expected"), [(56.9, False), (57.0, True)])
def test_heat_fixed_threshold(peak: float, expected: bool) -> None:
    engine = engine_with(device("S1"))
    points = [(float(t), 20.0) for t in range(10)] + [(10.0, peak)]
    decisions = run(engine, series("S1", "temperature_c", points))
    found = edges(decisions, Rule.HEAT_FIXED)
    assert bool(found) is expected
    if expected:
        assert (found[0].alert_class, found[0].at, found[0].value) == (
            AlertClass.FIRE,
            ts(10),
            57.0,
        )


def test_heat_rate_of_rise_after_flat_baseline() -> None:
    engine = engine_with(device("S1"))
    flat = [(float(t), 20.0) for t in range(120)]
    ramp = [(120.0 + t, 20.0 + 10.0 * t / 60.0) for t in range(1, 121)]  # 10 °C/min, to 40 °C
    decisions = run(engine, series("S1", "temperature_c", flat + ramp))
    ror = edges(decisions, Rule.HEAT_ROR)
    assert len(ror) == 1
    assert ror[0].alert_class is AlertClass.FIRE
    assert ts(120) < ror[0].at <= ts(180)
    assert not edges(decisions, Rule.HEAT_FIXED)


def noisy(
    points: Iterable[tuple[float, float]], sd: float, seed: int = 1
) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [(t, v + float(rng.normal(0.0, sd))) for t, v in points]


def test_heat_anomaly_on_a_sustained_step_after_a_noisy_baseline() -> None:
    engine = engine_with(device("S1"))
    baseline = noisy(((float(t), 22.0) for t in range(300)), 0.1)
    step = noisy(((300.0 + t, 25.0) for t in range(60)), 0.1, seed=2)
    decisions = run(engine, series("S1", "temperature_c", baseline + step))
    assert not [d for d in decisions if d.at < ts(300) and d.change is Change.RAISE]
    anomaly = edges(decisions, Rule.HEAT_ANOMALY)
    assert len(anomaly) == 1
    assert anomaly[0].alert_class is AlertClass.PREALARM
    assert ts(300) < anomaly[0].at <= ts(320)
    assert raised(decisions) == {Rule.HEAT_ANOMALY}


def test_slow_daily_swing_raises_nothing() -> None:
    engine = engine_with(device("S1"))
    six_hours = 6 * 3600.0
    swing = (
        (float(t), 18.0 + 4.0 * (1.0 - math.cos(math.pi * t / six_hours)))
        for t in range(0, int(six_hours) + 1, 60)
    )
    decisions = run(engine, series("S1", "temperature_c", noisy(swing, 0.05)))
    assert raised(decisions) == set()


def test_single_sample_spikes_raise_nothing() -> None:
    engine = engine_with(device("S1"))
    points = noisy(((float(t), 22.0) for t in range(600)), 0.1)
    spiked = [(t, v + 5.0) if int(t) >= 300 and int(t) % 30 == 0 else (t, v) for t, v in points]
    decisions = run(engine, series("S1", "temperature_c", spiked))
    assert raised(decisions) == set()


# -- electrical ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "value", "expected"),
    [
        (None, 299.0, False),
        (None, 300.0, True),
        ({"rules": {"leakage_ma": 400}}, 399.0, False),
        ({"rules": {"leakage_ma": 400}}, 400.0, True),
    ],
)
def test_leakage_threshold_and_override(
    overrides: dict[str, Any] | None, value: float, expected: bool
) -> None:
    engine = engine_with(device("E1", Kind.ELECTRICAL, config=overrides))
    decisions = run(engine, series("E1", "residual_current_ma", [(t, value) for t in range(5)]))
    found = edges(decisions, Rule.LEAKAGE)
    assert bool(found) is expected
    if expected:
        assert found[0].alert_class is AlertClass.PREALARM


def test_leakage_trend_warns_before_the_threshold() -> None:
    engine = engine_with(device("E1", Kind.ELECTRICAL))
    # 40 mA/h from 20 mA: crosses 300 mA at 7 h.
    ramp = [(float(t), 20.0 + 40.0 * t / 3600.0) for t in range(0, 8 * 3600, 10)]
    decisions = run(engine, series("E1", "residual_current_ma", ramp))
    trend = edges(decisions, Rule.LEAKAGE_TREND)
    leakage = edges(decisions, Rule.LEAKAGE)
    assert len(trend) == 1 and len(leakage) == 1
    assert trend[0].alert_class is AlertClass.PREALARM
    assert trend[0].at < leakage[0].at
    assert trend[0].at <= ts(6 * 3600)
    assert trend[0].detail["slope_ma_per_h"] == pytest.approx(40.0, rel=0.1)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(69.9, set()), (70.0, {Rule.CABLE_TEMP}), (90.0, {Rule.CABLE_TEMP, Rule.CABLE_FIRE})],
)
def test_cable_temperature_thresholds(value: float, expected: set[Rule]) -> None:
    engine = engine_with(device("E1", Kind.ELECTRICAL))
    decisions = run(engine, series("E1", "cable_temp_c", [(t, value) for t in range(5)]))
    assert raised(decisions) == expected
    classes = {d.rule: d.alert_class for d in decisions if d.change is Change.RAISE}
    if Rule.CABLE_TEMP in expected:
        assert classes[Rule.CABLE_TEMP] is AlertClass.PREALARM
    if Rule.CABLE_FIRE in expected:
        assert classes[Rule.CABLE_FIRE] is AlertClass.FIRE


# -- health --------------------------------------------------------------------------------


def test_low_battery_raises_at_threshold_and_clears_above_hysteresis() -> None:
    engine = engine_with(device("S1"))
    assert run(engine, [status("S1", 0, 21.0)]) == []
    low = run(engine, [status("S1", 10, 20.0)])
    assert [(d.rule, d.alert_class, d.change) for d in low] == [
        (Rule.LOW_BATTERY, AlertClass.TROUBLE, Change.RAISE)
    ]
    still = run(engine, [status("S1", 20, 24.9)])
    assert [d.change for d in still] == [Change.REPEAT]
    cleared = run(engine, [status("S1", 30, 25.1)])
    assert [(d.rule, d.change) for d in cleared] == [(Rule.LOW_BATTERY, Change.CLEAR)]


def test_fault_and_fault_cleared() -> None:
    engine = engine_with(device("S1"))
    fault = run(engine, [event("S1", 0, "fault")])
    assert [(d.rule, d.alert_class, d.change) for d in fault] == [
        (Rule.FAULT, AlertClass.TROUBLE, Change.RAISE)
    ]
    cleared = run(engine, [event("S1", 5, "fault_cleared")])
    assert [(d.rule, d.change) for d in cleared] == [(Rule.FAULT, Change.CLEAR)]


def test_tamper_is_supervisory() -> None:
    engine = engine_with(device("S1"))
    decisions = run(engine, [event("S1", 0, "tamper")])
    assert [(d.rule, d.alert_class, d.change) for d in decisions] == [
        (Rule.TAMPER, AlertClass.SUPERVISORY, Change.RAISE)
    ]


# -- suppression ---------------------------------------------------------------------------


def test_maintenance_device_decisions_are_suppressed() -> None:
    engine = engine_with(device("S1", status="maintenance"))
    decisions = run(engine, [event("S1", 0, "alarm")])
    assert [(d.rule, d.change, d.suppressed) for d in decisions] == [
        (Rule.SMOKE_ALARM, Change.RAISE, "maintenance")
    ]


def test_maintenance_alarms_never_reach_an_incident() -> None:
    engine = engine_with(device("S1", status="maintenance"), device("S2", status="maintenance"))
    decisions = run(engine, [event("S1", 0, "alarm"), event("S2", 10, "alarm")])
    assert [d.suppressed for d in decisions] == ["maintenance", "maintenance"]
    assert not any(
        joins_incidents(subject=d.subject, alert_class=d.alert_class, suppressed=d.suppressed)
        for d in decisions
    )


def test_a_cameras_decisions_carry_the_buildings_it_covers() -> None:
    camera = device("C1", Kind.THERMAL_CAMERA, building=None, config={"covers": ["B1", "B2"]})
    engine = engine_with(camera)
    [fire] = run(engine, [event("C1", 0, "fire_detected")])
    assert (fire.rule, fire.covers) == (Rule.CAMERA_FIRE, ("B1", "B2"))


def test_test_event_suppresses_alarms_for_its_window() -> None:
    engine = engine_with(device("S1"))
    run(engine, [event("S1", 0, "test")])
    during = run(engine, [event("S1", 600, "alarm")])
    assert [(d.rule, d.change, d.suppressed) for d in during] == [
        (Rule.SMOKE_ALARM, Change.RAISE, "test")
    ]
    run(engine, [event("S1", 605, "alarm_cleared")])
    after = run(engine, [event("S1", 601 + 60, "alarm")])
    assert [(d.rule, d.change, d.suppressed) for d in after] == [
        (Rule.SMOKE_ALARM, Change.RAISE, None)
    ]


# -- chattering ----------------------------------------------------------------------------


def test_chattering_rule_is_marked_and_its_clear_deferred() -> None:
    engine = engine_with(device("S1"))
    cycle = ["alarm", "alarm_cleared"] * 3
    decisions = run(engine, [event("S1", 10.0 * i, kind) for i, kind in enumerate(cycle)])
    alarms = [d for d in decisions if d.rule is Rule.SMOKE_ALARM]
    assert [d.change for d in alarms] == [
        Change.RAISE,
        Change.CLEAR,
        Change.RAISE,
        Change.CLEAR,
        Change.RAISE,
    ]
    assert alarms[-1].detail.get("chattering") is True
    # Quiet for a window: the deferred clear is released, marked chattering.
    later = engine.tick(ts(40 + 61))
    assert [(d.rule, d.change, d.detail.get("chattering")) for d in later] == [
        (Rule.SMOKE_ALARM, Change.CLEAR, True)
    ]


def test_a_chattering_alert_from_a_backlog_is_held_until_no_activation_arrives_for_a_window() -> (
    None
):
    """A backlog (or a replay) arrives minutes after its event times: judged on those, the tick
    would release the alert at once while it still chatters, and the next activation would
    raise it again."""
    engine = engine_with(device("S1"))
    cycle = ["alarm", "alarm_cleared"] * 3
    arrival = ts(1000)
    backlog = [
        (Decoded(SITE, "S1", Channel.EVENT, ts(10.0 * i), next(_seq), event_type=kind), arrival)
        for i, kind in enumerate(cycle)
    ]
    run(engine, backlog)
    assert engine.tick(ts(1059)) == []
    engine.commit()
    released = engine.tick(ts(1060))
    assert [(d.rule, d.change, d.detail.get("chattering")) for d in released] == [
        (Rule.SMOKE_ALARM, Change.CLEAR, True)
    ]


# -- timers --------------------------------------------------------------------------------


def test_silent_device_goes_offline_and_comes_back() -> None:
    engine = engine_with(device("S1", heartbeat_s=60))  # offline after 2 x 60 + 60 s
    run(engine, [reading("S1", 0, temperature_c=20.0)])
    assert engine.tick(ts(180)) == []
    engine.commit()
    offline = engine.tick(ts(181))
    engine.commit()
    assert [(d.subject, d.rule, d.alert_class, d.change) for d in offline] == [
        ("S1", Rule.OFFLINE, AlertClass.TROUBLE, Change.RAISE)
    ]
    assert engine.tick(ts(300)) == []
    back = run(engine, [reading("S1", 400, temperature_c=20.0)])
    assert [(d.rule, d.change) for d in back] == [(Rule.OFFLINE, Change.CLEAR)]


def test_mass_silence_in_a_building_is_one_comm_fault() -> None:
    devices = [device(f"S{i}", heartbeat_s=60) for i in range(8)]
    engine = engine_with(*devices)
    run(engine, [reading(d.id, 0, temperature_c=20.0) for d in devices])
    run(engine, [reading(d.id, 500, temperature_c=20.0) for d in devices[5:]])  # 3 still talk
    decisions = engine.tick(ts(600))
    engine.commit()
    assert [(d.subject, d.rule, d.change) for d in decisions] == [
        ("building:B1", Rule.COMM_FAULT, Change.RAISE)
    ]
    assert decisions[0].detail["devices"] == ["S0", "S1", "S2", "S3", "S4"]
    assert not edges(decisions, Rule.OFFLINE)


def test_four_silent_devices_are_individual_offlines() -> None:
    devices = [device(f"S{i}", heartbeat_s=60) for i in range(4)]
    engine = engine_with(*devices)
    run(engine, [reading(d.id, 0, temperature_c=20.0) for d in devices])
    decisions = engine.tick(ts(600))
    assert {(d.subject, d.rule) for d in decisions} == {(d.id, Rule.OFFLINE) for d in devices}


def test_alert_flood_raises_and_clears() -> None:
    engine = engine_with(device("S1"))
    flood = engine.tick(ts(0), opened_last_10min={"s": 11})
    engine.commit()
    assert [(d.subject, d.rule, d.alert_class, d.change) for d in flood] == [
        ("site:s", Rule.ALERT_FLOOD, AlertClass.SUPERVISORY, Change.RAISE)
    ]
    calm = engine.tick(ts(60), opened_last_10min={"s": 3})
    assert [(d.rule, d.change) for d in calm] == [(Rule.ALERT_FLOOD, Change.CLEAR)]


def test_ten_new_alerts_are_not_a_flood() -> None:
    engine = engine_with(device("S1"))
    assert engine.tick(ts(0), opened_last_10min={"s": 10}) == []


# -- transactions --------------------------------------------------------------------------


def mixed_batch() -> Batch:
    smoke = series("S3", "obscuration_pct_per_m", [(float(t), 3.5) for t in range(30)])
    return [event("S1", 0, "alarm"), event("S2", 5, "alarm"), *smoke, status("S1", 3, 10.0)]


def test_rollback_then_the_same_batch_gives_the_same_decisions() -> None:
    engine = engine_with(device("S1"), device("S2"), device("S3"))
    batch = mixed_batch()
    first = engine.evaluate(batch)
    assert edges(first, Rule.SMOKE_ALARM) and edges(first, Rule.SMOKE_OBSCURATION)
    engine.rollback()
    second = engine.evaluate(batch)
    engine.commit()
    assert second == first


def test_committed_batch_evaluated_again_raises_nothing() -> None:
    engine = engine_with(device("S1"), device("S2"), device("S3"))
    batch = mixed_batch()
    assert raised(run(engine, batch))
    again = run(engine, batch)
    assert not [d for d in again if d.change is Change.RAISE]


# -- configuration -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"fixd_c": 60}, "fixd_c", "unknown"),
        ({"fixed_c": 200}, "fixed_c", "between"),
        ({"leakage_ma": 299}, "leakage_ma", "between"),
        ({"fixed_c": "60"}, "fixed_c", "number"),
        ({"fixed_c": True}, "fixed_c", "number"),
        ({"fixed_c": float("nan")}, "fixed_c", "finite"),
        ({"cable_prealarm_c": 95}, "cable_fire_c", "above"),
    ],
)
def test_config_errors_name_the_field(overrides: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        rule_config(Kind.SMOKE, overrides)
    assert caught.value.field == field
    assert f"rules.{field}" in str(caught.value)
    assert words in str(caught.value)


def test_device_config_errors_name_the_field() -> None:
    with pytest.raises(ConfigError) as caught:
        device("C1", Kind.THERMAL_CAMERA, config={"covers": "B1"})
    assert caught.value.field == "covers"
    with pytest.raises(ConfigError) as caught:
        device("S1", config={"rules": {"leakage_ma": 600}})
    assert caught.value.field == "leakage_ma"


def test_valid_override_takes_effect() -> None:
    config = rule_config(Kind.SMOKE, {"fixed_c": 68})
    assert config.fixed_c == 68.0
    assert rule_config(Kind.SMOKE, None).fixed_c == 57.0


def test_each_device_keeps_its_own_thresholds_in_one_batch_and_after_a_change() -> None:
    """Devices share configurations by index (alerts/engine.py): an override must reach its
    own device alone, and a changed override only that device, from its next sample."""
    engine = engine_with(device("S1"), device("S2", config={"rules": {"fixed_c": 68}}))
    first = run(
        engine, [reading("S1", 0, temperature_c=60.0), reading("S2", 0, temperature_c=60.0)]
    )
    assert {d.subject for d in edges(first, Rule.HEAT_FIXED)} == {"S1"}
    engine.configure([device("S1", config={"rules": {"fixed_c": 68}}), device("S2")])
    later = run(
        engine, [reading("S1", 10, temperature_c=62.0), reading("S2", 10, temperature_c=62.0)]
    )
    heat = [d for d in later if d.rule is Rule.HEAT_FIXED and d.change is not Change.HOLD]
    assert {(d.subject, d.change) for d in heat} == {("S1", Change.CLEAR), ("S2", Change.RAISE)}


def test_only_the_metrics_whose_rules_read_a_rate_keep_a_deep_history() -> None:
    engine = Engine()
    assert {m for m, ring in engine.rings.items() if ring.depth == DEPTH} == RATE_METRICS
    shallow = engine.rings["obscuration_pct_per_m"]
    with pytest.raises(ValueError, match="too shallow for a rate"):
        shallow.rate_per_min(np.array([0]), np.array([60.0]), np.array([1.0]))


# -- anomaly on cables, camera region summaries --------------------------------------------


def _flat_then(metric: str, device_id: str, base: float, step: float) -> Batch:
    flat = [(t, base + (0.2 if t % 20 else -0.2)) for t in range(0, 600, 10)]
    return series(device_id, metric, [*flat, *((t, step) for t in range(600, 660, 10))])


@pytest.mark.parametrize(("step", "anomaly"), [(41.0, False), (47.0, True)])
def test_a_cable_anomaly_needs_the_electrical_kinds_larger_rise(step: float, anomaly: bool) -> None:
    """Switching on a heater warms a cable by a few degrees; 10 °C over its baseline is not."""
    engine = engine_with(device("E1", Kind.ELECTRICAL))
    decisions = run(engine, _flat_then("cable_temp_c", "E1", 35.0, step))
    found = edges(decisions, Rule.HEAT_ANOMALY)
    assert bool(found) is anomaly
    assert all(d.alert_class is AlertClass.PREALARM for d in found)
    assert Rule.CABLE_TEMP not in raised(decisions)  # still below the 70 °C rating


@pytest.mark.parametrize(
    ("config", "hotspot"), [(None, True), ({"thermal": {"alarm_c": 65}}, False)]
)
def test_a_cameras_region_summary_uses_its_frames_thresholds(
    config: dict[str, Any] | None, hotspot: bool
) -> None:
    engine = engine_with(device("C1", Kind.THERMAL_CAMERA, config=config))
    decisions = run(engine, _flat_then("max_temp_c", "C1", 30.0, 60.0))
    found = edges(decisions, Rule.CAMERA_HOTSPOT)
    assert bool(found) is hotspot
    assert all(d.alert_class is AlertClass.FIRE and d.detail["source"] == "region" for d in found)
