"""Connections, and creating the database itself on a fresh machine."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class DatabaseUnavailable(RuntimeError):
    """PostgreSQL cannot be reached; the message says how to start it."""


START_HINT = (
    "is PostgreSQL running? Start it with "
    "'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start', "
    "or point FIREWATCH_DATABASE_URL at a running server"
)


def connect(url: str, *, autocommit: bool = False) -> psycopg.Connection[tuple[object, ...]]:
    try:
        return psycopg.connect(url, autocommit=autocommit, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to {_safe(url)}: {exc}; {START_HINT}") from exc


async def connect_async(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        raise DatabaseUnavailable(f"cannot connect to {_safe(url)}: {exc}; {START_HINT}") from exc


def _safe(url: str) -> str:
    params = conninfo_to_dict(url)
    params.pop("password", None)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


def ensure_database(url: str) -> bool:
    """Create the database named in ``url`` if it is missing; True when it was created."""
    params = conninfo_to_dict(url)
    name = str(params.get("dbname") or "")
    if not name:
        return False
    admin_url = make_conninfo(url, dbname="postgres")
    with connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if exists:
            return False
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return True


def drop_database(url: str) -> None:
    """For test sessions and benchmarks that made a database of their own."""
    name = str(conninfo_to_dict(url).get("dbname") or "")
    admin_url = make_conninfo(url, dbname="postgres")
    with connect(admin_url, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def has_timescaledb(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Installed is not enough: CREATE EXTENSION fails unless the library is preloaded."""
    row = conn.execute(
        "SELECT 1 FROM pg_available_extensions WHERE name = 'timescaledb'"
        " AND current_setting('shared_preload_libraries') LIKE '%timescaledb%'"
    ).fetchone()
    return row is not None


async def ping(conn: psycopg.AsyncConnection[Any]) -> None:
    await conn.execute("SELECT 1")
