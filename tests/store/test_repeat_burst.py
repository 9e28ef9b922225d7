"""Issue 14: one detector sending 100 alarms a second for 10 s, through real Mosquitto, real
ingest and a real LISTEN on the alert channel, gives one alert whose repeats are summarised:
a bounded number of NOTIFYs and log rows (the stream's events), and the right final count."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from contract.kinds import Kind
from firewatch.testing import wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from store.notify import CHANNEL
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar

RATE, SECONDS = 100, 10


def test_an_alarm_burst_gives_bounded_events_and_the_right_count(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any], database_url: str
) -> None:
    smoke = SimDevice(registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site)
    sent = RATE * SECONDS
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        running(settings),
        Publisher(settings.mqtt, client_id=f"p-{settings.site}") as pub,
    ):
        listener.execute(f"LISTEN {CHANNEL}")
        start = time.monotonic()
        first = datetime.now(UTC) - timedelta(seconds=SECONDS)
        for i in range(sent):
            pub.publish(*smoke.event(first + timedelta(milliseconds=10 * i), "alarm"))
            time.sleep(max(0.0, start + (i + 1) / RATE - time.monotonic()))

        def alert() -> tuple[int, int, int] | None:
            return db.execute(
                "SELECT id, count, notified_count FROM alerts WHERE device_id = %s",
                (smoke.id,),
            ).fetchone()

        # The final summary comes with a timer tick once the last one is a second old.
        wait_until(
            lambda: (alert() or (0, 0, 0))[1:] == (sent, sent),
            timeout=20,
            what=f"the alert's count and its last summary to reach {sent}",
        )
        found = alert()
        assert found is not None
        notes = [json.loads(n.payload) for n in listener.notifies(timeout=0.5)]
    mine = [n for n in notes if n.get("id") == found[0]]
    logged = scalar(db, "SELECT count(*) FROM alert_log WHERE alert_id = %s", found[0])
    print(f"\n{sent} alarms in {SECONDS} s: {len(mine)} NOTIFYs, {logged} log rows")
    assert len(mine) <= 20 and logged <= 20
    assert mine[0]["change"] == "raise" and mine[-1]["count"] == sent
    assert all(n["change"] == "repeat" for n in mine[1:])
    assert scalar(db, "SELECT count(*) FROM alerts WHERE device_id = %s", smoke.id) == 1
