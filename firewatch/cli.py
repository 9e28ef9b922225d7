"""The ``firewatch`` console script: one subcommand per process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from psycopg.errors import UndefinedTable
from pydantic import ValidationError

from firewatch.cli_broker import add_broker_parser, run_broker
from firewatch.cli_help import Paragraphs, add_command
from firewatch.cli_registry import add_registry_parsers, run_devices, run_users
from firewatch.cli_rosters import add_rosters_parser, run_rosters
from firewatch.logs import configure_logging
from settings import Settings
from store.database import DatabaseUnavailable

DESCRIPTION = """\
Firewatch: the monitoring backend of a fire-safety control centre. Devices publish over MQTT,
ingest stores them in PostgreSQL and the rules engine raises alerts, and the API serves the
operators' console. One subcommand per process; every setting is a FIREWATCH_* environment
variable (README.md lists them)."""

EPILOG = """\
Start here:
  firewatch demo                            the whole pipeline with simulated devices
  firewatch users add NAME --role operator  a token to sign in to the console with
  firewatch COMMAND --help                  a command's options"""

_EMBEDDED = (
    "With FIREWATCH_EMBEDDED on (the default), PostgreSQL and a broker are started here, with "
    "their data under FIREWATCH_EMBEDDED_DIR, for each service whose URL is not set and whose "
    "default address answers nothing. A URL you set (FIREWATCH_DATABASE_URL, FIREWATCH_MQTT_URL) "
    "is always used as it is, reachable or not."
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="firewatch", description=DESCRIPTION, epilog=EPILOG, formatter_class=Paragraphs
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_command(
        sub,
        "migrate",
        summary="create the database if needed and apply the migrations",
        details="Safe to run again: an up-to-date database is left as it is. "
        "FIREWATCH_DATABASE_URL names the database.",
    )
    add_command(
        sub,
        "up",
        summary="ingest, the API and the dispatcher in one process",
        details="For one machine and for demos; the console is served at "
        "http://FIREWATCH_API_HOST:FIREWATCH_API_PORT/. " + _EMBEDDED,
    )
    add_command(
        sub,
        "ingest",
        summary="the MQTT ingestion service alone",
        details="Subscribes to fw/v1/FIREWATCH_SITE/#, runs the rules engine and writes "
        "readings and alerts, acknowledging each message only after its batch is committed. "
        "Several workers share a site with FIREWATCH_INGEST_WORKERS and "
        "FIREWATCH_INGEST_WORKER_INDEX. With FIREWATCH_GB26875_PORT set, the GB/T 26875.3 "
        "server for fire alarm panels runs in its process (a single worker only; otherwise "
        "run 'firewatch gateway gb26875').",
    )
    add_command(
        sub,
        "api",
        summary="the HTTP API and the operators' console alone",
        details="Listens on FIREWATCH_API_HOST:FIREWATCH_API_PORT; /docs describes every route.",
    )
    add_command(
        sub,
        "dispatcher",
        summary="the notification sender and the dispatch loop alone (also inside 'up')",
        details="Sends what waits in PostgreSQL's queue, retrying with backoff, and escalates "
        "dispatches nobody accepted; a restart loses nothing.",
    )
    gateway = add_command(
        sub,
        "gateway",
        summary="a gateway alone: the GB/T 26875.3 server for fire alarm panels",
        details="Listens on FIREWATCH_GB26875_HOST:FIREWATCH_GB26875_PORT for user information "
        "transmission devices and confirms each packet once ingest has committed it. It hands "
        "over through the database's gateway inbox, so it runs beside any number of ingest "
        "workers (FIREWATCH_INGEST_WORKERS); with one ingest, setting FIREWATCH_GB26875_PORT "
        "for 'firewatch ingest' or 'up' runs the same server in their process instead. "
        "/metrics on FIREWATCH_GB26875_METRICS_PORT. docs/gateways.md describes the protocol.",
    )
    gateway.add_argument("name", choices=["gb26875"], help="the gateway to run")
    demo = add_command(
        sub,
        "demo",
        summary="the whole pipeline with the simulated quarter",
        details="Registers 3,031 simulated devices, starts ingest, the API and the dispatcher, "
        "publishes the quarter's live traffic and plays a scenario every few minutes, saying "
        "what to expect. It prints the console's address and an operator token to sign in "
        "with. It needs PostgreSQL and a broker at FIREWATCH_DATABASE_URL and "
        "FIREWATCH_MQTT_URL, and runs on a database of its own beside the configured one "
        "(firewatch_demo beside firewatch), made afresh at every start: a second run starts "
        "clean, and no other database is touched.",
    )
    demo.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")
    demo.add_argument("--rate", type=float, default=300, help="messages per second to publish")
    _simulator_parsers(sub)
    add_broker_parser(sub)
    add_registry_parsers(sub)
    add_rosters_parser(sub)
    return parser


def _simulator_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simulators.scenarios import SCENARIOS

    simulate = add_command(
        sub,
        "simulate",
        summary="the simulated quarter: topology, scenarios, load",
        details="Deterministic per seed; docs/simulators.md describes the quarter and every "
        "scenario.",
    )
    what = simulate.add_subparsers(dest="simulate_command", required=True, metavar="COMMAND")
    topology = add_command(
        what,
        "topology",
        summary="write the quarter in the registry's import format",
        details="Load it with 'firewatch devices import FILE'.",
    )
    topology.add_argument("--seed", type=int, default=7, help="the same seed, the same quarter")
    topology.add_argument("--out", type=Path, required=True, help="a .json file")
    scenario = add_command(
        what,
        "scenario",
        summary="write a scenario's messages (JSONL) and its ground truth beside them",
        details="Publish the messages with 'firewatch replay'; the ground truth lists the "
        "alerts expected, each with its onset and deadline, and those that must not come.",
        epilog="scenarios:\n" + "\n".join(f"  {s.name}: {s.title}" for s in SCENARIOS.values()),
    )
    scenario.add_argument(
        "name", choices=sorted(SCENARIOS), metavar="NAME", help="one of the scenarios below"
    )
    scenario.add_argument("--seed", type=int, default=7, help="the same seed, the same messages")
    scenario.add_argument(
        "--out",
        type=Path,
        required=True,
        help="NAME.jsonl; the ground truth goes to NAME.expect.json",
    )
    run = add_command(
        what,
        "run",
        summary="publish the quarter's live traffic at a target rate",
        details="Until Ctrl-C or --duration; the summary gives the rate reached.",
    )
    run.add_argument(
        "--devices",
        type=int,
        default=3031,
        help="beyond 3,031 the quarter is tiled into a bigger city",
    )
    run.add_argument("--rate", type=float, required=True, help="messages per second, in total")
    run.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")
    run.add_argument(
        "--processes", type=int, default=1, help="publisher processes; one tops out near 12k msg/s"
    )
    run.add_argument("--seed", type=int, default=7, help="the same seed, the same traffic")
    run.add_argument(
        "--register", action="store_true", help="register the devices first, so ingest accepts them"
    )
    replay = add_command(
        sub,
        "replay",
        summary="publish a recording (.jsonl) or a UL FSRI fire test (.csv)",
        details="A recording from 'firewatch record' or 'firewatch simulate scenario' is "
        "published with its timing; a fire test's columns become devices' readings.",
    )
    replay.add_argument("file", type=Path, help="a .jsonl recording or an FSRI .csv")
    replay.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="N x real time; 0: as fast as the in-flight window allows",
    )
    replay.add_argument(
        "--keep-time",
        action="store_true",
        help="keep the recorded device times (default: the recording ends now)",
    )
    replay.add_argument("--site", help="publish under this site instead of the recorded one")
    replay.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=DEVICE[:metric]",
        help="CSV column to device (repeat; replaces the default quadrants)",
    )
    record = add_command(
        sub,
        "record",
        summary="capture the site's live traffic as JSONL",
        details="What 'firewatch replay' publishes again.",
    )
    record.add_argument("--out", type=Path, required=True, help="a .jsonl file")
    record.add_argument("--duration", type=float, default=None, help="seconds (default: Ctrl-C)")


