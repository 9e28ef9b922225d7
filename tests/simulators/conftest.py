from __future__ import annotations

import pytest

from simulators.scenarios import SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter

SEED = 7
SITE = "zilai"


@pytest.fixture(scope="session")
def quarter() -> Quarter:
    return build_quarter(seed=SEED, site=SITE)


@pytest.fixture(scope="session")
def scenario_runs(quarter: Quarter) -> dict[str, ScenarioRun]:
    return {name: build_scenario(name, quarter=quarter, seed=SEED) for name in SCENARIOS}
