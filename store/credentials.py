"""Broker credentials' rows: the Mosquitto hashes of devices' and service accounts' passwords
(made in ``registry.credentials``), and what the broker's files are written from."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row


class UnknownDevice(LookupError):
    """Credentials were asked for a device id that is not in the registry."""


async def save_device_hashes(conn: psycopg.AsyncConnection[Any], hashes: Mapping[str, str]) -> None:
    """Device id -> password hash, replacing any old ones; raises UnknownDevice for an id that
    is not registered."""
    if not hashes:
        return
    try:
        await conn.execute(
            "INSERT INTO device_credentials (device_id, password_hash)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT (device_id) DO UPDATE"
            " SET password_hash = excluded.password_hash, rotated_at = now()",
            (list(hashes), list(hashes.values())),
        )
    except psycopg.errors.ForeignKeyViolation as exc:
        detail = (exc.diag.message_detail or "a device is not registered").rstrip(".")
        raise UnknownDevice(f"{detail}; register it first") from None


async def save_service_hashes(
    conn: psycopg.AsyncConnection[Any], hashes: Mapping[str, str]
) -> None:
    """Service account name -> password hash, replacing any old ones."""
    if hashes:
        await conn.execute(
            "INSERT INTO broker_service_accounts (username, password_hash)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT (username) DO UPDATE"
            " SET password_hash = excluded.password_hash, rotated_at = now()",
            (list(hashes), list(hashes.values())),
        )


@dataclass(frozen=True, slots=True)
class DeviceAccount:
    device_id: str
    site: str
    password_hash: str | None  # None: may connect, but has never been given a password


@dataclass(frozen=True, slots=True)
class BrokerAccounts:
    """Everything the broker's password and ACL files are written from."""

    devices: list[DeviceAccount]
    services: dict[str, str]  # username -> hash
    without_credentials: int  # devices that may connect but have no password yet


async def broker_accounts(conn: psycopg.AsyncConnection[Any]) -> BrokerAccounts:
    """Every device that may connect (anything but decommissioned), and the service accounts."""
    async with conn.cursor(row_factory=class_row(DeviceAccount)) as accounts:
        await accounts.execute(
            "SELECT d.id AS device_id, d.site, c.password_hash FROM devices d"
            " LEFT JOIN device_credentials c ON c.device_id = d.id"
            " WHERE d.status <> 'decommissioned' ORDER BY d.id"
        )
        rows = await accounts.fetchall()
    devices = [r for r in rows if r.password_hash is not None]
    cur = await conn.execute(
        "SELECT username, password_hash FROM broker_service_accounts ORDER BY username"
    )
    services: dict[str, str] = dict(await cur.fetchall())
    return BrokerAccounts(devices, services, without_credentials=len(rows) - len(devices))


async def devices_without_credentials(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Devices that may connect but have never been given a password (registered before)."""
    cur = await conn.execute(
        "SELECT d.id FROM devices d WHERE d.status <> 'decommissioned' AND NOT EXISTS"
        " (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id) ORDER BY d.id"
    )
    return [r[0] for r in await cur.fetchall()]
