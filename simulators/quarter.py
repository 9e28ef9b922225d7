"""A small, seeded stand-in for the Zilai Street quarter (the full topology is its own issue)."""

from __future__ import annotations

import random
from typing import Any

from alerts.kinds import KIND_SPECS, Kind
from simulators.devices import SimDevice

CENTRE = (23.10, 113.27)


def quarter(
    *, site: str, seed: int = 7, smoke: int = 1000, electrical: int = 457, cameras: int = 14
) -> tuple[list[dict[str, Any]], list[SimDevice]]:
    """Registry rows and their simulated devices."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    sims: list[SimDevice] = []
    plan = [(Kind.SMOKE, "SD", smoke), (Kind.ELECTRICAL, "EF", electrical),
            (Kind.THERMAL_CAMERA, "TC", cameras)]  # fmt: skip
    for kind, prefix, count in plan:
        for n in range(1, count + 1):
            device_id = f"{prefix}-{n:04d}"
            building = f"B-{rng.randrange(1, 300):03d}"
            rows.append({
                "id": device_id, "kind": kind.value, "site": site, "building": building,
                "floor": rng.randrange(1, 7), "name": f"{building} {kind.value} {n}",
                "lat": CENTRE[0] + rng.uniform(-0.004, 0.004),
                "lon": CENTRE[1] + rng.uniform(-0.004, 0.004),
                "zone": f"G-{rng.randrange(1, 13):02d}",
                "heartbeat_s": KIND_SPECS[kind].heartbeat_s,
            })  # fmt: skip
            sims.append(SimDevice(device_id, kind, site, rng=random.Random(rng.random())))
    return rows, sims
