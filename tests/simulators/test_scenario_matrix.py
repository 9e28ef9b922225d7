"""Every scenario's ground truth, checked against what the real system raised.

Ten scenarios, and the combined ones (fires in several buildings at once), go through the real
broker, ingest, engine and database, their device time shifted to end now (ingest refuses
stale device clocks). Besides the alerts, the incidents the operator works are checked against
the same ground truth: one per fire, of class fire, holding the fire's signals; none of class
fire where the ground truth forbids fire; no flood for fires in a few buildings at once.

The two offline scenarios hinge on silence measured on the server's clock, which a replay
cannot compress: they go through the engine alone, each message arriving at its own device
time, with the engine's timers ticking every ten seconds of that time, as they would live.
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from alerts.devices import device_info
from alerts.engine import Engine
from alerts.signals import Change
from contract.alarms import AlertClass, Rule
from contract.codec import Limits, decode
from contract.kinds import Kind
from contract.messages import Decoded
from firewatch.testing import own_database, wait_until
from ingest.service import IngestService
from registry.service import import_at
from settings import MqttTarget, Settings
from simulators.expectations import Expectation, SeenAlert, violations
from simulators.publisher import Publisher
from simulators.scenarios import COMBINED, SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter
from store.alerts import seen_alerts
from store.database import connect

SEED = 7
OFFLINE = ("device_offline", "power_cut")
THROUGH_THE_PIPELINE = sorted(set(SCENARIOS) - set(OFFLINE)) + sorted(COMBINED)
TICK_S = 10.0
SETTLE_S = 2.5  # a couple of the timers' ticks (1 s) after the last message: floods are theirs

INCIDENTS = """
SELECT i.id, i.building, i.class, i.confirmed_at,
       coalesce(array_agg(DISTINCT a.subject) FILTER (WHERE a.id IS NOT NULL), '{}')
FROM incidents i LEFT JOIN alerts a ON a.incident_id = i.id
GROUP BY i.id ORDER BY i.id
"""


@dataclass(frozen=True, slots=True)
class SeenIncident:
    id: int
    building: str | None
    alert_class: str
    confirmed_at: datetime | None
    devices: frozenset[str]  # whose signals it holds


def fire_buildings(expectation: Expectation) -> list[str]:
    """Where the ground truth has a fire: the buildings it expects confirmed."""
    return sorted(
        e.subject.removeprefix("building:")
        for e in expectation.expected
        if e.rule is Rule.CONFIRMED_FIRE
    )


def never_fire(expectation: Expectation) -> bool:
    """Whether the ground truth forbids any fire alert, anywhere, throughout."""
    return any(
        f.alert_class is AlertClass.FIRE
        and f.until_s is None
        and not f.subjects
        and not f.max_count
        for f in expectation.forbidden
    )


def _incidents(conn: psycopg.Connection[Any]) -> list[SeenIncident]:
    return [SeenIncident(r[0], r[1], r[2], r[3], frozenset(r[4])) for r in conn.execute(INCIDENTS)]


def signalling(expectation: Expectation, quarter: Quarter, building: str) -> set[str]:
    """The devices the ground truth expects to alert on a fire in ``building``: its own, and
    the cameras that watch it."""
    devices = [quarter.device(e.subject) for e in expectation.expected if ":" not in e.subject]
    return {
        d.id for d in devices if d.building == building or building in d.config.get("covers", ())
    }


def incident_violations(
    expectation: Expectation, *, quarter: Quarter, incidents: list[SeenIncident]
) -> list[str]:
    """What in the incidents contradicts the scenario's ground truth."""
    fires = fire_buildings(expectation)
    found: list[str] = []
    burning = sorted(str(i.building) for i in incidents if i.alert_class == AlertClass.FIRE)
    if fires and (burning != fires or len(incidents) != len(fires)):
        found.append(f"fires in {fires}: one incident each, of class fire; got {incidents}")
    if never_fire(expectation) and burning:
        found.append(f"no fire here, yet fire incidents in {burning}: {incidents}")
    for building in fires:
        incident = next((i for i in incidents if i.building == building), None)
        devices = signalling(expectation, quarter, building)
        if incident is None or not devices <= incident.devices:
            found.append(f"{building}: one incident holds {sorted(devices)}; got {incident}")
            continue
        kinds = {quarter.device(d).kind for d in incident.devices}
        if {Kind.THERMAL_CAMERA, Kind.SMOKE} <= kinds and incident.confirmed_at is None:
            found.append(f"{building}: a camera and a detector agree, unconfirmed: {incident}")
    return found


def _scenario(name: str, site: str) -> tuple[Quarter, ScenarioRun]:
    spec = SCENARIOS.get(name) or COMBINED[name]
    quarter = build_quarter(seed=SEED, site=site)
    start = datetime.now(UTC) - timedelta(seconds=spec.preroll_s + spec.duration_s + 60)
    return quarter, build_scenario(name, quarter=quarter, seed=SEED, start=start)


