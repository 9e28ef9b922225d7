"""The ``firewatch`` console script: one subcommand per process."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from psycopg.errors import UndefinedTable
from pydantic import ValidationError

from firewatch.cli_broker import add_broker_parser, run_broker
from firewatch.cli_registry import add_registry_parsers, run_devices, run_users
from firewatch.cli_rosters import add_rosters_parser, run_rosters
from firewatch.logs import configure_logging
from settings import Settings
from store.database import DatabaseUnavailable


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="firewatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    sub.add_parser("up", help="ingest, the API and the dispatcher in one process")
    sub.add_parser("ingest", help="the MQTT ingestion service alone")
    sub.add_parser("api", help="the HTTP API alone")
    sub.add_parser("dispatcher", help="the notification sender alone (also inside 'up')")
    demo = sub.add_parser("demo", help="the whole pipeline with simulated devices")
    demo.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")
    demo.add_argument("--rate", type=float, default=300, help="messages per second to publish")
    _simulator_parsers(sub)
    add_broker_parser(sub)
    add_registry_parsers(sub)
    add_rosters_parser(sub)
    return parser


def _simulator_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from simulators.scenarios import SCENARIOS

    simulate = sub.add_parser("simulate", help="the simulated quarter: topology, scenarios, load")
    what = simulate.add_subparsers(dest="simulate_command", required=True)
    topology = what.add_parser("topology", help="write the quarter in the registry's import format")
    topology.add_argument("--seed", type=int, default=7)
    topology.add_argument("--out", type=Path, required=True, help="a .json file")
    scenario = what.add_parser(
        "scenario",
        help="write a scenario's messages (JSONL) and its ground truth beside them",
        epilog="scenarios:\n" + "\n".join(f"  {s.name}: {s.title}" for s in SCENARIOS.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    scenario.add_argument("name", choices=sorted(SCENARIOS))
    scenario.add_argument("--seed", type=int, default=7)
    scenario.add_argument(
        "--out",
        type=Path,
        required=True,
        help="NAME.jsonl; the ground truth goes to NAME.expect.json",
    )
    run = what.add_parser("run", help="publish the quarter's live traffic at a target rate")
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
    run.add_argument("--seed", type=int, default=7)
    run.add_argument(
        "--register", action="store_true", help="register the devices first, so ingest accepts them"
    )
    replay = sub.add_parser("replay", help="publish a recording (.jsonl) or an FSRI fire (.csv)")
    replay.add_argument("file", type=Path)
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
    record = sub.add_parser("record", help="capture the site's live traffic as JSONL")
    record.add_argument("--out", type=Path, required=True)
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
    from simulators.errors import InputError

    if isinstance(
        exc, DatabaseUnavailable | ConnectionError | InputError | TimeoutError | EmbeddedError
    ):
        return str(exc)
    if isinstance(exc, UndefinedTable):
        return f"{exc.diag.message_primary}; run 'firewatch migrate'"
    return None
