"""The benchmarks still run end to end (small runs: the figures come from `make bench`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.detection import FIXED_TARGET, ROR_TARGET, Targets, measure_targets
from bench.fsri import data_dir

ROOT = Path(__file__).resolve().parent.parent
# Floors a regression would cross, well under what these small runs measure (CI is noisy).
NAIVE_FLOOR = 2.5
ENGINE_FLOOR = 10.0


@pytest.fixture(autouse=True)
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """These small runs write their figures aside, not over those of the last `make bench`."""
    monkeypatch.setenv("FIREWATCH_BENCH_RESULTS", str(tmp_path))
    return tmp_path


def test_ingest_benchmark_runs_and_prints_its_ratios() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ingest",
            "--messages",
            "20000",
            "--naive-messages",
            "1000",
            "--devices",
            "300",
            "--repeat",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("firewatch ingest, backlog drain") for line in lines)
    ratio = next(line for line in lines if "firewatch / naive" in line)
    # A backlog of 3,000 drained too fast to time (1.9x to 11.7x); of 20,000, 5.5x to 8.9x. Ingest
    # committing a message at a time, as the naive consumer does, would be near 1x.
    assert float(ratio.split("=")[1].strip().rstrip("x")) > NAIVE_FLOOR


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_engine_benchmark_prints_the_ratio_against_one_message_at_a_time(results: Path) -> None:
    """Both shapes against the same engine fed one message at a time, on the same messages.
    Measured 52x and 71x on this small run; an engine that judged a batch message by message
    would be near 1x."""
    result = _run("bench.engine", "--devices", "200", "--seconds", "10", "--repeat", "1")
    assert result.returncode == 0, result.stderr[-3000:]
    median = next(line for line in result.stdout.splitlines() if line.startswith("median:"))
    assert "x one at a time" in median
    figures = json.loads((results / "engine.json").read_text())["figures"]
    assert [f["baseline"] for f in figures] == ["one message at a time"] * 2
    assert all(f["ratio"] > ENGINE_FLOOR for f in figures), figures


@pytest.fixture(scope="module")
def detection() -> Targets:
    """Issue 19's held-out figures, measured once: every family held out in turn, tuned on the
    others (bench/detection.py); batches of 200, as the engine decides the same however a
    stream is cut (tests/alerts/test_detection_properties.py)."""
    try:
        data_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    return measure_targets(batch=200)


def test_held_out_detection_is_silent_before_every_ignition_and_misses_no_fire(
    detection: Targets,
) -> None:
    every = detection.every
    assert every.n == 62
    assert every.before_any == 0, [
        (name, r.engine.before_any)
        for h in detection.held
        for name, r in h.rows.items()
        if r.engine.before_any
    ]
    assert every.missed == 0


def test_held_out_slow_fires_alarm_within_half_the_fixed_detector_s_time(
    detection: Targets,
) -> None:
    slow = detection.slow
    assert slow.n == 14
    assert slow.fire <= FIXED_TARGET * slow.fixed, slow


@pytest.mark.xfail(
    strict=True,
    reason="issue 19's target is not met: held out, the slow fires' fire-class median is "
    "about 0.9 of the rate-of-rise detector's (docs/rules.md, section 6); strict, so this "
    "fails once it is met and the mark must go",
)
def test_held_out_slow_fires_alarm_within_three_quarters_of_the_rate_of_rise_detector_s_time(
    detection: Targets,
) -> None:
    slow = detection.slow
    assert slow.fire <= ROR_TARGET * slow.ror, slow


def test_slow_fires_in_a_warming_room_raise_nothing_before_ignition(detection: Targets) -> None:
    warming = detection.warming
    assert warming.before_any == 0, warming
    assert warming.missed == 0


def test_the_detection_benchmark_runs_and_prints_the_held_out_figures() -> None:
    try:
        data_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    result = _run("bench.detection", "--quick", "--batch", "500")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "RedAccent" in result.stdout and "before ignition 0" in result.stdout


def test_memory_benchmark_measures_a_real_ingest_process(results: Path) -> None:
    result = _run("bench.memory", "--devices", "4000", "--per-device", "1", "--runs", "1")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    figure = json.loads((results / "memory.json").read_text())["figures"][0]
    # A real process's resident set: at least the interpreter and numpy, and some state.
    assert 40 < figure["value"] < 300 and figure["ratio"] > 0.5
    assert "median peak with 4,000 devices" in result.stdout


def test_incidents_benchmark_counts_one_item_per_fire(results: Path) -> None:
    """A fire scenario and an FSRI fire through the broker, ingest and the API: one incident
    each, where the operator would otherwise have several alerts."""
    try:
        data_dir()
    except FileNotFoundError as exc:
        pytest.skip(str(exc))
    result = _run("bench.incidents", "--repeat", "1", "--only", "flaming_fire", "fsri")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    figures = json.loads((results / "incidents.json").read_text())["figures"]
    items = [f for f in figures if f["unit"] == "items"]
    assert [(f["value"], f["met"]) for f in items] == [(1, True), (1, True)], figures
    assert all(f["ratio"] < 1 for f in items), "fewer items than signals"
    assert "every target met" in result.stdout


def test_dispatch_latency_benchmark_times_the_request_against_the_screen(results: Path) -> None:
    """Confirmed fires through the broker, ingest, the dispatcher and the queue to a real local
    receiver, each against its confirmed incident on the live stream from the same publish."""
    result = _run("bench.dispatch_latency", "--fires", "3", "--repeat", "1")
    assert result.returncode in (0, 1), result.stdout[-3000:] + result.stderr[-2000:]
    assert "run 1: 3 fires" in result.stdout
    p99, p50, screen = json.loads((results / "dispatch_latency.json").read_text())["figures"]
    assert p99["target"] == "p99 <= 2 s" and p99["met"] is (result.returncode == 0)
    assert 0 < p50["value"] <= p99["value"] and screen["value"] > 0
    assert p99["ratio"] == pytest.approx(p50["value"] / screen["value"])
