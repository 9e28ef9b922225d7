"""Each benchmark's headline figures, written as JSON under bench/results/ so `make bench` can
print them as one table (bench/summary.py) and a later run can be compared with this one."""

from __future__ import annotations

import json
import os
import platform
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

RESULTS = Path(__file__).parent / "results"


def rss_mb(pid: int, field: str) -> float:
    """A process's memory from /proc (``VmRSS`` now, ``VmHWM`` its peak), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field} for process {pid}")


def results_dir() -> Path:
    """``FIREWATCH_BENCH_RESULTS`` elsewhere: the tests' small runs must not overwrite the
    figures of the last `make bench`."""
    return Path(os.environ.get("FIREWATCH_BENCH_RESULTS") or RESULTS)


@dataclass(kw_only=True, frozen=True, slots=True)
class Figure:
    name: str
    value: float
    unit: str
    target: str  # as the issue states it, e.g. "p99 <= 250 ms"; "" for context figures
    met: bool | None  # None: no target
    baseline: str = ""  # what the ratio compares against, measured in the same run
    ratio: float | None = None


def record(bench: str, figures: list[Figure], *, note: str = "") -> Path:
    path = results_dir() / f"{bench}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "bench": bench,
                "at": datetime.now(UTC).isoformat(timespec="seconds"),
                "machine": f"{platform.node()}, {os.cpu_count()} cores, Python "
                f"{platform.python_version()}",
                "note": note,
                "figures": [asdict(f) for f in figures],
            },
            indent=2,
        )
        + "\n"
    )
    return path
