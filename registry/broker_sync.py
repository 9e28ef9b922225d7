"""``firewatch broker sync|passwd``: the broker's accounts and ACL follow the registry."""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from pathlib import Path

from registry.broker_files import (
    BrokerFileError,
    acl_file_text,
    ingest_sessions_of,
    mapped_topics,
    password_file_text,
    write_atomically,
)
from registry.credentials import SERVICE_ACCOUNTS, issue_credentials, issue_service_credentials
from settings import Settings
from store.audit import Actor, record_many
from store.credentials import broker_accounts, devices_without_credentials
from store.database import connect_async
from store.device_models import broker_mapping


@dataclass(frozen=True, slots=True)
class SyncResult:
    devices: int
    services: int
    missing_services: list[str]
    without_credentials: int
    reload: str  # what happened to the broker, for a person to read

    def summary(self, settings: Settings) -> str:
        lines = [
            f"wrote {self.devices} device and {self.services} service accounts to "
            f"{settings.broker_password_file} and their ACL to {settings.broker_acl_file}",
            self.reload,
        ]
        if self.without_credentials:
            lines.append(
                f"{self.without_credentials} registered devices have no password yet and cannot "
                "connect: 'firewatch broker passwd --missing' issues them"
            )
        for name in self.missing_services:
            lines.append(
                f"service account {name} has no password yet: 'firewatch broker passwd {name}'"
            )
        return "\n".join(lines)


async def sync(settings: Settings) -> SyncResult:
    """Writes both files from the registry, then asks the broker to reload them."""
    async with await connect_async(settings.database_url) as conn:
        accounts = await broker_accounts(conn)
        mapped = mapped_topics(*await broker_mapping(conn))
    sessions = ingest_sessions_of(settings)
    write_atomically(
        settings.broker_password_file, password_file_text(accounts, ingest_sessions=sessions)
    )
    write_atomically(
        settings.broker_acl_file,
        acl_file_text(accounts, ingest_sessions=sessions, mapped=mapped),
    )
    return SyncResult(
        devices=len(accounts.devices),
        services=len(accounts.services),
        missing_services=[n for n in SERVICE_ACCOUNTS if n not in accounts.services],
        without_credentials=accounts.without_credentials,
        reload=reload_broker(settings.broker_pid_file),
    )


def reload_broker(pid_file: Path) -> str:
    """SIGHUP: Mosquitto rereads its password and ACL files and keeps its connections, except
    those whose account is gone. Signals only a process named mosquitto, never a stale pid."""
    try:
        pid = int(pid_file.read_text().strip())
    except FileNotFoundError:
        return f"not signalled: no pid file {pid_file}; a broker started later reads the files"
    except (ValueError, OSError) as exc:
        raise BrokerFileError(
            f"cannot read a pid from {pid_file}: {exc}; fix FIREWATCH_BROKER_PID_FILE"
        ) from exc
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return f"not signalled: no process {pid} (stale {pid_file}); is the broker running?"
    if name != "mosquitto":
        return f"not signalled: process {pid} in {pid_file} is {name!r}, not mosquitto"
    try:
        os.kill(pid, signal.SIGHUP)
    except PermissionError as exc:
        raise BrokerFileError(
            f"may not signal mosquitto (pid {pid}); run as root or the broker's user, "
            f"or reload it yourself: kill -HUP {pid}"
        ) from exc
    return f"signalled mosquitto (pid {pid}) to reload"


async def new_passwords(
    settings: Settings, *, names: list[str], missing: bool, actor: Actor
) -> dict[str, str]:
    """New passwords for service accounts and device ids (all devices lacking one with
    ``missing``), audited; the old ones stop working at the next sync."""
    services = [n for n in names if n in SERVICE_ACCOUNTS]
    device_ids = [n for n in names if n not in SERVICE_ACCOUNTS]
    async with await connect_async(settings.database_url) as conn, conn.transaction():
        if missing:
            device_ids += await devices_without_credentials(conn)
        issued = await issue_service_credentials(conn, services)
        issued.update(await issue_credentials(conn, device_ids))
        await record_many(
            conn,
            actor,
            subject_type="credentials",
            entries=[
                (name, "rotate", {"account": "service" if name in services else "device"})
                for name in issued
            ],
        )
    return issued
