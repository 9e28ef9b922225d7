"""The HTTP push benchmark still runs end to end (a small run: its figures come from
`make bench`), and its retry check holds."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_http_push_benchmark_runs(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.http_push",
            "--runs",
            "1",
            "--pushes",
            "300",
            "--one-at-a-time",
            "10",
            "--retries",
            "50",
            "--connections",
            "16",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={**os.environ, "FIREWATCH_BENCH_RESULTS": str(tmp_path)},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "300/300 answered 200" in result.stdout
    figures = json.loads((tmp_path / "http_push.json").read_text())["figures"]
    retry = next(f for f in figures if f["name"].startswith("a retry"))
    assert retry["met"] is True
