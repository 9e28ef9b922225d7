"""The scenario library: each scenario is messages in event time plus its ground truth."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from simulators.environment import GUANGZHOU
from simulators.scenarios import combined, electrical, faults, fires, nuisance, room_climate
from simulators.scenarios.base import Message, ScenarioRun, Stage
from simulators.topology import Quarter

__all__ = ["COMBINED", "SCENARIOS", "Message", "ScenarioRun", "ScenarioSpec", "build_scenario"]


@dataclass(frozen=True, slots=True)
class ScenarioSpec:
    name: str
    build: Callable[[Stage], None]
    start: datetime  # a time of day when it happens in real life
    preroll_s: float  # normal traffic first, so baselines and camera backgrounds are learnt
    duration_s: float  # after the onset

    @property
    def title(self) -> str:
        """The docstring's opening, up to its first colon or semicolon."""
        text = " ".join((self.build.__doc__ or self.name).split())
        return re.split(r"[:;]", text, maxsplit=1)[0]


def _at(day: int, hour: int, minute: int) -> datetime:
    return datetime(2025, 6, day, hour, minute, tzinfo=GUANGZHOU)


SCENARIOS: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (
        ScenarioSpec("flaming_fire", fires.flaming_fire, _at(12, 2, 10), 300, 600),
        ScenarioSpec("smouldering_fire", fires.smouldering_fire, _at(12, 3, 30), 300, 2400),
        ScenarioSpec("electrical_fire", electrical.electrical_fire, _at(12, 20, 40), 300, 1500),
        ScenarioSpec("leakage_ramp", electrical.leakage_ramp, _at(12, 0, 30), 1800, 14400),
        ScenarioSpec("cooking_smoke", nuisance.cooking_smoke, _at(12, 18, 20), 300, 1200),
        ScenarioSpec("bathroom_steam", nuisance.bathroom_steam, _at(12, 21, 45), 300, 900),
        ScenarioSpec("sun_glint", nuisance.sun_glint, _at(12, 13, 20), 300, 600),
        ScenarioSpec("dust_drift", nuisance.dust_drift, _at(7, 0, 0), 3600, 5 * 86400),
        ScenarioSpec("device_offline", faults.device_offline, _at(12, 10, 0), 900, 1800),
        ScenarioSpec("power_cut", faults.power_cut, _at(12, 14, 0), 3600, 9000),
        ScenarioSpec("tamper", faults.tamper, _at(12, 11, 0), 300, 900),
        ScenarioSpec("ebike_charging", fires.ebike_charging, _at(12, 22, 30), 300, 1200),
        ScenarioSpec("hvac_cycles", room_climate.hvac_cycles, _at(12, 7, 0), 1800, 9600),
        ScenarioSpec(
            "cooling_after_fire", room_climate.cooling_after_fire, _at(12, 9, 0), 600, 3600
        ),
        ScenarioSpec(
            "afternoon_sun_roof", room_climate.afternoon_sun_roof, _at(12, 12, 30), 3600, 23400
        ),
        ScenarioSpec("detector_swap", room_climate.detector_swap, _at(12, 15, 0), 7200, 10800),
    )
}

# Scenarios of the library played together. Apart from SCENARIOS: their parts are the library's
# own, already in every check of it (ground truth, the engine's golden decisions, two workers).
COMBINED: dict[str, ScenarioSpec] = {
    spec.name: spec
    for spec in (
        ScenarioSpec("two_fires", combined.two_fires, _at(12, 2, 10), 300, 600),
        ScenarioSpec("three_fires", combined.three_fires, _at(12, 2, 10), 300, 600),
    )
}


def build_scenario(
    name: str,
    *,
    quarter: Quarter,
    seed: int,
    start: datetime | None = None,
    preroll_s: float | None = None,
    seq_base: Mapping[str, int] | None = None,
) -> ScenarioRun:
    """``start``, ``preroll_s`` and ``seq_base`` let the demo play a scenario live: now, with
    a short lead-in, continuing each device's sequence numbers."""
    spec = SCENARIOS.get(name) or COMBINED.get(name)
    if spec is None:
        names = ", ".join([*SCENARIOS, *COMBINED])
        raise ValueError(f"unknown scenario {name!r}; choose one of {names}")
    stage = Stage(
        name=name,
        quarter=quarter,
        seed=seed,
        start=start or spec.start,
        preroll_s=spec.preroll_s if preroll_s is None else preroll_s,
        duration_s=spec.duration_s,
        seq_base=seq_base or {},
    )
    spec.build(stage)
    return stage.run()
