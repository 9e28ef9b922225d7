"""Operator-facing items per real fire: the open incidents GET /api/v1/incidents lists, beside
the signals (open alerts) an operator would work without them, through the real broker, ingest,
PostgreSQL and the API over HTTP.

    python -m bench.incidents [--repeat 3] [--experiment 100kW_Closed_Back_1] [--only CASE ...]

Each case runs in a database, ingest and API of its own (one broker for all), its device time
shifted to end now, and is judged a couple of timer ticks after ingest took its last message:

- each fire scenario of the library: one incident (issue 16's target), beside its open alerts
  and the rules it raised (each rule was an alert of its own before issue 16: 13 to 21 per fire);
- an FSRI compartment fire replayed as the four ceiling multi-sensors of the community hall: one
  incident;
- three simultaneous fires in three buildings: three incidents and no alert_flood alert.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import psycopg

from api.app import create_app
from bench.fsri import data_dir
from bench.results import Figure, record
from contract.alarms import AlertClass, Rule
from firewatch.testing import own_broker, own_database, serving, wait_until
from ingest.service import IngestService
from registry.service import import_at
from settings import MqttTarget, Settings
from simulators.fsri import DEFAULT_MAP, read_fsri
from simulators.publisher import Publisher
from simulators.replay import replay
from simulators.scenarios import COMBINED, SCENARIOS, build_scenario
from simulators.topology import Quarter, build_quarter
from store.alerts import seen_alerts
from store.database import connect
from store.users import add_user

SEED = 7
FIRES = ("flaming_fire", "smouldering_fire", "electrical_fire", "ebike_charging")
FSRI = "fsri"
SIMULTANEOUS = "three_fires"
CASES = (*FIRES, FSRI, SIMULTANEOUS)
HALL = "B-001"  # the community hall: its four ceiling multi-sensors replay the FSRI fire
SETTLE_S = 2.5  # a couple of the timers' ticks (1 s) after the last message: floods are theirs


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    incidents: int  # open, as the API lists them: the operator's items
    fire_incidents: int
    buildings: tuple[str, ...]  # of the open incidents ("-": a camera target with no building)
    confirmed: int
    alerts: int  # open alerts: the signals, what the operator would work without incidents
    rules: int  # rules raised (each step up too): each was an alert of its own before issue 16
    floods: int  # alert_flood alerts ever raised


@dataclass(frozen=True, slots=True, kw_only=True)
class Wanted:
    incidents: int
    buildings: tuple[str, ...]  # where, sorted


@contextmanager
def _pipeline(broker_url: str, quarter: Quarter) -> Iterator[tuple[IngestService, str, str]]:
    """A fresh database with the quarter, ingest in a thread, the API on a socket; yields the
    ingest service, the API's base URL and an operator's token."""
    site = quarter.devices[0].site
    with own_database("fw_bench_incidents") as url:
        asyncio.run(import_at(url, quarter.document()))

        async def operator() -> str:
            async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
                return await add_user(conn, name="bench-operator", role="operator")

        token = asyncio.run(operator())
        settings = Settings(
            database_url=url, mqtt_url=broker_url, site=site, ingest_client_id=f"ingest-{site}"
        )
        service = IngestService(settings)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: service.ready, timeout=20, what="ingest to connect")
            with serving(create_app(settings)) as base:
                yield service, base, token
        finally:
            stop.set()
            thread.join(timeout=20)


def _publish_scenario(name: str, site: str) -> tuple[Quarter, Callable[[Publisher], int], Wanted]:
    spec = SCENARIOS.get(name) or COMBINED[name]
    quarter = build_quarter(seed=SEED, site=site)
    start = datetime.now(UTC) - timedelta(seconds=spec.preroll_s + spec.duration_s + 60)
    run = build_scenario(name, quarter=quarter, seed=SEED, start=start)
    buildings = sorted(
        e.subject.removeprefix("building:")
        for e in run.expectation.expected
        if e.rule is Rule.CONFIRMED_FIRE
    )

    def publish(publisher: Publisher) -> int:
        for message in run.messages:
            publisher.publish(message.topic, message.payload)
        return len(run.messages)

    return quarter, publish, Wanted(incidents=len(buildings), buildings=tuple(buildings))


def _publish_fsri(path: Path, site: str) -> tuple[Quarter, Callable[[Publisher], int], Wanted]:
    quarter = build_quarter(seed=SEED, site=site)
    hall = {d.id for d in quarter.in_building(HALL)}
    assert {m.device_id for m in DEFAULT_MAP} <= hall, "the FSRI map names the hall's sensors"

    def publish(publisher: Publisher) -> int:
        source = lambda: read_fsri(path, site=site)  # noqa: E731 - replay reads it twice
        return replay(source, publisher=publisher, speed=0, keep_time=False).sent

    return quarter, publish, Wanted(incidents=1, buildings=(HALL,))


def _get(base: str, token: str, path: str) -> Any:
    response = httpx2.get(f"{base}{path}", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


def run_case(name: str, *, broker_url: str, fsri: Path) -> tuple[Outcome, Wanted]:
    site = "b" + uuid.uuid4().hex[:12]
    if name == FSRI:
        quarter, publish, wanted = _publish_fsri(fsri, site)
    else:
        quarter, publish, wanted = _publish_scenario(name, site)
    with _pipeline(broker_url, quarter) as (service, base, token):
        with Publisher(MqttTarget(broker_url), client_id=f"pub-{site}") as publisher:
            sent = publish(publisher)
        wait_until(
            lambda: service.counters.received >= sent, timeout=300, what=f"ingest to take {sent}"
        )
        time.sleep(SETTLE_S)
        incidents = _get(base, token, "/api/v1/incidents?open=true&limit=500")["items"]
        alerts = _get(base, token, "/api/v1/alerts?open=true&limit=1000")
        every = _get(base, token, "/api/v1/alerts?limit=1000")
        with connect(service.settings.database_url, autocommit=True) as conn:
            rules = sum(1 for row in seen_alerts(conn) if row[1] != Rule.ALERT_FLOOD)
    outcome = Outcome(
        incidents=len(incidents),
        fire_incidents=sum(1 for i in incidents if i["class"] == AlertClass.FIRE),
        buildings=tuple(sorted(i["building"] or "-" for i in incidents)),
        confirmed=sum(1 for i in incidents if i["confirmed"]),
        alerts=len(alerts),
        rules=rules,
        floods=sum(1 for a in every if a["rule"] == Rule.ALERT_FLOOD),
    )
    return outcome, wanted


def _met(name: str, outcome: Outcome, wanted: Wanted) -> bool:
    placed = outcome.incidents == wanted.incidents and outcome.buildings == wanted.buildings
    if name == SIMULTANEOUS:
        return placed and outcome.floods == 0
    return placed and outcome.fire_incidents == outcome.incidents


def _median(values: list[int]) -> float:
    return float(statistics.median(values))


def _cell(values: list[int]) -> str:
    spread = f" ({min(values)}-{max(values)})" if min(values) != max(values) else ""
    return f"{_median(values):g}{spread}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--experiment", default="100kW_Closed_Back_1", help="an FSRI CSV's name")
    parser.add_argument("--only", nargs="+", choices=CASES, default=list(CASES))
    args = parser.parse_args(argv)
    fsri = data_dir() / f"{args.experiment}.csv"
    if not fsri.is_file():
        parser.error(f"no FSRI experiment {args.experiment!r} in {fsri.parent}")
    load = os.getloadavg()
    runs: dict[str, list[tuple[Outcome, Wanted]]] = {name: [] for name in args.only}
    with tempfile.TemporaryDirectory() as tmp, own_broker(Path(tmp)) as broker_url:
        for n in range(args.repeat):
            for name in args.only:
                print(f"run {n + 1}/{args.repeat}: {name}", file=sys.stderr)
                runs[name].append(run_case(name, broker_url=broker_url, fsri=fsri))
    load_after = os.getloadavg()
    return _report(runs, experiment=args.experiment, repeat=args.repeat, load=(load, load_after))


def _report(
    runs: dict[str, list[tuple[Outcome, Wanted]]],
    *,
    experiment: str,
    repeat: int,
    load: tuple[tuple[float, ...], tuple[float, ...]],
) -> int:
    print(
        f"\nmedians of {repeat} runs (spread); load average {load[0][0]:.2f} before, "
        f"{load[1][0]:.2f} after, on {os.cpu_count()} cores"
    )
    print(
        f"{'case':20}{'incidents':>11}{'fire':>7}{'confirmed':>11}{'open alerts':>13}"
        f"{'rules raised':>14}{'floods':>8}{'alerts, rules per incident':>28}  met"
    )
    figures: list[Figure] = []
    verdicts: dict[str, bool] = {}
    for name, results in runs.items():
        outcomes = [o for o, _ in results]
        column = {f: [getattr(o, f) for o in outcomes] for f in Outcome.__dataclass_fields__}
        verdicts[name] = all(_met(name, o, w) for o, w in results)
        incidents, alerts = _median(column["incidents"]), _median(column["alerts"])
        per = f"{alerts / incidents:.1f}x, {_median(column['rules']) / incidents:.1f}x"
        print(
            f"{name:20}{_cell(column['incidents']):>11}{_cell(column['fire_incidents']):>7}"
            f"{_cell(column['confirmed']):>11}{_cell(column['alerts']):>13}"
            f"{_cell(column['rules']):>14}{_cell(column['floods']):>8}{per:>28}  "
            f"{'yes' if verdicts[name] else 'NO: ' + str(results)}"
        )
        wanted = results[0][1].incidents
        label = {
            FSRI: f"FSRI {experiment} as 4 ceiling detectors in one room: open incidents",
            SIMULTANEOUS: "3 simultaneous fires in 3 buildings: open incidents",
        }.get(name, f"{name}: open incidents (operator's items per fire)")
        figures.append(
            Figure(
                name=label,
                value=incidents,
                unit="items",
                target=f"= {wanted}",
                met=verdicts[name],
                baseline="open alerts (signals)",
                ratio=incidents / alerts if alerts else None,
            )
        )
        if name == SIMULTANEOUS:
            figures.append(
                Figure(
                    name="3 simultaneous fires: alert_flood alerts",
                    value=_median(column["floods"]),
                    unit="alerts",
                    target="= 0",
                    met=max(column["floods"]) == 0,
                )
            )
    fires = [name for name in FIRES if name in runs]
    if fires:
        for field, label in (
            ("alerts", "open alerts (signals) per fire"),
            ("rules", "rules raised per fire (each an alert before issue 16; was 13-21)"),
        ):
            per_fire = [statistics.median(getattr(o, field) for o, _ in runs[f]) for f in fires]
            figures.append(
                Figure(
                    name=f"{label}, median of {len(fires)} fire scenarios "
                    f"({min(per_fire):g}-{max(per_fire):g})",
                    value=statistics.median(per_fire),
                    unit="alerts",
                    target="",
                    met=None,
                )
            )
    record(
        "incidents",
        figures,
        note=f"medians of {repeat} runs; broker, ingest, PostgreSQL and the API over HTTP; "
        f"load average {load[0][0]:.2f} before, {load[1][0]:.2f} after",
    )
    missed = [name for name, ok in verdicts.items() if not ok]
    print(f"\n{'every target met' if not missed else 'MISSED: ' + ', '.join(missed)}")
    return 0 if not missed else 1


if __name__ == "__main__":
    raise SystemExit(main())
