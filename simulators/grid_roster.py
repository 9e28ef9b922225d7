"""The simulated quarter's safety grid as a roster import (docs/dispatch.md, the JSON format of
``firewatch rosters import``): two grid workers per zone on alternate day and night shifts, each
the other's backup, a supervisor for every four zones, and one site-wide webhook channel that
reaches the simulated phones (``simulators.grid_workers``). Deterministic per seed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from simulators.seeding import rng_for

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗梁"
GIVEN = "芳明伟静强磊敏军洋勇艳杰娟涛超霞平刚桂英华"
ZONES_PER_SUPERVISOR = 4
CHANNEL = "grid-phones"
DAY, NIGHT = ("08:00", "20:00"), ("20:00", "08:00")


def _names(seed: int, count: int) -> list[str]:
    """Distinct two- or three-character names."""
    rng = rng_for(seed, "grid-names")
    names: list[str] = []
    while len(names) < count:
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
        if name not in names:
            names.append(name)
    return names


def _phone(seed: int, n: int) -> str:
    rng = rng_for(seed, "grid-phone", n)
    return "+86139" + "".join(str(rng.randint(0, 9)) for _ in range(8))


def roster_document(zones: Sequence[str], *, url: str, seed: int) -> dict[str, Any]:
    """People, the channel, shifts and supervisor chains for ``zones``; the channel posts to
    ``url``."""
    zones = sorted(set(zones))
    bosses = [f"sup-{i + 1:02d}" for i in range(-(-len(zones) // ZONES_PER_SUPERVISOR))]
    workers = [(zone, f"gw-{zone.lower()}-{n}") for zone in zones for n in (1, 2)]
    names = _names(seed, len(bosses) + len(workers))
    people = [
        {
            "id": person,
            "name": names[i],
            "phone": _phone(seed, i),
            "role": "supervisor" if i < len(bosses) else "grid_worker",
            "channels": [CHANNEL],
        }
        for i, person in enumerate([*bosses, *(p for _, p in workers)])
    ]
    shifts = []
    for zone in zones:
        first, second = f"gw-{zone.lower()}-1", f"gw-{zone.lower()}-2"
        for person, (start, end), position in (
            (first, DAY, 0),
            (second, NIGHT, 0),
            (second, DAY, 1),
            (first, NIGHT, 1),
        ):
            shifts.append(
                {"zone": zone, "person": person, "position": position, "start": start, "end": end}
            )
    return {
        "channels": [
            {
                "id": CHANNEL,
                "kind": "webhook",
                "name": "网格员手机（模拟）",
                "zone": None,
                "config": {"url": url},
            }
        ],
        "people": people,
        "shifts": shifts,
        "supervisors": [
            {"zone": zone, "level": 1, "person": bosses[i // ZONES_PER_SUPERVISOR]}
            for i, zone in enumerate(zones)
        ],
    }
