"""Thermal-frame analysis per frame, against a bare max-and-count pass over the same frames.

For each frame size, a stream of synthetic frames (sky, roofs, sensor noise; in the second half
a fire appears and grows, so the hot path and the conditions run too) goes through
`alerts.thermal.analyse` with one camera's state. The baseline is the least any per-frame rule
must do: `frame.max()` plus `np.count_nonzero(frame > 55)` on the very same frame, timed right
before it. Each repeat starts from a fresh camera; we quote the median over repeats of each
repeat's median time per frame.

    python -m bench.thermal [--frames 200] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import numpy as np
import numpy.typing as npt

from alerts.thermal import CameraState, ThermalConfig, analyse
from bench.results import Figure, record

SIZES = ((640, 512), (384, 288))
TARGET_MS = 10.0
T0 = datetime(2025, 7, 1, 14, 0, tzinfo=UTC)


def scene(width: int, height: int) -> npt.NDArray[np.float32]:
    """Sky from 10 to 20 °C over the top third, then three roofs at 32, 38 and 35 °C."""
    temps = np.empty((height, width), np.float32)
    horizon = height // 3
    temps[:horizon] = np.linspace(10.0, 20.0, horizon, dtype=np.float32)[:, None]
    for n, roof_c in enumerate((32.0, 38.0, 35.0)):
        temps[horizon:, n * width // 3 : (n + 1) * width // 3] = roof_c
    return temps


def stream(width: int, height: int, frames: int) -> Iterator[npt.NDArray[np.float32]]:
    """Frames with sensor noise; a fire from the half-way frame on, growing and heating."""
    rng = np.random.default_rng(7)
    base = scene(width, height)
    noise = [rng.normal(0.0, 0.3, base.shape).astype(np.float32) for _ in range(8)]
    yy, xx = np.ogrid[:height, :width]
    distance = np.hypot(yy - height * 0.7, xx - width * 0.5).astype(np.float32)
    frame = np.empty_like(base)
    for n in range(frames):
        np.add(base, noise[n % len(noise)], out=frame)
        burning = n - frames // 2
        if burning >= 0:
            radius, peak = 1.0 + 0.5 * burning, min(40.0 + 15.0 * burning, 600.0)
            fire = np.where(distance <= radius, peak - 3.0 * distance, frame)
            np.maximum(frame, fire, out=frame)
        yield frame


def run_once(width: int, height: int, frames: int) -> tuple[float, float, float, float]:
    """Median ms per frame: analyse (all, quiet half, burning half) and the baseline."""
    state, config = CameraState(), ThermalConfig()
    analysed: list[float] = []
    baseline: list[float] = []
    for n, frame in enumerate(stream(width, height, frames)):
        started = time.perf_counter()
        float(frame.max())
        int(np.count_nonzero(frame > config.alarm_c))
        middle = time.perf_counter()
        analyse(
            state, frame, camera_id="TC-1", preset="p1", at=T0 + timedelta(seconds=n), config=config
        )
        ended = time.perf_counter()
        baseline.append((middle - started) * 1e3)
        analysed.append((ended - middle) * 1e3)
    half = frames // 2
    return (
        statistics.median(analysed),
        statistics.median(analysed[:half] or analysed),
        statistics.median(analysed[half:]),
        statistics.median(baseline),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    print(
        f"median ms per frame over {args.repeat} runs of {args.frames} frames"
        " (a fire grows in the second half of each run)"
    )
    medians: list[float] = []
    bares: list[float] = []
    for width, height in SIZES:
        runs = [run_once(width, height, args.frames) for _ in range(args.repeat)]
        total, quiet, burning, bare = (statistics.median(r[k] for r in runs) for k in range(4))
        medians.append(total)
        bares.append(bare)
        print(
            f"  {width}x{height}  analyse {total:6.3f} ms (quiet {quiet:.3f}, fire {burning:.3f})"
            f"  baseline {bare:6.3f} ms  analyse / baseline = {total / bare:.1f}x"
            f"   runs: {', '.join(f'{r[0]:.3f}' for r in runs)}"
        )
    verdict = "met" if medians[0] < TARGET_MS else "NOT met"
    print(f"  target: < {TARGET_MS:g} ms per {SIZES[0][0]}x{SIZES[0][1]} frame: {verdict}")
    record(
        "thermal",
        [
            Figure(
                name=f"one {SIZES[0][0]}x{SIZES[0][1]} frame analysed",
                value=medians[0],
                unit="ms",
                target=f"< {TARGET_MS:g} ms",
                met=medians[0] < TARGET_MS,
                baseline="max + threshold count",
                ratio=medians[0] / bares[0],
            )
        ],
        note=f"median of {args.repeat} runs of {args.frames} frames",
    )


if __name__ == "__main__":
    main()
