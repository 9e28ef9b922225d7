"""``firewatch demo``: the whole pipeline on this machine, with the simulated quarter.

It runs on a database of its own, made afresh at every start (``firewatch.demo_database``),
migrates it, registers the quarter and its safety grid, starts ingest, the API and the
dispatcher, and publishes the quarter's live traffic. In the first half minute a detector
overheats and then alarms, and a few bad messages show the dead-letter path; from then on a
scenario from the library plays every few minutes, in real time, in a building of its own.
Fires go from the screen to the door (``firewatch.demo_grid``): dispatched to the zone's grid
worker, automatically when confirmed, and answered by simulated workers step by step.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo

from psycopg.conninfo import conninfo_to_dict

from contract.topics import Channel, topic_for
from firewatch.demo_database import fresh_demo_database
from firewatch.demo_expectations import clock, scenario_lines
from firewatch.demo_gateways import DemoGateways, with_gateways
from firewatch.demo_grid import STAGED_TEST, DemoGrid, seed_grid
from firewatch.processes import local_gateways, run_migrate
from firewatch.serving import serve_all
from gateways.gb26875 import running as gb26875
from ingest.parts import IngestParts
from ingest.service import IngestService
from registry.service import import_document
from settings import Settings
from simulators.live import LiveTraffic
from simulators.publisher import Publisher
from simulators.scenarios import SCENARIOS, ScenarioRun, build_scenario
from simulators.topology import Quarter, build_quarter
from simulators.wire import Wire
from store.database import connect_async
from store.users import issue_token

PROGRESS_EVERY_S = 5.0
SEED = 7
VICTIM = "SD-0001"  # in the community hall, where no scenario plays
FIRST_SCENARIO_S = 40.0
SCENARIO_EVERY_S = 180.0
SCENARIO_LEAD_IN_S = 60.0
# The scripted alerts come as their message is stored: a second or two; said as five.
AT_ONCE_S = 5.0
# Those that play out within about twenty minutes; the longer ones are for replay.
DEMO_SCENARIOS = (
    "flaming_fire",
    "cooking_smoke",
    "ebike_charging",
    "electrical_fire",
    "sun_glint",
    "tamper",
    "bathroom_steam",
    "device_offline",
    "smouldering_fire",
)


async def _register(
    settings: Settings, quarter: Quarter, grid: DemoGrid, gateways: DemoGateways
) -> tuple[str, str]:
    """The quarter and the devices behind gateways through the registry's own import, its
    grid's rosters, and the demo operator's token; and a line about the grid."""
    async with await connect_async(settings.database_url) as conn:
        await import_document(conn, quarter.document())
        await import_document(conn, gateways.document(settings.site))
        token = await issue_token(conn, name="demo-operator", role="operator")
    zones = {b.zone for b in quarter.buildings}
    return token, await seed_grid(settings, zones=zones, phones=grid.workers.url, seed=SEED)


@dataclass(slots=True)
class _Playing:
    run: ScenarioRun
    started: float  # monotonic
    sent: int = 0


class _Scenarios:
    """Plays the library in turn, each live: its devices leave the round robin meanwhile."""

    def __init__(
        self, quarter: Quarter, traffic: LiveTraffic, grid: DemoGrid, *, tz: tzinfo
    ) -> None:
        self._quarter, self._traffic, self._grid = quarter, traffic, grid
        self._tz = tz
        self._turn = 0
        self._playing: list[_Playing] = []

    def start_next(self) -> list[str]:
        busy = set(self._traffic.muted)
        for _ in DEMO_SCENARIOS:
            name = DEMO_SCENARIOS[self._turn % len(DEMO_SCENARIOS)]
            self._turn += 1
            run = build_scenario(
                name,
                quarter=self._quarter,
                seed=SEED,
                start=datetime.now(UTC),
                preroll_s=SCENARIO_LEAD_IN_S,
                seq_base={d.id: self._traffic.seq(d.id) for d in self._quarter.devices},
            )
            if busy.isdisjoint(run.final_seq):
                self._traffic.muted.update(run.final_seq)
                self._grid.stage_scenario(name, run.final_seq)
                self._playing.append(_Playing(run, time.monotonic()))
                return scenario_lines(
                    name,
                    run.expectation,
                    title=SCENARIOS[name].title,
                    onset_s=SCENARIO_LEAD_IN_S,
                    tz=self._tz,
                )
        return ["every scenario's devices are busy; skipping a turn"]

    def publish_due(self, pub: Publisher) -> None:
        now = time.monotonic()
        for playing in list(self._playing):
            messages = playing.run.messages
            while (
                playing.sent < len(messages) and playing.started + messages[playing.sent].t <= now
            ):
                pub.publish(messages[playing.sent].topic, messages[playing.sent].payload)
                playing.sent += 1
            if playing.sent == len(messages):
                for device_id, seq in playing.run.final_seq.items():
                    self._traffic.resume(device_id, seq=seq)
                self._playing.remove(playing)


def _publish(
    settings: Settings,
    quarter: Quarter,
    *,
    rate: float,
    stop: threading.Event,
    service: IngestService,
    grid: DemoGrid,
) -> None:
    traffic = LiveTraffic(quarter.devices, seed=SEED)
    victim = traffic.wire(VICTIM)
    scenarios = _Scenarios(quarter, traffic, grid, tz=settings.tz)
    with Publisher(settings.mqtt, client_id="firewatch-demo-publisher") as pub:

        def bad(now: datetime) -> str:
            pub.publish(topic_for(settings.site, VICTIM, Channel.READING), b"{oops")
            pub.publish(*Wire(settings.site, "GHOST-1").reading(_ms(now), {"temperature_c": 24}))
            return (
                "published a malformed message and one from an unknown device (expect both in "
                f"dead_letters by {_soon(now, settings.tz)}, as malformed and unknown_device)"
            )

        def overheat(now: datetime) -> str:
            pub.publish(
                *victim.reading(_ms(now), {"obscuration_pct_per_m": 0.2, "temperature_c": 61.5})
            )
            return (
                f"{VICTIM} reads 61.5 °C (expect by {_soon(now, settings.tz)}: heat_fixed (fire) "
                "on it, in a fire incident for its building)"
            )

        def alarm(now: datetime) -> str:
            pub.publish(*victim.event(_ms(now), "alarm"))
            return (
                f"{VICTIM} sends its alarm event (expect by {_soon(now, settings.tz)}: "
                "smoke_alarm (fire) on it, joining the same incident)"
            )

        script: list[tuple[float, Callable[[datetime], str]]] = [
            (5.0, bad),
            (15.0, overheat),
            (25.0, alarm),
        ]
        started = time.monotonic()
        next_progress = started + PROGRESS_EVERY_S
        next_scenario = started + FIRST_SCENARIO_S
        sent = 0
        while not stop.is_set():
            elapsed = time.monotonic() - started
            while script and elapsed >= script[0][0]:
                print(f"demo: {script.pop(0)[1](datetime.now(UTC))}")
            if time.monotonic() >= next_scenario:
                next_scenario += SCENARIO_EVERY_S
                for line in scenarios.start_next():
                    print(f"demo: {line}")
            scenarios.publish_due(pub)
            due = int(elapsed * rate)
            while sent < due and not stop.is_set():
                pub.publish(*traffic.next_message(time.time()))
                sent += 1
            if time.monotonic() >= next_progress:
                next_progress += PROGRESS_EVERY_S
                print(f"demo: published={pub.published} {service.counters.summary()}")
            stop.wait(0.05)


def _soon(now: datetime, tz: tzinfo) -> str:
    return clock(now + timedelta(seconds=AT_ONCE_S), tz)


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def run_demo(settings: Settings, *, duration: float, rate: float) -> None:
    settings = with_gateways(fresh_demo_database(settings))
    run_migrate(settings)
    quarter = build_quarter(seed=SEED, site=settings.site)
    gateways = DemoGateways.of(quarter)
    grid = DemoGrid(settings, seed=SEED)
    grid.stage([VICTIM], STAGED_TEST)
    grid.workers.start()
    token, grid_line = asyncio.run(_register(settings, quarter, grid, gateways))
    base = f"http://{settings.api_host}:{settings.api_port}"
    database = conninfo_to_dict(settings.database_url).get("dbname")
    print(
        f"\nregistered {len(quarter.devices)} simulated devices in {len(quarter.buildings)} "
        f"buildings at site {settings.site!r}, in the demo's own database {database} (made "
        "afresh at every start: nothing of an earlier run is left),\n"
        f"and behind gateways {gateways.summary()}.\n"
        f"  console:     {base}/  sign in with this operator token (demo-operator):\n"
        f"               {token}\n"
        f"  API docs:    {base}/docs and {base}/redoc\n"
        f"  readiness:   {base}/readyz\n"
        f"  incidents:   curl -H 'Authorization: Bearer {token}' {base}/api/v1/incidents\n"
        f"  signals:     curl -H 'Authorization: Bearer {token}' {base}/api/v1/alerts\n"
        f"  database:    psql '{settings.database_url}'"
        "  (tables readings, incidents, alerts, dead_letters)\n"
        f"  monthly:     curl -H 'Authorization: Bearer {token}' "
        f"'{base}/api/v1/reports/monthly?format=html'\n"
        f"{grid_line}.\n"
        f"Ctrl-C stops the demo.\n"
    )
    stop = threading.Event()
    beside, panels = local_gateways(settings)
    service = IngestService(
        settings, parts=IngestParts.from_settings(settings, local_gateways=beside)
    )
    gb26875.start(settings, panels, stop)

    async def main() -> None:
        async def publisher() -> None:
            while not service.ready and not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.to_thread(
                _publish, settings, quarter, rate=rate, stop=stop, service=service, grid=grid
            )

        async def operator() -> None:
            while not service.ready and not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.to_thread(grid.operate, token, stop)

        async def gateway_devices() -> None:
            while not service.ready and not stop.is_set():
                await asyncio.sleep(0.1)
            await asyncio.to_thread(
                gateways.run, settings, stop, say=lambda line: print(f"demo: {line}")
            )

        async def timer() -> None:
            if duration > 0:
                await asyncio.to_thread(stop.wait, duration)
                stop.set()

        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(serve_all(settings, stop, service), name="pipeline")
            tasks.create_task(publisher(), name="publisher")
            tasks.create_task(operator(), name="operator")
            tasks.create_task(gateway_devices(), name="gateway devices")
            tasks.create_task(timer(), name="timer")

    try:
        asyncio.run(main())
    finally:
        stop.set()
        grid.workers.stop()
        print(f"demo stopped: {service.counters.summary()}")
