"""The demo's scenario lines: every expected alert with its deadline on the site's clock."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from firewatch.demo import DEMO_SCENARIOS, SCENARIO_LEAD_IN_S
from firewatch.demo_expectations import scenario_lines
from simulators.scenarios import SCENARIOS, build_scenario
from simulators.topology import Quarter, build_quarter

START = datetime(2026, 3, 1, 6, 0, tzinfo=UTC)  # 14:00 in Guangzhou
BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def quarter() -> Quarter:
    return build_quarter(seed=7, site="zilai")


def _lines(quarter: Quarter, name: str) -> tuple[list[str], list[str]]:
    run = build_scenario(name, quarter=quarter, seed=7, start=START, preroll_s=SCENARIO_LEAD_IN_S)
    lines = scenario_lines(
        name,
        run.expectation,
        title=SCENARIOS[name].title,
        onset_s=SCENARIO_LEAD_IN_S,
        tz=BEIJING,
    )
    return lines, [e.subject for e in run.expectation.expected]


def test_a_fire_lists_each_expected_alert_by_its_deadline_on_beijing_time(
    quarter: Quarter,
) -> None:
    lines, subjects = _lines(quarter, "flaming_fire")
    assert lines[0].startswith("scenario flaming_fire (A living-room fire")
    assert "begins at 14:01:00 (in 60 s; site clock, UTC+08:00)" in lines[0]
    # The room detector's alarm: 60 s of lead-in, then 120 s allowed.
    assert any(line.startswith("  by 14:03:00: smoke_alarm (fire) on SD-0146 (") for line in lines)
    assert any(line.startswith("  by 14:05:00: confirmed_fire") for line in lines)
    expected = [line for line in lines if line.startswith("  by ")]
    assert len(expected) == len(subjects) and len(subjects) >= 6
    assert [line.split()[1] for line in expected] == sorted(line.split()[1] for line in expected)
    assert lines[-1].startswith("  never: trouble alert on any of its devices")


@pytest.mark.parametrize("name", DEMO_SCENARIOS)
def test_every_demo_scenario_says_what_to_expect_and_by_when(quarter: Quarter, name: str) -> None:
    lines, subjects = _lines(quarter, name)
    assert lines[0].startswith(f"scenario {name} (")
    for subject in subjects:
        assert any(f" on {subject} (" in line and line.startswith("  by ") for line in lines)
    if not subjects:
        assert "  no alert" in lines
    assert all(
        line.startswith(("  by ", "  never", "  at most", "  no alert")) for line in lines[1:]
    )
