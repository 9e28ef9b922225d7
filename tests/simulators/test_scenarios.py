"""The scenario library: valid messages in event time, deterministic, with coherent truth."""

from __future__ import annotations

import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import pytest

from contract.topics import parse_topic
from simulators.expectations import Expectation
from simulators.recording import read_jsonl
from simulators.scenarios import SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter
from tests.simulators.reference_rules import decoded_messages

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_every_message_decodes_and_fits_its_devices_kind(
    name: str, quarter: Quarter, scenario_runs: dict[str, ScenarioRun]
) -> None:
    run = scenario_runs[name]
    decoded = decoded_messages(run, quarter)  # the real codec and kind check, or it raises
    assert decoded
    times = [m.t for m in run.messages]
    assert times == sorted(times) and times[0] >= 0 and times[-1] <= run.expectation.duration_s
    last: dict[str, tuple[int, float]] = defaultdict(lambda: (0, 0.0))
    start = run.expectation.start.timestamp()
    for t, message in decoded:
        seq, ts = last[message.device_id]
        assert message.seq > seq, f"{message.device_id}: seq must increase"
        assert message.ts.timestamp() >= ts
        assert abs(message.ts.timestamp() - (start + t)) < 0.002  # ts is the event time
        last[message.device_id] = (message.seq, message.ts.timestamp())
    publishing = {parse_topic(m.topic).device_id for m in run.messages}
    assert publishing <= set(run.expectation.subjects)
    assert set(run.final_seq) == publishing


def test_the_same_seed_gives_byte_identical_messages_and_another_seed_others(
    quarter: Quarter, scenario_runs: dict[str, ScenarioRun]
) -> None:
    for name in ("flaming_fire", "cooking_smoke", "sun_glint"):
        again = build_scenario(name, quarter=quarter, seed=7)
        assert again.messages == scenario_runs[name].messages
        other = build_scenario(name, quarter=build_quarter(seed=8), seed=8)
        assert other.messages != scenario_runs[name].messages


def test_the_ground_truth_uses_the_engines_names_and_real_deadlines(
    scenario_runs: dict[str, ScenarioRun],
) -> None:
    for run in scenario_runs.values():
        truth = run.expectation
        assert truth.expected or truth.forbidden
        for e in truth.expected:
            assert e.subject in truth.subjects
            assert e.within_s > 0 and e.deadline_s <= truth.duration_s
    fire = scenario_runs["flaming_fire"].expectation
    assert any(
        e.rule == "confirmed_fire" and e.subject.startswith("building:B-") for e in fire.expected
    )
    assert any(
        f.alert_class == "fire" for f in scenario_runs["cooking_smoke"].expectation.forbidden
    )


def test_a_seq_base_continues_each_devices_numbering(quarter: Quarter) -> None:
    """As the demo plays a scenario on devices that were already reporting."""
    run = build_scenario("tamper", quarter=quarter, seed=7, seq_base={"TC-11": 500})
    plain = build_scenario("tamper", quarter=quarter, seed=7)
    assert run.final_seq["TC-11"] == plain.final_seq["TC-11"] + 500


def test_the_console_script_writes_a_scenario_and_its_ground_truth(tmp_path: Path) -> None:
    out = tmp_path / "steam.jsonl"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "firewatch",
            "simulate",
            "scenario",
            "bathroom_steam",
            "--out",
            str(out),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"PATH": "/usr/bin:/bin", "FIREWATCH_SITE": "zilai"},
    )
    assert result.returncode == 0, result.stderr
    recorded = list(read_jsonl(out))
    built = build_scenario("bathroom_steam", quarter=build_quarter(seed=7), seed=7)
    assert [(r.topic, r.payload) for r in recorded] == [
        (m.topic, m.payload) for m in built.messages
    ]
    truth = Expectation.read(tmp_path / "steam.expect.json")
    assert truth == built.expectation
