"""``firewatch demo``: the whole pipeline on this machine, with a simulated quarter.

It migrates, registers the quarter, starts ingest and the API, and publishes readings;
a detector overheats and then alarms, and a few bad messages show the dead-letter path.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from firewatch.processes import run_migrate, serve_all
from firewatch.settings import MqttTarget, Settings
from ingest.service import IngestService
from ingest.topics import Channel, topic_for
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from simulators.quarter import quarter
from store.database import connect_async
from store.devices import upsert_devices
from store.users import issue_token

PROGRESS_EVERY_S = 5.0


async def _register(settings: Settings, rows: list[dict[str, object]]) -> str:
    async with await connect_async(settings.database_url) as conn:
        await upsert_devices(conn, rows)
        return await issue_token(conn, name="demo-operator", role="operator")


def _publish(settings: Settings, sims: list[SimDevice], *, rate: float, stop: threading.Event,
             service: IngestService) -> None:  # fmt: skip
    victim = next(s for s in sims if s.kind.value == "smoke")
    with Publisher(MqttTarget(settings.mqtt_url), client_id="firewatch-demo-publisher") as pub:

        def bad(now: datetime) -> str:
            pub.publish(topic_for(settings.site, victim.id, Channel.READING), b"{oops")
            pub.publish(*SimDevice("GHOST-1", victim.kind, settings.site).reading(now))
            return "published a malformed message and one from an unknown device"

        def overheat(now: datetime) -> str:
            pub.publish(*victim.reading(now, temperature_c=61.5))
            return f"{victim.id} reads 61.5 °C (expect a heat_fixed fire alert)"

        def alarm(now: datetime) -> str:
            pub.publish(*victim.event(now, "alarm"))
            return f"{victim.id} sends its alarm event (expect a fire alert)"

        script: list[tuple[float, Callable[[datetime], str]]] = [
            (5.0, bad), (15.0, overheat), (25.0, alarm),
        ]  # fmt: skip
        started = time.monotonic()
        next_progress = started + PROGRESS_EVERY_S
        sent = 0
        while not stop.is_set():
            elapsed = time.monotonic() - started
            while script and elapsed >= script[0][0]:
                print(f"demo: {script.pop(0)[1](datetime.now(UTC))}")
            due = int(elapsed * rate)
            while sent < due and not stop.is_set():
                pub.publish(*sims[sent % len(sims)].reading(datetime.now(UTC)))
                sent += 1
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                print(f"demo: published={pub.published} {service.counters.summary()}")
            stop.wait(0.05)


def run_demo(settings: Settings, *, duration: float, rate: float) -> None:
    run_migrate(settings)
    rows, sims = quarter(site=settings.site)
    token = asyncio.run(_register(settings, rows))
    base = f"http://{settings.api_host}:{settings.api_port}"
    print(
        f"\nregistered {len(rows)} simulated devices at site {settings.site!r}.\n"
        f"  API docs:    {base}/docs\n"
        f"  readiness:   {base}/readyz\n"
        f"  live alerts: curl -H 'Authorization: Bearer {token}' {base}/api/v1/alerts\n"
        f"  database:    psql {settings.database_url}  (tables readings, alerts, dead_letters)\n"
        f"Ctrl-C stops the demo.\n"
    )
    stop = threading.Event()
    service = IngestService(settings)

    async def main() -> None:
        async def publisher() -> None:
            while not service.ready and not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.to_thread(_publish, settings, sims, rate=rate, stop=stop, service=service)

        async def timer() -> None:
            if duration > 0:
                await asyncio.to_thread(stop.wait, duration)
                stop.set()

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(serve_all(settings, stop, service), name="pipeline")
            tasks.create_task(publisher(), name="publisher")
            tasks.create_task(timer(), name="timer")

    try:
        asyncio.run(main())
    finally:
        stop.set()
        print(f"demo stopped: {service.counters.summary()}")
