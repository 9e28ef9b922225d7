"""The room-climate nuisances (simulators/scenarios/room_climate.py) and the older ones, through
the engine alone on device time, each device with its floor and room: no fire alarm, nor
anything else their ground truth forbids. And each scenario does what it says, so a pass is
earned: the swings are there, the swapped detector is silent long enough and reads warmer."""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from itertools import pairwise

import pytest

from alerts.config import RuleConfig
from alerts.devices import device_info
from alerts.engine import Engine
from alerts.signals import Change
from contract.alarms import AlertClass
from contract.codec import Limits, decode
from contract.messages import Decoded
from simulators.expectations import SeenAlert, violations
from simulators.scenarios import ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter

SEED = 7
ROOM_CLIMATE = ("hvac_cycles", "cooling_after_fire", "afternoon_sun_roof", "detector_swap")
NUISANCES = (*ROOM_CLIMATE, "cooking_smoke", "bathroom_steam", "sun_glint", "dust_drift")
LIMITS = Limits(future_tolerance=timedelta(days=1), stale_after=timedelta(days=30))
BATCH = 50


def _play(name: str, quarter: Quarter) -> tuple[ScenarioRun, list[SeenAlert], list[Decoded]]:
    run = build_scenario(name, quarter=quarter, seed=SEED)
    engine = Engine()
    engine.configure(
        device_info(
            device_id=d.id,
            kind=d.kind,
            site=d.site,
            building=d.building,
            heartbeat_s=d.heartbeat_s,
            config=d.config,
            floor=d.floor,
            room=d.room,
        )
        for d in quarter.devices
    )
    start = run.expectation.start
    seen: list[SeenAlert] = []
    decoded: list[Decoded] = []
    batch = []
    for message in run.messages:
        at = start + timedelta(seconds=message.t)
        one = decode(message.topic, message.payload, now=at, limits=LIMITS)
        assert isinstance(one, Decoded), one
        decoded.append(one)
        batch.append((one, at))
        if len(batch) == BATCH:
            seen += _raised(engine.evaluate(batch))
            engine.commit()
            batch = []
    seen += _raised(engine.evaluate(batch))
    engine.commit()
    return run, seen, decoded


def _raised(decisions: list) -> list[SeenAlert]:  # type: ignore[type-arg]
    return [
        SeenAlert(d.subject, d.rule.value, d.alert_class.value, d.at)
        for d in decisions
        if d.change is Change.RAISE
    ]


@pytest.fixture(scope="module")
def quarter() -> Quarter:
    return build_quarter(seed=SEED, site="zilai")


@pytest.mark.parametrize("name", NUISANCES)
def test_a_nuisance_raises_no_fire_alarm_and_nothing_its_ground_truth_forbids(
    name: str, quarter: Quarter
) -> None:
    run, seen, _ = _play(name, quarter)
    assert [a for a in seen if a.alert_class == AlertClass.FIRE.value] == []
    assert violations(run.expectation, seen) == []


def _temperatures(decoded: list[Decoded], device_id: str) -> list[tuple[float, float]]:
    return [
        (m.ts.timestamp(), m.values["temperature_c"])
        for m in decoded
        if m.device_id == device_id and "temperature_c" in m.values
    ]


def _main_detector(run: ScenarioRun, decoded: list[Decoded]) -> str:
    """The detector the scenario is about: the one whose temperature moves most."""
    spans: dict[str, list[float]] = defaultdict(list)
    for m in decoded:
        if "temperature_c" in m.values:
            spans[m.device_id].append(m.values["temperature_c"])
    return max(spans, key=lambda d: max(spans[d]) - min(spans[d]))


@pytest.mark.parametrize(
    ("name", "at_least_c"),
    [("hvac_cycles", 5.5), ("cooling_after_fire", 18.0), ("afternoon_sun_roof", 10.0)],
)
def test_each_room_climate_scenario_moves_its_detector_as_it_says(
    name: str, at_least_c: float, quarter: Quarter
) -> None:
    run, _, decoded = _play(name, quarter)
    values = [v for _, v in _temperatures(decoded, _main_detector(run, decoded))]
    assert max(values) - min(values) >= at_least_c
    assert max(values) < RuleConfig().fixed_c  # a fixed-temperature alarm would be right


def test_the_swapped_detector_is_silent_past_the_rewarm_and_reads_warmer(
    quarter: Quarter,
) -> None:
    _, _, decoded = _play("detector_swap", quarter)
    gaps = [
        (b[0] - a[0], a, b)
        for device_id in {m.device_id for m in decoded}
        for a, b in pairwise(_temperatures(decoded, device_id))
    ]
    gap, before, after = max(gaps)
    assert gap >= RuleConfig().rewarm_after_s
    # Without the re-warm, the old baseline would see a rise of an anomaly's size.
    assert after[1] - before[1] >= RuleConfig().anomaly_rise_c
