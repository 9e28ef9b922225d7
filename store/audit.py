"""The audit log: who changed which device, building, zone, user or broker credential, and how."""

from __future__ import annotations

import getpass
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from store.users import Principal


@dataclass(frozen=True, slots=True)
class Actor:
    """A user of the API, the console script (``cli:<login>``) or ``system``."""

    name: str
    user_id: int | None = None

    @classmethod
    def of(cls, principal: Principal) -> Actor:
        return cls(principal.name, principal.user_id)

    @classmethod
    def console(cls) -> Actor:
        """Whoever runs the console script: it holds the database's credentials, not a token."""
        return cls(f"cli:{getpass.getuser()}")


SYSTEM = Actor("system")


async def record(
    conn: psycopg.AsyncConnection[Any],
    actor: Actor,
    *,
    subject_type: str,
    subject_id: str,
    action: str,
    detail: dict[str, Any] | None = None,
) -> None:
    await record_many(
        conn, actor, subject_type=subject_type, entries=[(subject_id, action, detail or {})]
    )


async def record_many(
    conn: psycopg.AsyncConnection[Any],
    actor: Actor,
    *,
    subject_type: str,
    entries: Sequence[tuple[str, str, dict[str, Any]]],
) -> None:
    """One statement for any number of entries: an import of 3,000 devices audits each."""
    if not entries:
        return
    await conn.execute(
        "INSERT INTO audit_log (actor, actor_id, subject_type, subject_id, action, detail)"
        " SELECT %s, %s, %s, e.subject_id, e.action, e.detail"
        " FROM unnest(%s::text[], %s::text[], %s::jsonb[]) AS e(subject_id, action, detail)",
        (
            actor.name,
            actor.user_id,
            subject_type,
            [e[0] for e in entries],
            [e[1] for e in entries],
            [Jsonb(e[2]) for e in entries],
        ),
    )


async def audit_of(
    conn: psycopg.AsyncConnection[Any], *, subject_type: str, subject_id: str, limit: int
) -> list[dict[str, Any]]:
    """Newest first."""
    async with conn.cursor(row_factory=dict_row) as cur:
        await cur.execute(
            "SELECT at, actor, action, detail FROM audit_log"
            " WHERE subject_type = %s AND subject_id = %s ORDER BY at DESC, id DESC LIMIT %s",
            (subject_type, subject_id, limit),
        )
        return await cur.fetchall()
