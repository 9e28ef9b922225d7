"""Broker credentials: random passwords shown once, stored as Mosquitto password-file hashes
(``store.credentials`` keeps the hashes, never the passwords)."""

from __future__ import annotations

import hashlib
import secrets
from base64 import b64encode
from collections.abc import Sequence
from typing import Any

import psycopg

from store.credentials import save_device_hashes, save_service_hashes

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
    The passwords are not stored anywhere: hand them to the installer now. Raises
    ``store.credentials.UnknownDevice`` for an id that is not registered.
    """
    passwords = {device_id: new_password() for device_id in device_ids}
    await save_device_hashes(conn, {d: mosquitto_hash(p) for d, p in passwords.items()})
    return passwords


async def issue_service_credentials(
    conn: psycopg.AsyncConnection[Any], usernames: Sequence[str]
) -> dict[str, str]:
    """New passwords for ingest's and the API's broker accounts; returns username -> password."""
    unknown = set(usernames) - set(SERVICE_ACCOUNTS)
    if unknown:
        raise ValueError(f"unknown service accounts {sorted(unknown)}; use {SERVICE_ACCOUNTS}")
    passwords = {name: new_password() for name in usernames}
    await save_service_hashes(conn, {n: mosquitto_hash(p) for n, p in passwords.items()})
    return passwords
