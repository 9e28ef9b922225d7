"""The heat detection of issue 19, rule by rule on hand-made streams: the trend, the warm-up
and its restart after a silence, the early rise with and without a neighbour, smoke with heat,
and a neighbour's state read at its place in the stream however it is cut."""

from __future__ import annotations

import random
from datetime import datetime

import pytest

from alerts.config import ConfigError, RuleConfig, rule_config
from alerts.devices import DeviceInfo, device_info
from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from tests.alerts.test_rules import SITE, Batch, reading, run, ts

DEFAULTS = RuleConfig()


def detector(
    device_id: str, *, floor: int | None = 3, building: str = "B1", **rules: float
) -> DeviceInfo:
    return device_info(
        device_id=device_id,
        kind=Kind.SMOKE,
        site=SITE,
        building=building,
        floor=floor,
        config={"rules": rules} if rules else None,
    )


def engine_of(*devices: DeviceInfo) -> Engine:
    engine = Engine()
    engine.configure(devices)
    return engine


def raised(decisions: list[Decision], rule: Rule, subject: str | None = None) -> list[datetime]:
    return [
        d.at
        for d in decisions
        if d.change is Change.RAISE and d.rule is rule and subject in (None, d.subject)
    ]


def fire_times(decisions: list[Decision]) -> list[datetime]:
    return sorted(
        d.at for d in decisions if d.change is Change.RAISE and d.alert_class is AlertClass.FIRE
    )


def room(
    growths: dict[str, tuple[float, float]], *, quiet_s: int = 120, burn_s: int = 60, seed: int = 1
) -> Batch:
    """1 Hz readings of each detector: 22 °C with a little noise, then ``growth`` °C/s² from
    ``quiet_s + lag`` (each detector's (growth, lag)); time-ordered."""
    rng = random.Random(seed)
    out: Batch = []
    for second in range(quiet_s + burn_s):
        for device_id, (growth, lag) in growths.items():
            rise = growth * max(0.0, second - quiet_s - lag) ** 2
            out.append(
                reading(device_id, float(second), temperature_c=22.0 + rise + rng.gauss(0, 0.05))
            )
    return out


# -- the trend --------------------------------------------------------------------------------


def test_a_room_warming_steadily_raises_nothing_though_it_leaves_its_old_level() -> None:
    """2 °C/min for 15 minutes: 30 °C above where it began, never a rise above its trend."""
    engine = engine_of(detector("S1"))
    batch = [reading("S1", float(t), temperature_c=20.0 + t / 30.0) for t in range(900)]
    decisions = run(engine, batch)
    assert [d for d in decisions if d.change is Change.RAISE] == []


def test_a_fire_in_a_warming_room_is_judged_above_the_room_s_trend() -> None:
    quiet = [reading("S1", float(t), temperature_c=20.0 + t / 30.0) for t in range(300)]
    fire = [
        reading("S1", float(t), temperature_c=20.0 + t / 30.0 + 0.03 * (t - 300) ** 2)
        for t in range(300, 360)
    ]
    decisions = run(engine_of(detector("S1")), quiet + fire)
    (first,) = raised(decisions, Rule.HEAT_ROR)
    assert ts(300) < first <= ts(330)
    ror = next(d for d in decisions if d.rule is Rule.HEAT_ROR)
    assert ror.detail["trend_c_per_min"] == pytest.approx(2.0, abs=0.3)


def test_the_end_of_a_cooling_is_not_a_rise() -> None:
    """A room cooling from 50 °C, then 1.5 °C back: the cooling line is never extrapolated."""
    cooling = [reading("S1", float(t), temperature_c=24.0 + 26.0 * 0.998**t) for t in range(1800)]
    back = [reading("S1", 1800.0 + t, temperature_c=24.7 + 1.5 * t / 600.0) for t in range(600)]
    decisions = run(engine_of(detector("S1")), cooling + back)
    assert [d for d in decisions if d.change is Change.RAISE] == []


# -- warm-up ----------------------------------------------------------------------------------


def test_no_statistical_verdict_before_the_warm_up_even_on_a_quiet_baseline() -> None:
    """15 quiet samples, then 3 °C for 5: an anomaly's size, too soon to judge it."""
    quiet = [reading("S1", float(t * 5), temperature_c=22.0) for t in range(15)]
    step = [reading("S1", 75.0 + t * 5, temperature_c=25.0) for t in range(5)]
    assert raised(run(engine_of(detector("S1")), quiet + step), Rule.HEAT_ANOMALY) == []
    later = [reading("S1", float(t * 5), temperature_c=22.0) for t in range(40)]
    step = [reading("S1", 200.0 + t * 5, temperature_c=25.0) for t in range(4)]
    assert raised(run(engine_of(detector("S1")), later + step), Rule.HEAT_ANOMALY) != []


def test_a_silence_restarts_the_warm_up() -> None:
    """A detector back after 40 minutes (swapped, or an outage) reads 3.5 °C more: the new
    sensor's baseline is learnt afresh, no anomaly; the same step without the silence is one."""
    before = [reading("S1", float(t * 5), temperature_c=22.0) for t in range(100)]
    back = [reading("S1", 500.0 + 2400.0 + t * 5, temperature_c=25.5) for t in range(100)]
    assert raised(run(engine_of(detector("S1")), before + back), Rule.HEAT_ANOMALY) == []
    short = [reading("S1", 500.0 + 60.0 + t * 5, temperature_c=25.5) for t in range(100)]
    assert raised(run(engine_of(detector("S1")), before + short), Rule.HEAT_ANOMALY) != []


