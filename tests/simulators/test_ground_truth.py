"""Every scenario's ground truth is earned by its own data, read with the default rules."""

from __future__ import annotations

import pytest

from contract.alarms import Rule
from simulators.scenarios import SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter
from tests.simulators.reference_rules import CLASS_RULES, UNCHECKED, triggers

_OTHER_SEED = 8
_other: dict[str, tuple[Quarter, ScenarioRun]] = {}


def _run(
    name: str, seed: int, quarter: Quarter, runs: dict[str, ScenarioRun]
) -> tuple[Quarter, ScenarioRun]:
    if seed != _OTHER_SEED:
        return quarter, runs[name]
    if name not in _other:
        other = build_quarter(seed=seed)
        _other[name] = other, build_scenario(name, quarter=other, seed=seed)
    return _other[name]


@pytest.mark.parametrize("seed", [7, _OTHER_SEED])
@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_expected_alerts_are_in_the_data_before_their_deadline_and_forbidden_ones_never(
    name: str, seed: int, quarter: Quarter, scenario_runs: dict[str, ScenarioRun]
) -> None:
    quarter, run = _run(name, seed, quarter, scenario_runs)
    found = triggers(run, quarter)
    expectation = run.expectation
    for e in expectation.expected:
        rules = {e.rule} if e.rule else CLASS_RULES[e.alert_class]  # type: ignore[index]
        times = [found[(e.subject, r)] for r in rules - UNCHECKED if (e.subject, r) in found]
        assert times, f"{name}: nothing in the data meets {e}"
        assert e.onset_s <= min(times) <= e.deadline_s, f"{name}: {e} met at t={min(times)}"
        assert e.deadline_s <= expectation.duration_s, f"{name}: {e} ends after the scenario"
    for f in expectation.forbidden:
        if f.max_count:
            continue  # a roll-up's tolerance is the engine's judgement
        rules = {f.rule} if f.rule else CLASS_RULES.get(f.alert_class, set())  # type: ignore[arg-type]
        subjects = set(f.subjects) or set(expectation.subjects)
        hits = {
            (s, r): t
            for (s, r), t in found.items()
            if s in subjects and r in rules and (f.until_s is None or t < f.until_s)
        }
        assert not hits, f"{name}: forbidden {f.why}: {hits}"


def test_the_reference_rules_notice_a_fire_where_there_is_one(
    scenario_runs: dict[str, ScenarioRun], quarter: Quarter
) -> None:
    """A check that finds nothing anywhere would pass the test above vacuously."""
    found = triggers(scenario_runs["flaming_fire"], quarter)
    assert {r for _, r in found} >= {
        Rule.SMOKE_ALARM,
        Rule.HEAT_FIXED,
        Rule.CONFIRMED_FIRE,
        Rule.CAMERA_HOTSPOT,
    }
