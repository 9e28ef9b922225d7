"""The checker: given the ground truth and the alerts seen, what went wrong (if anything)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from contract.alarms import AlertClass, Rule
from simulators.expectations import Expectation, Expected, Forbidden, SeenAlert, violations

START = datetime(2025, 6, 12, 2, 10, tzinfo=UTC)
TRUTH = Expectation(
    scenario="crafted",
    start=START,
    duration_s=900,
    subjects=("SD-1", "SD-2", "TC-1", "building:B-1"),
    expected=(
        Expected(
            subject="SD-1",
            onset_s=300,
            within_s=120,
            why="room alarm",
            rule=Rule.SMOKE_ALARM,
            alert_class=AlertClass.FIRE,
        ),
        Expected(
            subject="building:B-1",
            onset_s=300,
            within_s=240,
            why="two detectors",
            rule=Rule.CONFIRMED_FIRE,
        ),
    ),
    forbidden=(
        Forbidden(why="healthy devices", alert_class=AlertClass.TROUBLE),
        Forbidden(why="nothing early", alert_class=AlertClass.FIRE, until_s=300),
        Forbidden(why="a glint is no hot spot", rule=Rule.CAMERA_HOTSPOT, subjects=("TC-1",)),
        Forbidden(why="roll-up", rule=Rule.TAMPER, max_count=1),
    ),
)


def alert(subject: str, rule: Rule, cls: AlertClass, at: float) -> SeenAlert:
    return SeenAlert(subject, rule.value, cls.value, START + timedelta(seconds=at))


PASSING = [
    alert("SD-1", Rule.SMOKE_ALARM, AlertClass.FIRE, 358),
    alert("building:B-1", Rule.CONFIRMED_FIRE, AlertClass.FIRE, 420),
    alert("SD-2", Rule.TAMPER, AlertClass.SUPERVISORY, 500),  # one is tolerated
    alert("SD-9", Rule.OFFLINE, AlertClass.TROUBLE, 100),  # not this scenario's device
    alert("SD-1", Rule.OFFLINE, AlertClass.TROUBLE, -10),  # before the scenario began
]


def test_alerts_that_meet_the_ground_truth_pass() -> None:
    assert violations(TRUTH, PASSING) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda a: [x for x in a if x.rule != "smoke_alarm"],
            "missing: smoke_alarm (fire) on SD-1",
        ),
        (
            lambda a: [*a[1:], alert("SD-1", Rule.SMOKE_ALARM, AlertClass.FIRE, 600)],
            "late: smoke_alarm (fire) on SD-1 raised at t=600 s, 300 s after the onset",
        ),
        (
            lambda a: [*a[1:], alert("SD-1", Rule.SMOKE_ALARM, AlertClass.PREALARM, 358)],
            "missing: smoke_alarm (fire) on SD-1",
        ),
        (
            lambda a: [*a, alert("SD-2", Rule.OFFLINE, AlertClass.TROUBLE, 700)],
            "forbidden: any trouble alert: offline (trouble) on SD-2 at t=700 s: healthy devices",
        ),
        (
            lambda a: [*a, alert("SD-2", Rule.SMOKE_PREALARM, AlertClass.FIRE, 120)],
            "forbidden: any fire alert before t=300 s",
        ),
        (
            lambda a: [*a, alert("TC-1", Rule.CAMERA_HOTSPOT, AlertClass.FIRE, 800)],
            "forbidden: camera_hotspot: camera_hotspot (fire) on TC-1 at t=800 s",
        ),
        (
            lambda a: [*a, alert("SD-1", Rule.TAMPER, AlertClass.SUPERVISORY, 510)],
            "forbidden: tamper (at most 1 allowed)",
        ),
        (
            lambda a: [*a[1:], alert("SD-1", Rule.SMOKE_ALARM, AlertClass.FIRE, 200)],
            "too early: smoke_alarm (fire) on SD-1 raised at t=200 s",
        ),
    ],
)
def test_each_way_of_breaking_it_is_named(change: object, expected: str) -> None:
    found = violations(TRUTH, change(list(PASSING)))  # type: ignore[operator]
    assert any(expected in v for v in found), found


def test_a_replay_at_another_time_is_checked_against_the_shifted_start() -> None:
    later = timedelta(days=400)
    moved = [SeenAlert(a.subject, a.rule, a.alert_class, a.raised_at + later) for a in PASSING]
    assert violations(TRUTH, moved) != []
    assert violations(TRUTH.shifted(START + later), moved) == []


def test_the_ground_truth_survives_its_json_file(tmp_path: Path) -> None:
    path = tmp_path / "crafted.expect.json"
    TRUTH.write(path)
    assert Expectation.read(path) == TRUTH


def test_an_expected_alert_must_name_a_rule_or_a_class() -> None:
    with pytest.raises(ValueError, match="names its rule, its class, or both"):
        Expected(subject="SD-1", onset_s=0, within_s=10, why="vague")
