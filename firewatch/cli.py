"""The ``firewatch`` console script: one subcommand per process."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from psycopg.errors import UndefinedTable
from pydantic import ValidationError

from firewatch.settings import Settings
from store.database import DatabaseUnavailable


def _users_add(settings: Settings, name: str, role: str) -> None:
    from store.database import connect_async
    from store.users import UserExists, add_user

    async def go() -> str:
        async with await connect_async(settings.database_url) as conn:
            return await add_user(conn, name=name, role=role)

    try:
        token = asyncio.run(go())
    except UserExists:
        sys.exit(f"user {name!r} exists already; choose another name")
    print(f"user {name} ({role}) created. Its bearer token, shown only this once:\n{token}")


def build_parser() -> argparse.ArgumentParser:
    from store.users import ROLES

    parser = argparse.ArgumentParser(prog="firewatch", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create the database if needed and apply migrations")
    sub.add_parser("up", help="ingest and the API in one process")
    sub.add_parser("ingest", help="the MQTT ingestion service alone")
    sub.add_parser("api", help="the HTTP API alone")
    demo = sub.add_parser("demo", help="the whole pipeline with simulated devices")
    demo.add_argument("--duration", type=float, default=0, help="seconds to run (0: until Ctrl-C)")
    demo.add_argument("--rate", type=float, default=300, help="messages per second to publish")
    users = sub.add_parser("users", help="people and their tokens")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    add = users_sub.add_parser("add", help="create a user and print its token once")
    add.add_argument("name")
    add.add_argument("--role", choices=ROLES, required=True)
    return parser


def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = Settings()
    except ValidationError as exc:
        sys.exit(f"invalid FIREWATCH_* setting:\n{exc}")
    from firewatch import processes

    try:
        if args.command == "migrate":
            processes.run_migrate(settings)
        elif args.command == "up":
            processes.run_up(settings)
        elif args.command == "ingest":
            processes.run_ingest(settings)
        elif args.command == "api":
            processes.run_api(settings)
        elif args.command == "demo":
            from firewatch.demo import run_demo

            run_demo(settings, duration=args.duration, rate=args.rate)
        elif args.command == "users":
            _users_add(settings, args.name, args.role)
    except KeyboardInterrupt:
        pass
    except Exception as exc:
        explained = _explain(exc)
        if explained is None:
            raise
        sys.exit(f"firewatch {args.command}: {explained}")


def _explain(exc: BaseException) -> str | None:
    """What a person can act on, if anything; processes run in task groups, so unwrap those."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    if isinstance(exc, DatabaseUnavailable | ConnectionError):
        return str(exc)
    if isinstance(exc, UndefinedTable):
        return f"{exc.diag.message_primary}; run 'firewatch migrate'"
    return None
