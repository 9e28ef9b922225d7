"""Every scenario's ground truth, checked against what the real system raised.

Ten scenarios go through the real broker, ingest, engine and database, their device time
shifted to end now (ingest refuses stale device clocks). The two offline scenarios hinge on
silence measured on the server's clock, which a replay cannot compress: they go through the
engine alone, each message arriving at its own device time, with the engine's timers ticking
every ten seconds of that time, as they would live.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from alerts.devices import device_info
from alerts.engine import Engine
from alerts.signals import Change
from contract.codec import Limits, decode
from contract.messages import Decoded
from firewatch.testing import own_database, wait_until
from ingest.service import IngestService
from registry.service import import_at
from settings import MqttTarget, Settings
from simulators.expectations import SeenAlert, violations
from simulators.publisher import Publisher
from simulators.scenarios import SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter
from store.alerts import seen_alerts
from store.database import connect

SEED = 7
OFFLINE = ("device_offline", "power_cut")
THROUGH_THE_PIPELINE = sorted(set(SCENARIOS) - set(OFFLINE))
TICK_S = 10.0


def _scenario(name: str, site: str) -> tuple[Quarter, ScenarioRun]:
    spec = SCENARIOS[name]
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
        finally:
            stop.set()
            thread.join(timeout=20)
        with connect(url, autocommit=True) as conn:
            seen = [SeenAlert(*row) for row in seen_alerts(conn)]
    print(f"{name}: {len(run.messages)} messages, {len(seen)} alerts")
    assert violations(run.expectation, seen) == []


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