@pytest.mark.parametrize("name", THROUGH_THE_PIPELINE)
def test_scenario_through_broker_ingest_engine_and_database(name: str, broker_url: str) -> None:
    site = "m" + uuid.uuid4().hex[:12]
    quarter, run = _scenario(name, site)
    with own_database("fw_scenario") as url:
        asyncio.run(import_at(url, quarter.document()))
        settings = Settings(
            database_url=url,
            mqtt_url=broker_url,
            site=site,
            ingest_client_id=f"ingest-{site}",
            ingest_batch_wait_ms=20,
        )
        service = IngestService(settings)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
            with Publisher(MqttTarget(broker_url), client_id=f"pub-{site}") as publisher:
                for message in run.messages:
                    publisher.publish(message.topic, message.payload)
            what = f"ingest to take all {len(run.messages)} messages of {name}"
            wait_until(
                lambda: service.counters.received >= len(run.messages), timeout=120, what=what
            )
            assert service.counters.stored == len(run.messages), service.counters.summary()
            if name in COMBINED:
                time.sleep(SETTLE_S)
        finally:
            stop.set()
            thread.join(timeout=20)
        with connect(url, autocommit=True) as conn:
            seen = [SeenAlert(*row) for row in seen_alerts(conn)]
            incidents = _incidents(conn)
    print(f"{name}: {len(run.messages)} messages, {len(seen)} alerts, {len(incidents)} incidents")
    floods = [
        f"a flood with {len(incidents)} incidents: {a}" for a in seen if a.rule == Rule.ALERT_FLOOD
    ]
    problems = violations(run.expectation, seen) + incident_violations(
        run.expectation, quarter=quarter, incidents=incidents
    )
    assert not problems + floods, "\n".join(problems + floods)


def test_the_ground_truth_tells_the_fires_from_what_never_is_one(
    scenario_runs: dict[str, ScenarioRun], quarter: Quarter
) -> None:
    """The incident checks read fire and no fire off the ground truth: that reading must find
    the library's fires and its nuisances, or those checks would pass without checking."""
    fires = {n for n, r in scenario_runs.items() if fire_buildings(r.expectation)}
    never = {n for n, r in scenario_runs.items() if never_fire(r.expectation)}
    assert fires == {"flaming_fire", "smouldering_fire", "electrical_fire", "ebike_charging"}
    nuisances = {
        n
        for n, s in SCENARIOS.items()
        if s.build.__module__.endswith((".nuisance", ".room_climate"))
    }
    assert len(nuisances) == 8 and nuisances <= never
    assert not fires & never
    ebike = scenario_runs["ebike_charging"].expectation
    (building,) = fire_buildings(ebike)
    kinds = sorted(quarter.device(d).kind for d in signalling(ebike, quarter, building))
    assert kinds == [Kind.SMOKE, Kind.THERMAL_CAMERA], "a camera and one detector, no other"
    for name, count in (("two_fires", 2), ("three_fires", 3)):
        run = build_scenario(name, quarter=quarter, seed=SEED)
        assert len(set(fire_buildings(run.expectation))) == count


@pytest.mark.parametrize("name", OFFLINE)
def test_offline_scenario_through_the_engine_on_device_time(name: str) -> None:
    quarter, run = _scenario(name, "zilai")
    engine = Engine()
    engine.configure(
        device_info(
            device_id=d.id,
            kind=d.kind,
            site=d.site,
            building=d.building,
            heartbeat_s=d.heartbeat_s,
            config=d.config,
        )
        for d in quarter.devices
    )
    limits = Limits(future_tolerance=timedelta(days=1), stale_after=timedelta(days=30))
    seen: list[SeenAlert] = []

    def keep(decisions: list) -> None:  # type: ignore[type-arg]
        seen.extend(
            SeenAlert(d.subject, d.rule.value, d.alert_class.value, d.at)
            for d in decisions
            if d.change is Change.RAISE
        )

    start = run.expectation.start
    next_tick = start
    for message in run.messages:
        at = start + timedelta(seconds=message.t)
        while next_tick <= at:
            keep(engine.tick(next_tick))
            engine.commit()
            next_tick += timedelta(seconds=TICK_S)
        decoded = decode(message.topic, message.payload, now=at, limits=limits)
        assert isinstance(decoded, Decoded), decoded
        keep(engine.evaluate([(decoded, at)]))
        engine.commit()
    end = start + timedelta(seconds=run.expectation.duration_s)
    while next_tick <= end:
        keep(engine.tick(next_tick))
        engine.commit()
        next_tick += timedelta(seconds=TICK_S)
    assert violations(run.expectation, seen) == []
