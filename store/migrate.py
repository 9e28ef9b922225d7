"""Versioned SQL migrations: each in its own transaction, recorded, safe to run again.

A version may have two variants, ``NNNN_name.timescaledb.sql`` and ``NNNN_name.native.sql``;
the one matching the server is applied and recorded, so later code can ask which it got.

What follows a line ``-- after commit`` runs once the migration is committed, a statement a
line, each on its own: what PostgreSQL or TimescaleDB refuses inside a transaction (refreshing
a continuous aggregate). It is not recorded apart: if the migrator stops in between, those
statements are to be run by hand.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import psycopg

from store.database import has_timescaledb

_FILE = re.compile(
    r"^(?P<version>\d{4})_(?P<name>[a-z0-9_]+)(?:\.(?P<variant>timescaledb|native))?\.sql$"
)
_LOCK_KEY = 0x46697265  # advisory lock: two migrators never interleave
_AFTER_COMMIT = re.compile(r"^-- after commit\b.*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    variant: str | None
    sql: str

    @property
    def in_transaction(self) -> str:
        return _AFTER_COMMIT.split(self.sql, maxsplit=1)[0]

    @property
    def after_commit(self) -> list[str]:
        """The statements that follow the marker, one a line, comments left out."""
        parts = _AFTER_COMMIT.split(self.sql, maxsplit=1)
        lines = parts[1].splitlines() if len(parts) == 2 else []
        return [s for s in (line.strip() for line in lines) if s and not s.startswith("--")]


def available() -> list[Migration]:
    found = []
    for entry in resources.files("store.migrations").iterdir():
        match = _FILE.match(entry.name)
        if match:
            found.append(
                Migration(
                    int(match["version"]), match["name"], match["variant"], entry.read_text("utf-8")
                )
            )
    return sorted(found, key=lambda m: (m.version, m.variant or ""))


def backend(conn: psycopg.Connection[tuple[object, ...]]) -> str:
    """'timescaledb' or 'native', as recorded when the time-series tables were made."""
    row = conn.execute(
        "SELECT variant FROM schema_migrations WHERE variant IS NOT NULL ORDER BY version LIMIT 1"
    ).fetchone()
    return str(row[0]) if row else "native"


def migrate(
    conn: psycopg.Connection[tuple[object, ...]], *, progress: Callable[[str], None] = print
) -> list[int]:
    """Apply what is missing; returns the versions applied now."""
    conn.autocommit = True
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, "
        "name text NOT NULL, variant text, applied_at timestamptz NOT NULL DEFAULT now())"
    )
    conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_KEY,))
    try:
        variant = "timescaledb" if has_timescaledb(conn) else "native"
        done = {int(str(r[0])) for r in conn.execute("SELECT version FROM schema_migrations")}
        applied = []
        for migration in available():
            if migration.version in done or migration.variant not in (None, variant):
                continue
            progress(
                f"applying migration {migration.version:04d} {migration.name}"
                + (f" ({migration.variant})" if migration.variant else "")
            )
            with conn.transaction():
                conn.execute(migration.in_transaction.encode())
                conn.execute(
                    "INSERT INTO schema_migrations (version, name, variant) VALUES (%s, %s, %s)",
                    (migration.version, migration.name, migration.variant),
                )
            for statement in migration.after_commit:
                conn.execute(statement.encode())
            applied.append(migration.version)
        return applied
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_KEY,))
