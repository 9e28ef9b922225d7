"""Broker credentials: random passwords shown once, stored as Mosquitto password-file hashes."""

from __future__ import annotations

import hashlib
import secrets
from base64 import b64encode
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

# Mosquitto 2's own default. The passwords are 192 random bits, so stretching adds no safety,
# while the broker pays the iterations on every CONNECT (a reconnect storm of 3,000 devices).
ITERATIONS = 101
_SALT_BYTES = 12  # what mosquitto_passwd uses

INGEST_ACCOUNT = "svc.ingest"
API_ACCOUNT = "svc.api"
SERVICE_ACCOUNTS = (INGEST_ACCOUNT, API_ACCOUNT)


def mosquitto_hash(
    password: str, *, salt: bytes | None = None, iterations: int = ITERATIONS
) -> str:
    """``$7$<iterations>$<base64 salt>$<base64 PBKDF2-SHA512>``, as in a Mosquitto password_file."""
    salt = secrets.token_bytes(_SALT_BYTES) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${b64encode(salt).decode()}${b64encode(digest).decode()}"


def new_password() -> str:
    return secrets.token_urlsafe(24)


async def issue_credentials(
    conn: psycopg.AsyncConnection[Any], device_ids: Sequence[str]
) -> dict[str, str]:
    """New passwords for registered devices, replacing any old ones; returns id -> password.

    Runs in the caller's transaction, so a registration and its credentials commit together.
    The passwords are not stored anywhere: hand them to the installer now.
    """
    passwords = {device_id: new_password() for device_id in device_ids}
    if not passwords:
        return {}
    try:
        await conn.execute(
            "INSERT INTO device_credentials (device_id, password_hash)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT (device_id) DO UPDATE"
            " SET password_hash = excluded.password_hash, rotated_at = now()",
            (list(passwords), [mosquitto_hash(p) for p in passwords.values()]),
        )
    except psycopg.errors.ForeignKeyViolation as exc:
        detail = (exc.diag.message_detail or "a device is not registered").rstrip(".")
        raise UnknownDevice(f"{detail}; register it first") from None
    return passwords


class UnknownDevice(LookupError):
    """Credentials were asked for a device id that is not in the registry."""


async def issue_service_credentials(
    conn: psycopg.AsyncConnection[Any], usernames: Sequence[str]
) -> dict[str, str]:
    """New passwords for ingest's and the API's broker accounts; returns username -> password."""
    unknown = set(usernames) - set(SERVICE_ACCOUNTS)
    if unknown:
        raise ValueError(f"unknown service accounts {sorted(unknown)}; use {SERVICE_ACCOUNTS}")
    passwords = {name: new_password() for name in usernames}
    if passwords:
        await conn.execute(
            "INSERT INTO broker_service_accounts (username, password_hash)"
            " SELECT * FROM unnest(%s::text[], %s::text[])"
            " ON CONFLICT (username) DO UPDATE"
            " SET password_hash = excluded.password_hash, rotated_at = now()",
            (list(passwords), [mosquitto_hash(p) for p in passwords.values()]),
        )
    return passwords


@dataclass(frozen=True, slots=True)
class DeviceAccount:
    device_id: str
    site: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class BrokerAccounts:
    """Everything the broker's password and ACL files are written from."""

    devices: list[DeviceAccount]
    services: dict[str, str]  # username -> hash
    without_credentials: int  # devices that may connect but have no password yet


async def broker_accounts(conn: psycopg.AsyncConnection[Any]) -> BrokerAccounts:
    """Every device that may connect (anything but decommissioned), and the service accounts."""
    cur = await conn.execute(
        "SELECT d.id, d.site, c.password_hash FROM devices d"
        " LEFT JOIN device_credentials c ON c.device_id = d.id"
        " WHERE d.status <> 'decommissioned' ORDER BY d.id"
    )
    rows = await cur.fetchall()
    devices = [DeviceAccount(r[0], r[1], r[2]) for r in rows if r[2] is not None]
    cur = await conn.execute(
        "SELECT username, password_hash FROM broker_service_accounts ORDER BY username"
    )
    services = {r[0]: r[1] for r in await cur.fetchall()}
    return BrokerAccounts(devices, services, without_credentials=len(rows) - len(devices))


async def devices_without_credentials(conn: psycopg.AsyncConnection[Any]) -> list[str]:
    """Devices that may connect but have never been given a password (registered before)."""
    cur = await conn.execute(
        "SELECT d.id FROM devices d WHERE d.status <> 'decommissioned' AND NOT EXISTS"
        " (SELECT 1 FROM device_credentials c WHERE c.device_id = d.id) ORDER BY d.id"
    )
    return [r[0] for r in await cur.fetchall()]
