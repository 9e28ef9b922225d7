"""Maintenance on the real server: a statement the database refuses (here a lock another
session holds past the lock timeout) is handed to the scheduler to retry, the connection
stays usable, and the next run does the work."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from alerts.engine import Engine
from ingest.housekeeping import keep_house
from ingest.pipeline import BatchWriter
from ingest.scheduler import RetryLater
from settings import Settings
from store.migrate import backend

LOCKS = {"native": "firewatch.partitions", "timescaledb": "firewatch.policies"}


def test_a_refused_maintenance_is_retried_and_the_connection_kept(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    settings = Settings(database_url=database_url)
    with psycopg.connect(database_url) as conn:
        writer = BatchWriter(conn, engine=Engine(), window_s=120)
        conn.execute("SET lock_timeout = '200ms'")  # the native path sets its own 2 s
        with psycopg.connect(database_url) as holder:
            holder.execute("SELECT pg_advisory_lock(hashtext(%s))", (LOCKS[backend(db)],))
            with pytest.raises(RetryLater) as refused:
                keep_house(writer, settings)
            assert isinstance(refused.value.__cause__, psycopg.errors.LockNotAvailable)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        keep_house(writer, settings)
