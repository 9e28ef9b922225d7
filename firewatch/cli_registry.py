"""What ``firewatch devices`` and ``firewatch users`` do, for the console script to call."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any, TextIO

import psycopg

from firewatch.cli_help import add_command
from registry import service
from registry.device_import import to_csv, to_json
from registry.errors import Invalid
from registry.import_service import import_registry
from registry.lifecycle import INITIAL_STATUSES
from registry.schemas import USER_NAME, ImportReport
from settings import Settings
from simulators.errors import InputError
from store.audit import Actor, record
from store.database import connect_async
from store.users import (
    LastAdmin,
    UnknownUser,
    UserDisabled,
    UserExists,
    add_user,
    disable_user,
    list_users,
    rotate_token,
)

_BAR = 30


class Bar:
    """A progress bar on stderr, redrawn in place on a terminal; one line per step in a log."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self._stream = stream or sys.stderr
        self._tty = self._stream.isatty()

    def __call__(self, phase: str, done: int, total: int) -> None:
        share = done / total if total else 1.0
        filled = round(share * _BAR)
        line = (
            f"{self.label}: [{'#' * filled}{'.' * (_BAR - filled)}] "
            f"{done:,}/{total:,} devices ({phase})"
        )
        self._stream.write(f"\r\x1b[K{line}" if self._tty else line + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._tty:
            self._stream.write("\n")
            self._stream.flush()


def import_file(  # noqa: C901 - reads, checks and reports one import file; each branch is one thing a person needs told
    settings: Settings, *, path: Path, dry_run: bool, status: str, credentials_out: Path | None
) -> int:
    """Prints the outcome; returns the exit status (1 when the file has errors)."""
    if not path.is_file():
        raise InputError(f"{path} does not exist; export one with 'firewatch simulate topology'")
    try:
        document = service.read_document(path.read_bytes(), filename=path.name)
    except Invalid as exc:
        print(f"{path}: {exc}", file=sys.stderr)
        return 1
    # Opened before anything is imported: passwords that cannot be written are never issued.
    out = None if credentials_out is None or dry_run else _open_secret(credentials_out)
    bar = Bar(f"import {path.name}")
    bar("read", 0, len(document.devices))

    async def go() -> ImportReport:
        async with await connect_async(settings.database_url) as conn, conn.transaction():
            report = await import_registry(
                conn, document, status=status, dry_run=dry_run, actor=Actor.console(), progress=bar
            )
            if out is not None and report.credentials:
                _write_secret(out, report)  # before the commit: a failed write rolls back
            return report

    try:
        report = asyncio.run(go())
    except BaseException:
        if out is not None:
            _discard(out, credentials_out)
        raise
    bar.close()
    if out is not None and not report.credentials:
        _discard(out, credentials_out)
    if not report.ok:
        for e in report.errors:
            where = f"{e.section} row {e.row}" + (f" ({e.id})" if e.id else "")
            print(f"{path}: {where}: {e.field or '-'}: {e.reason}", file=sys.stderr)
        print(
            f"{len(report.errors)} error(s); nothing was imported. Fix the rows and run again.",
            file=sys.stderr,
        )
        return 1
    verb = "would register" if dry_run else "registered"
    print(
        f"{verb} {len(report.created)} new device(s), updated {len(report.updated)}, "
        f"{report.unchanged} unchanged; buildings: {report.buildings_created} new, "
        f"{report.buildings_updated} updated; zones: {report.zones_written}"
        + (" (dry run: nothing written)" if dry_run else "")
    )
    if not report.credentials:
        return 0
    if out is None:
        print("broker passwords (username = device id), shown only this once:")
        print(_credentials_csv(report), end="")
    else:
        out.close()
        print(
            f"broker passwords of {len(report.credentials)} new device(s) written to "
            f"{credentials_out} (mode 0600); hand them to the installers and delete the file"
        )
    print("they take effect at the next 'firewatch broker sync'")
    return 0


def _open_secret(path: Path) -> TextIO:
    """A new file only its owner can read; never an existing file, never through a symlink."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise InputError(
            f"{path} exists; choose a new file for the broker passwords (it is never overwritten)"
        ) from None
    except OSError as exc:
        raise InputError(f"cannot create {path}: {exc.strerror}; choose another path") from None
    return os.fdopen(fd, "w", encoding="utf-8")


def _credentials_csv(report: ImportReport) -> str:
    return "device_id,mqtt_password\n" + "".join(
        f"{c.device_id},{c.mqtt_password}\n" for c in report.credentials
    )


def _write_secret(out: TextIO, report: ImportReport) -> None:
    out.write(_credentials_csv(report))
    out.flush()
    os.fsync(out.fileno())


def _discard(out: TextIO, path: Path | None) -> None:
    """The file this run created, when it holds no password that was issued."""
    out.close()
    if path is not None:
        path.unlink(missing_ok=True)


def export_file(settings: Settings, *, export_format: str, out: Path) -> str:
    async def go() -> dict[str, list[dict[str, object]]]:
        async with await connect_async(settings.database_url) as conn:
            return await service.export(conn)

    registry = asyncio.run(go())
    if export_format == "csv":
        out.write_text(to_csv(registry["devices"]), encoding="utf-8")
    else:
        out.write_bytes(to_json(registry))
    return f"exported {len(registry['devices'])} devices to {out}"


def run_users(settings: Settings, args: argparse.Namespace) -> None:
    """``users add|list|disable|rotate-token``; exits with a message a person can act on."""

    async def go() -> str:
        async with await connect_async(settings.database_url) as conn, conn.transaction():
            return await _users(conn, args)

    try:
        print(asyncio.run(go()))
    except UserExists:
        sys.exit(f"user {args.name!r} exists already; choose another name")
    except UnknownUser:
        sys.exit(f"no user {args.name!r}; 'firewatch users list' shows them")
    except UserDisabled:
        sys.exit(f"user {args.name!r} is disabled; a new token would not work")
    except LastAdmin:
        sys.exit(f"{args.name!r} is the last admin; add another admin first")


async def _users(conn: psycopg.AsyncConnection[Any], args: argparse.Namespace) -> str:
    actor = Actor.console()
    command = args.users_command
    if command == "list":
        rows = await list_users(conn)
        lines = [f"{'name':<24} {'role':<11} {'state':<9} tokens"]
        lines += [
            f"{u['name']:<24} {u['role']:<11} "
            f"{'disabled' if u['disabled'] else 'enabled':<9} {u['active_tokens']}"
            for u in rows
        ]
        return "\n".join(lines)
    if command == "add":
        token = await add_user(conn, name=args.name, role=args.role)
        await record(
            conn,
            actor,
            subject_type="user",
            subject_id=args.name,
            action="create",
            detail={"role": args.role},
        )
        return (
            f"user {args.name} ({args.role}) created. Its bearer token, shown only this "
            f"once:\n{token}"
        )
    if command == "disable":
        await disable_user(conn, args.name)
        await record(conn, actor, subject_type="user", subject_id=args.name, action="disable")
        return f"user {args.name} disabled; its tokens no longer work"
    token = await rotate_token(conn, args.name)
    await record(conn, actor, subject_type="user", subject_id=args.name, action="rotate_token")
    return (
        f"user {args.name}: every old token revoked. The new bearer token, shown only this "
        f"once:\n{token}"
    )


def _user_name(value: str) -> str:
    if not re.fullmatch(USER_NAME, value):
        raise argparse.ArgumentTypeError(
            f"{value!r} is not a user name: use 1-64 letters, digits and _ . @ -"
        )
    return value


def add_registry_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from store.users import ROLES

    devices = add_command(
        sub,
        "devices",
        summary="the device registry: import and export",
        details="docs/devices.md describes the file format and the device lifecycle.",
    )
    what = devices.add_subparsers(dest="devices_command", required=True, metavar="COMMAND")
    load = add_command(
        what,
        "import",
        summary="register or update devices from a CSV or JSON file",
        details="With their buildings and zones, all or nothing: a file with an error imports "
        "nothing, and every bad row and field is reported. New devices' broker passwords are "
        "shown once.",
    )
    load.add_argument("file", type=Path, help="a .csv or .json file (docs/devices.md)")
    load.add_argument("--dry-run", action="store_true", help="check everything, write nothing")
    load.add_argument(
        "--status",
        choices=INITIAL_STATUSES,
        default="active",
        help="what new devices start as (default: active)",
    )
    load.add_argument(
        "--credentials-out",
        type=Path,
        metavar="FILE",
        help="write new devices' broker passwords here (mode 0600) instead of printing them",
    )
    dump = add_command(
        what,
        "export",
        summary="write the registry in the import format",
        details="What 'firewatch devices import' reads back.",
    )
    dump.add_argument(
        "--format",
        choices=("json", "csv"),
        default="json",
        dest="export_format",
        help="json (default) holds buildings and zones too; csv the devices only",
    )
    dump.add_argument("--out", type=Path, required=True, help="the file to write")
    users = add_command(
        sub,
        "users",
        summary="people and their tokens",
        details="Every /api/v1 route needs 'Authorization: Bearer TOKEN'. Roles: admin manages "
        "users, technician devices and buildings, operator incidents and alerts, viewer reads.",
    )
    users_sub = users.add_subparsers(dest="users_command", required=True, metavar="COMMAND")
    add = add_command(
        users_sub,
        "add",
        summary="create a user and print its token once",
        details="Only the token's hash is kept: note it down now, or rotate it later.",
    )
    add.add_argument("name", type=_user_name, help="1-64 letters, digits and _ . @ -")
    add.add_argument("--role", choices=ROLES, required=True, help="what the user may do")
    add_command(users_sub, "list", summary="every user, its role and how many tokens it has")
    disable = add_command(
        users_sub,
        "disable",
        summary="disable a user; its tokens stop working",
        details="At once, live streams included. The last admin cannot be disabled.",
    )
    disable.add_argument("name", help="the user's name")
    rotate = add_command(
        users_sub,
        "rotate-token",
        summary="revoke a user's tokens, print a new one",
        details="For a lost or leaked token; the new one is shown only this once.",
    )
    rotate.add_argument("name", help="the user's name")


def run_devices(settings: Settings, args: argparse.Namespace) -> None:
    if args.devices_command == "export":
        print(export_file(settings, export_format=args.export_format, out=args.out))
        return
    code = import_file(
        settings,
        path=args.file,
        dry_run=args.dry_run,
        status=args.status,
        credentials_out=args.credentials_out,
    )
    if code:
        sys.exit(code)
