"""Two partitioned ingest workers store exactly what one stores, for every scenario, on the
server the tests run on (the TimescaleDB lane included: both workers' maintenance at once)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from contract.kinds import Kind
from ingest.partition import assign
from simulators.scenarios import build_scenario
from simulators.topology import build_quarter
from store.devices import RegisteredDevice
from tests.deploy.scenario_workers import (
    SEED,
    THROUGH_THE_PIPELINE,
    differences,
    run_scenario,
    start_of,
)


@pytest.mark.parametrize("name", THROUGH_THE_PIPELINE)
def test_two_workers_store_the_same_rows_and_alerts_as_one(name: str, broker_url: str) -> None:
    start = start_of(name)
    one = run_scenario(name, broker_url, start=start, workers=1)
    two = run_scenario(name, broker_url, start=start, workers=2)
    assert sum(two.received) >= sum(one.received), (two.received, one.received)
    assert one.tables["readings"] or one.tables["events"], "nothing stored: nothing was compared"
    if expects_alerts(name, start):  # a nuisance's is to raise nothing
        assert one.tables["alerts"], "the scenario raised nothing: no alert was compared"
    diff = differences(one, two)
    only_one = set(map(repr, one.tables["alerts"])) - set(map(repr, two.tables["alerts"]))
    only_two = set(map(repr, two.tables["alerts"])) - set(map(repr, one.tables["alerts"]))
    assert diff == dict.fromkeys(diff, 0), "\n".join(
        [str(diff), "one worker only:", *sorted(only_one), "two workers only:", *sorted(only_two)]
    )
    assert one.tables == two.tables


def expects_alerts(name: str, start: datetime) -> bool:
    quarter = build_quarter(seed=SEED, site="s")
    return bool(build_scenario(name, quarter=quarter, seed=SEED, start=start).expectation.expected)


def test_the_quarter_splits_into_balanced_partitions() -> None:
    """Scenarios play in a building or two; the quarter as a whole spreads over the workers."""
    quarter = build_quarter(seed=7, site="zilai")
    devices = {d.id: registered(d.registry_row()) for d in quarter.devices}
    for workers in (2, 4):
        shares = [assign(devices, site="zilai", workers=workers, index=i) for i in range(workers)]
        owned = [len(a.devices) for a in shares]
        assert sum(owned) == len(devices)
        assert set().union(*(a.devices for a in shares)) == set(devices)
        assert min(owned) > 0.6 * len(devices) / workers, owned
        cameras = {d.id for d in quarter.devices if d.kind.value == "thermal_camera"}
        assert all(a.observed <= cameras for a in shares)


def registered(row: dict[str, Any]) -> RegisteredDevice:
    return RegisteredDevice(
        id=row["id"],
        kind=Kind(row["kind"]),
        site=row["site"],
        status="active",
        building=row["building"],
        heartbeat_s=row["heartbeat_s"],
        config=row.get("config") or {},
    )
