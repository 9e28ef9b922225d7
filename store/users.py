"""People and their API tokens. Tokens are stored as SHA-256 only and shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import class_row, dict_row

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
    async with conn.cursor(row_factory=class_row(Principal)) as cur:
        await cur.execute(
            "SELECT u.id AS user_id, u.name, u.role FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id"
            " WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND NOT u.disabled",
            (hash_token(token),),
        )
        return await cur.fetchone()


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


class UnknownUser(LookupError):
    """No user has this name."""


async def list_users(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT u.id, u.name, u.role, u.disabled, u.created_at,"
            " count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS active_tokens"
            " FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id"
            " GROUP BY u.id ORDER BY u.name"
        )
        return await cur.fetchall()


async def get_user(conn: psycopg.AsyncConnection[Any], name: str) -> dict[str, Any] | None:
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT u.id, u.name, u.role, u.disabled, u.created_at,"
            " count(t.id) FILTER (WHERE t.revoked_at IS NULL) AS active_tokens"
            " FROM users u LEFT JOIN api_tokens t ON t.user_id = u.id"
            " WHERE u.name = %s GROUP BY u.id",
            (name,),
        )
        return await cur.fetchone()


class LastAdmin(Exception):
    """Disabling this user would leave nobody able to manage users."""


async def disable_user(conn: psycopg.AsyncConnection[Any], name: str) -> None:
    """Its tokens stop working at once (they are checked against the flag on every request).

    The enabled admins are locked, in id order, before they are counted: two admins disabling
    each other at once are served one after the other, and the second is refused."""
    await conn.execute(
        "SELECT id FROM users WHERE role = 'admin' AND NOT disabled ORDER BY id FOR UPDATE"
    )
    cur = await conn.execute("SELECT id, role FROM users WHERE name = %s FOR UPDATE", (name,))
    row = await cur.fetchone()
    if row is None:
        raise UnknownUser(name)
    if row[1] == "admin":
        others = await conn.execute(
            "SELECT count(*) FROM users WHERE role = 'admin' AND NOT disabled AND id <> %s",
            (row[0],),
        )
        count = await others.fetchone()
        if count is not None and count[0] == 0:
            raise LastAdmin(name)
    await conn.execute("UPDATE users SET disabled = true WHERE id = %s", (row[0],))


async def rotate_token(conn: psycopg.AsyncConnection[Any], name: str) -> str:
    """Revokes every token of the user and returns a new one, the only time it is seen. The
    user's row is locked, so two rotations at once leave one live token, not two."""
    cur = await conn.execute("SELECT id, disabled FROM users WHERE name = %s FOR UPDATE", (name,))
    row = await cur.fetchone()
    if row is None:
        raise UnknownUser(name)
    if row[1]:
        raise UserDisabled(name)
    token = "fw_" + secrets.token_urlsafe(32)
    await conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE user_id = %s AND revoked_at IS NULL",
        (row[0],),
    )
    await conn.execute(
        "INSERT INTO api_tokens (user_id, token_sha256) VALUES (%s, %s)",
        (row[0], hash_token(token)),
    )
    return token


class UserDisabled(Exception):
    """The user is disabled: a new token would not work."""
