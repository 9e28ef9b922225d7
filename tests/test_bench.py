"""The ingest benchmark still runs end to end (a small run: the figures come from `make bench`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_ingest_benchmark_runs_and_prints_its_ratios() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bench.ingest", "--messages", "3000", "--naive-messages", "300",
         "--devices", "300", "--repeat", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("firewatch ingest, backlog drain") for line in lines)
    ratio = next(line for line in lines if "firewatch / naive" in line)
    assert float(ratio.split("=")[1].strip().rstrip("x")) > 1.0
