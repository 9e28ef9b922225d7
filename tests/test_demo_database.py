"""The demo's own database: beside the configured one, made afresh at every start, and never
while a demo may still be running on it."""

from __future__ import annotations

import socket

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from firewatch.demo_database import demo_database_url, fresh_demo_database
from firewatch.testing import free_port
from settings import Settings
from store.database import drop_database, ensure_database


def _name(url: str) -> str:
    return str(conninfo_to_dict(url)["dbname"])


def test_the_demo_database_is_named_beside_the_configured_one() -> None:
    assert _name(demo_database_url("postgresql://postgres@127.0.0.1:5432/firewatch")) == (
        "firewatch_demo"
    )
    assert _name(demo_database_url("postgresql://postgres@db/firewatch_demo")) == "firewatch_demo"
    assert _name(demo_database_url("host=db user=me dbname=fw")) == "fw_demo"
    assert _name(demo_database_url("postgresql://postgres@db")) == "firewatch_demo"
    # Only the name changes: the server and the login are the configured ones.
    kept = conninfo_to_dict(demo_database_url("postgresql://me:pw@db:6543/fw"))
    assert (kept["host"], kept["port"], kept["user"], kept["password"]) == (
        "db",
        "6543",
        "me",
        "pw",
    )


def test_a_second_start_finds_the_first_runs_data_gone(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_port": free_port()})
    demo_url = demo_database_url(settings.database_url)
    try:
        ensure_database(demo_url)
        with psycopg.connect(demo_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE left_from_the_first_run (id int)")
        fresh = fresh_demo_database(settings)
        assert fresh.database_url == demo_url
        assert fresh.model_dump(exclude={"database_url"}) == settings.model_dump(
            exclude={"database_url"}
        )
        assert ensure_database(demo_url), "the old demo database was dropped"
        with psycopg.connect(demo_url) as conn:
            tables = conn.execute(
                "SELECT count(*) FROM pg_tables WHERE tablename = 'left_from_the_first_run'"
            ).fetchone()
        assert tables == (0,)
        # The configured database itself is left alone.
        with psycopg.connect(settings.database_url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        drop_database(demo_url)


def test_nothing_is_dropped_while_something_answers_on_the_apis_address(
    settings: Settings,
) -> None:
    demo_url = demo_database_url(settings.database_url)
    with socket.socket() as listening:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        port = listening.getsockname()[1]
        busy = settings.model_copy(update={"api_host": "127.0.0.1", "api_port": port})
        try:
            ensure_database(demo_url)
            with pytest.raises(ConnectionError, match=f"127.0.0.1:{port}.*another demo"):
                fresh_demo_database(busy)
            assert not ensure_database(demo_url), "the demo database is still there"
        finally:
            drop_database(demo_url)
