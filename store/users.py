"""People and their API tokens. Tokens are stored as SHA-256 only and shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg

ROLES = ("admin", "technician", "operator", "viewer")


@dataclass(frozen=True, slots=True)
class Principal:
    user_id: int
    name: str
    role: str


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is as safe as a slow one and costs nothing.
    return hashlib.sha256(token.encode()).hexdigest()


class UserExists(Exception):
    """A user with this name exists already."""


async def add_user(conn: psycopg.AsyncConnection[Any], *, name: str, role: str) -> str:
    """Creates the user and returns a new bearer token, the only time it is ever seen."""
    token = "fw_" + secrets.token_urlsafe(32)
    try:
        async with conn.transaction():
            cur = await conn.execute(
                "INSERT INTO users (name, role) VALUES (%s, %s) RETURNING id", (name, role)
            )
            row = await cur.fetchone()
            assert row is not None
            await conn.execute(
                "INSERT INTO api_tokens (user_id, token_sha256) VALUES (%s, %s)",
                (row[0], hash_token(token)),
            )
    except psycopg.errors.UniqueViolation:
        raise UserExists(name) from None
    return token


async def principal_for_token(conn: psycopg.AsyncConnection[Any], token: str) -> Principal | None:
    cur = await conn.execute(
        "SELECT u.id, u.name, u.role FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND NOT u.disabled",
        (hash_token(token),),
    )
    row = await cur.fetchone()
    return Principal(row[0], row[1], row[2]) if row else None


async def issue_token(conn: psycopg.AsyncConnection[Any], *, name: str, role: str) -> str:
    """A new token for ``name``, creating the user if needed (the demo's operator)."""
    token = "fw_" + secrets.token_urlsafe(32)
    cur = await conn.execute(
        "INSERT INTO users (name, role) VALUES (%s, %s)"
        " ON CONFLICT (name) DO UPDATE SET role = excluded.role, disabled = false RETURNING id",
        (name, role),
    )
    row = await cur.fetchone()
    assert row is not None
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_sha256) VALUES (%s, %s)",
        (row[0], hash_token(token)),
    )
    return token
