"""Load mode hits its target rate, counted by a real subscriber on the real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from simulators.load import LoadPlan, run_load
from tests.simulators.helpers import subscriber

ROOT = Path(__file__).resolve().parents[2]
RATE, SECONDS = 2000.0, 3.0


def test_two_processes_publish_at_the_target_rate(broker_url: str, site: str) -> None:
    plan = LoadPlan(
        mqtt_url=broker_url,
        site=site,
        seed=7,
        devices=3031,
        rate=RATE,
        duration=SECONDS,
        processes=2,
    )
    with subscriber(broker_url, site) as sub:
        result = run_load(plan)
        got = sub.wait_for(result.sent)
    assert abs(result.achieved_rate - RATE) / RATE <= 0.10, result.summary()
    assert abs(result.sent - RATE * SECONDS) / (RATE * SECONDS) <= 0.10
    measured = (len(got) - 1) / (got[-1].at - got[0].at)
    assert abs(measured - RATE) / RATE <= 0.10, f"the subscriber saw {measured:.0f} msg/s"
    assert len(got) == result.sent
    assert result.peak_in_flight <= 1000


def test_the_console_script_reports_target_and_achieved(broker_url: str, site: str) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "firewatch",
            "simulate",
            "run",
            "--devices",
            "200",
            "--rate",
            "500",
            "--duration",
            "2.5",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "FIREWATCH_MQTT_URL": broker_url, "FIREWATCH_SITE": site},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "target 500 msg/s, achieved" in result.stdout
    assert "simulate run (200 devices, 1 process(es))" in result.stderr