def _run_simulator(settings: Settings, args: argparse.Namespace) -> None:
    from simulators import commands

    if args.command == "replay":
        replayed = commands.replay_file(
            settings,
            path=args.file,
            speed=args.speed,
            keep_time=args.keep_time,
            site=args.site,
            maps=args.map,
        )
        print(
            f"replayed {replayed.sent} messages in {replayed.seconds:.1f} s "
            f"({replayed.rate:,.0f} msg/s); device time shifted by "
            f"{replayed.shift_ms / 1000:+.3f} s"
        )
    elif args.command == "record":
        count = commands.record_traffic(settings, out=args.out, duration=args.duration)
        print(f"recorded {count} messages to {args.out}")
    elif args.simulate_command == "topology":
        print(commands.simulate_topology(seed=args.seed, site=settings.site, out=args.out))
    elif args.simulate_command == "scenario":
        print(
            commands.simulate_scenario(
                name=args.name, seed=args.seed, site=settings.site, out=args.out
            )
        )
    else:
        if args.register:
            count = commands.register_devices(settings, seed=args.seed, devices=args.devices)
            print(f"registered {count} devices at site {settings.site!r}")
        result = commands.simulate_run(
            settings,
            devices=args.devices,
            rate=args.rate,
            duration=args.duration,
            processes=args.processes,
            seed=args.seed,
        )
        print(result.summary())


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"invalid FIREWATCH_* setting:\n{exc}")
    configure_logging(settings.log_format)
    try:
        _run(settings, args)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        explained = _explain(exc)
        if explained is None:
            raise
        sys.exit(f"firewatch {args.command}: {explained}")


def _run(settings: Settings, args: argparse.Namespace) -> None:  # noqa: C901 - a case per command
    """One subcommand; the processes' heavy imports happen only for the one that runs."""
    from firewatch import processes

    match args.command:
        case "migrate":
            processes.run_migrate(settings)
        case "up":
            processes.run_up(settings)
        case "ingest":
            processes.run_ingest(settings)
        case "dispatcher":
            processes.run_dispatcher(settings)
        case "gateway":
            processes.run_gateway(settings, args.name)
        case "api":
            from firewatch.serving import run_api

            run_api(settings)
        case "demo":
            from firewatch.demo import run_demo

            run_demo(settings, duration=args.duration, rate=args.rate)
        case "simulate" | "replay" | "record":
            _run_simulator(settings, args)
        case "broker":
            run_broker(settings, args)
        case "users":
            run_users(settings, args)
        case "devices":
            run_devices(settings, args)
        case "rosters":
            run_rosters(settings, args)


def _explain(exc: BaseException) -> str | None:
    """What a person can act on, if anything; processes run in task groups, so unwrap those."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    from firewatch.embedded import EmbeddedError
    from gateways.gb26875.running import SettingsConflict
    from simulators.errors import InputError

    if isinstance(
        exc,
        DatabaseUnavailable
        | ConnectionError
        | InputError
        | TimeoutError
        | EmbeddedError
        | SettingsConflict,
    ):
        return str(exc)
    if isinstance(exc, UndefinedTable):
        return f"{exc.diag.message_primary}; run 'firewatch migrate'"
    return None