# -- the early rise and the room ------------------------------------------------------------


def test_the_early_rise_comes_before_the_classic_rate_of_rise() -> None:
    batch = room({"S1": (0.02, 0.0)})
    early = run(engine_of(detector("S1")), batch)
    classic = run(engine_of(detector("S1", early_rise_c=20.0)), batch)
    (first,) = raised(early, Rule.HEAT_ROR)
    (later,) = raised(classic, Rule.HEAT_ROR)
    assert first < later
    ror = next(d for d in early if d.rule is Rule.HEAT_ROR)
    assert ror.detail["criterion"] == "early"


def test_a_rising_neighbour_on_the_floor_lets_the_first_detector_alarm_sooner() -> None:
    batch = room({"S1": (0.005, 0.0), "S2": (0.005, 2.0)})
    together = run(engine_of(detector("S1"), detector("S2")), batch)
    apart = run(engine_of(detector("S1"), detector("S2", floor=4)), batch)
    alone = run(engine_of(detector("S1")), [m for m in batch if m[0].device_id == "S1"])
    assert raised(apart, Rule.HEAT_ROR, "S1") == raised(alone, Rule.HEAT_ROR, "S1")
    assert raised(together, Rule.HEAT_ROR, "S1")[0] < raised(alone, Rule.HEAT_ROR, "S1")[0]


def test_without_a_floor_or_room_the_building_is_the_neighbourhood() -> None:
    batch = room({"S1": (0.005, 0.0), "S2": (0.005, 2.0)})
    together = run(engine_of(detector("S1", floor=None), detector("S2", floor=None)), batch)
    elsewhere = run(
        engine_of(detector("S1", floor=None), detector("S2", floor=None, building="B2")), batch
    )
    assert raised(together, Rule.HEAT_ROR, "S1")[0] < raised(elsewhere, Rule.HEAT_ROR, "S1")[0]


@pytest.mark.parametrize("every", [1, 2, 3, 5, 7, 13])
def test_a_neighbour_is_read_at_its_place_in_the_stream_however_it_is_cut(every: int) -> None:
    batch = room({"N1": (0.02, 0.0), "N2": (0.02, 4.0), "N3": (0.02, 8.0)}, seed=every)
    devices = (detector("N1"), detector("N2"), detector("N3"))
    whole = run(engine_of(*devices), batch)
    engine = engine_of(*devices)
    cut = [d for s in range(0, len(batch), every) for d in run(engine, batch[s : s + every])]

    def edges(decisions: list[Decision]) -> list[tuple[str, str, str, datetime]]:
        return sorted(
            (d.subject, d.rule.value, d.change.value, d.at)
            for d in decisions
            if d.change in (Change.RAISE, Change.CLEAR)
        )

    assert edges(cut) == edges(whole)


def test_a_draught_s_step_is_no_early_rise() -> None:
    """Warm air from a door: +3.5 °C within a second on two neighbours, flat after."""
    quiet = room({"S1": (0.0, 0.0), "S2": (0.0, 0.0)}, burn_s=0)
    step = [reading(d, 120.0 + t, temperature_c=25.5) for t in range(40) for d in ("S1", "S2")]
    decisions = run(engine_of(detector("S1"), detector("S2")), quiet + step)
    assert fire_times(decisions) == []


# -- smoke and heat ---------------------------------------------------------------------------


def test_smoke_past_its_pre_alarm_with_the_ceiling_rising_is_a_fire_at_once() -> None:
    quiet = [
        reading("M1", float(t), temperature_c=22.0, obscuration_pct_per_m=0.1) for t in range(120)
    ]
    fire = [
        reading(
            "M1",
            120.0 + t,
            temperature_c=22.0 + 0.01 * t * t,
            obscuration_pct_per_m=0.1 + 0.1 * t,
        )
        for t in range(60)
    ]
    both = run(engine_of(detector("M1")), quiet + fire)
    smoke_only = [
        reading(
            "M1",
            m[0].ts.timestamp() - ts(0).timestamp(),
            temperature_c=22.0,
            obscuration_pct_per_m=m[0].values["obscuration_pct_per_m"],
        )
        for m in quiet + fire
    ]
    alone = run(engine_of(detector("M1")), smoke_only)
    (together,) = raised(both, Rule.SMOKE_OBSCURATION)
    (later,) = raised(alone, Rule.SMOKE_OBSCURATION)
    assert together < later
    assert together <= ts(120 + 20)  # past 1.5 %/m at +14 s, the ceiling rising by then


# -- configuration --------------------------------------------------------------------------


def test_every_new_threshold_is_a_per_device_override_with_its_range() -> None:
    for name in (
        "early_rise_c",
        "early_z",
        "early_ror_c_per_min",
        "early_window_s",
        "early_dwell_s",
        "solo_factor",
        "room_window_s",
        "warmup_samples",
        "rewarm_after_s",
    ):
        base = getattr(DEFAULTS, name)
        assert getattr(rule_config(Kind.SMOKE, {name: base * 1.5}), name) == base * 1.5
        with pytest.raises(ConfigError, match=name):
            rule_config(Kind.SMOKE, {name: -1})
