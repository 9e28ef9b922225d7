"""What ``firewatch rosters import`` does: the grid's people, channels, shifts and supervisor
chains from a CSV or JSON file (``dispatch.roster_import``), for the console script."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from dispatch.roster_import import (
    MAX_IMPORT_BYTES,
    import_rosters,
    media_type_of,
    parse,
)
from dispatch.roster_schemas import RosterImportReport
from firewatch.cli_help import add_command
from registry.import_files import ImportFormatError
from settings import Settings
from simulators.errors import InputError
from store.audit import Actor
from store.database import connect_async


def add_rosters_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rosters = add_command(
        sub,
        "rosters",
        summary="grid workers, their channels, on-call shifts and supervisor chains",
        details="Who a dispatched incident reaches, and in which order; docs/dispatch.md "
        "describes the file.",
    )
    what = rosters.add_subparsers(dest="rosters_command", required=True, metavar="COMMAND")
    load = add_command(
        what,
        "import",
        summary="create or replace people and channels, and replace the shifts and supervisor "
        "chains of the zones a file names; all or nothing",
        details="A file with an error imports nothing; every bad row and field is reported.",
    )
    load.add_argument("file", type=Path, help="a .json file of sections, or a .csv of one section")
    load.add_argument("--dry-run", action="store_true", help="check everything, write nothing")


def run_rosters(settings: Settings, args: argparse.Namespace) -> None:
    code = import_file(settings, path=args.file, dry_run=args.dry_run)
    if code:
        sys.exit(code)


def import_file(settings: Settings, *, path: Path, dry_run: bool) -> int:
    """Prints the outcome; returns the exit status (1 when the file has errors)."""
    if not path.is_file():
        raise InputError(f"{path} does not exist")
    try:
        if path.stat().st_size > MAX_IMPORT_BYTES:
            raise ImportFormatError(f"larger than {MAX_IMPORT_BYTES // 1024} KiB; split the file")
        document = parse(path.read_bytes(), media_type_of(None, filename=path.name))
    except ImportFormatError as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1

    async def go() -> RosterImportReport:
        async with await connect_async(settings.database_url) as conn, conn.transaction():
            return await import_rosters(conn, document, dry_run=dry_run, actor=Actor.console())

    report = asyncio.run(go())
    if not report.ok:
        for e in report.errors:
            where = f"{e.section} row {e.row}" + (f" ({e.id})" if e.id else "")
            print(f"{path}: {where}: {e.field or '-'}: {e.reason}", file=sys.stderr)
        print(
            f"{len(report.errors)} error(s); nothing was imported. Fix the rows and run again.",
            file=sys.stderr,
        )
        return 1
    print(summary(report))
    return 0


def summary(report: RosterImportReport) -> str:
    verb = "would write" if report.dry_run else "wrote"
    zones = sorted({*report.rosters, *report.supervisors})
    return (
        f"{verb} people: {len(report.people_created)} new, {len(report.people_updated)} "
        f"replaced; channels: {len(report.channels_created)} new, "
        f"{len(report.channels_updated)} replaced; shifts of {len(report.rosters)} zone(s) and "
        f"supervisor chains of {len(report.supervisors)}"
        + (f" ({', '.join(zones)})" if zones else "")
        + (" (dry run: nothing written)" if report.dry_run else "")
    )
