"""``firewatch broker``: the console side of broker credentials (firewatch/broker_sync.py)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from firewatch.cli_help import add_command
from settings import Settings


def add_broker_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    broker = add_command(
        sub,
        "broker",
        summary="MQTT accounts and ACL from the registry",
        details="Each device may publish only under its own topics; deploy/README.md describes "
        "the broker's set-up.",
    )
    what = broker.add_subparsers(dest="broker_command", required=True, metavar="COMMAND")
    add_command(
        what,
        "sync",
        summary="write the broker's password and ACL files, then signal it to reload",
        details="FIREWATCH_BROKER_PASSWORD_FILE and FIREWATCH_BROKER_ACL_FILE are written; the "
        "broker whose pid is in FIREWATCH_BROKER_PID_FILE reloads them.",
    )
    passwd = add_command(
        what,
        "passwd",
        summary="new passwords for devices or service accounts (svc.ingest, svc.api), shown once",
        details="Printed as CSV on stdout; they take effect at the next 'firewatch broker sync'.",
    )
    passwd.add_argument("names", nargs="*", metavar="NAME", help="device ids or service accounts")
    passwd.add_argument(
        "--missing", action="store_true", help="also every device that has no password yet"
    )


def run_broker(settings: Settings, args: argparse.Namespace) -> None:
    from registry.broker_files import BrokerFileError
    from registry.broker_sync import new_passwords, sync
    from store.audit import Actor
    from store.credentials import UnknownDevice

    try:
        if args.broker_command == "sync":
            print(asyncio.run(sync(settings)).summary(settings))
            return
        if not args.names and not args.missing:
            sys.exit("firewatch broker passwd: name devices or service accounts, or --missing")
        issued = asyncio.run(
            new_passwords(settings, names=args.names, missing=args.missing, actor=Actor.console())
        )
    except (BrokerFileError, UnknownDevice) as exc:
        sys.exit(f"firewatch broker {args.broker_command}: {exc}")
    print("name,password")
    print("\n".join(f"{name},{password}" for name, password in issued.items()))
    print(
        f"# {len(issued)} new passwords, shown only this once; 'firewatch broker sync' puts them "
        "into effect",
        file=sys.stderr,
    )
