"""Scenarios at once: what only several together show, e.g. that two fires in two buildings
are two incidents, and that three are no flood.
"""

from __future__ import annotations

from simulators.scenarios.base import Stage
from simulators.scenarios.fires import can_flame, flaming_fire_in
from simulators.topology import Building


def two_fires(stage: Stage) -> None:
    """Two flaming fires at once in two rented buildings, each seen by a camera of its own."""
    _flaming_fires(stage, 2)


def three_fires(stage: Stage) -> None:
    """Three flaming fires at once in three rented buildings, each seen by a camera of its own."""
    _flaming_fires(stage, 3)


def _flaming_fires(stage: Stage, count: int) -> None:
    """Buildings far enough apart that no fire's camera watches another's building: a camera
    cannot tell which of the buildings it covers a target is in, and that is not what these
    scenarios are about."""
    chosen: list[Building] = []
    for _ in range(count):
        chosen.append(
            stage.pick_building(
                lambda b, ds: can_flame(stage, b, ds) and all(_apart(stage, b, c) for c in chosen)
            )
        )
    for building in chosen:
        flaming_fire_in(stage, building)


def _apart(stage: Stage, a: Building, b: Building) -> bool:
    cam_a, cam_b = stage.camera_for(a), stage.camera_for(b)
    return (
        cam_a.id != cam_b.id
        and b.id not in cam_a.config["covers"]
        and a.id not in cam_b.config["covers"]
        # A camera on the other building's roof would be staged twice (once a bystander).
        and cam_a.building != b.id
        and cam_b.building != a.id
    )
