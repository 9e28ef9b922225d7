"""The console script, run as a user runs it: a separate process, settings from the environment."""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from contract.kinds import Kind
from firewatch.cli import build_parser
from firewatch.testing import free_port, wait_until
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from store.database import drop_database
from store.migrate import available
from tests.conftest import Registry

ROOT = Path(__file__).resolve().parent.parent


def firewatch(
    *args: str, env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firewatch", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture()
def fresh_database_url(database_url: str) -> Iterator[str]:
    url = make_conninfo(database_url, dbname=f"fw_cli_{uuid.uuid4().hex[:10]}")
    yield url
    drop_database(url)


def test_migrate_creates_the_database_then_has_nothing_to_do(fresh_database_url: str) -> None:
    env = {"FIREWATCH_DATABASE_URL": fresh_database_url}
    first = firewatch("migrate", env=env)
    assert first.returncode == 0, first.stderr
    assert "created the database" in first.stdout
    assert f"applied {len({m.version for m in available()})} migration(s)" in first.stdout
    second = firewatch("migrate", env=env)
    assert second.returncode == 0
    assert "schema is up to date" in second.stdout


def test_users_add_prints_a_token_once_and_refuses_a_second_user_of_that_name(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    env = {"FIREWATCH_DATABASE_URL": database_url}
    created = firewatch("users", "add", f"op-{site}", "--role", "operator", env=env)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    assert token.startswith("fw_") and len(token) > 40
    stored = db.execute(
        "SELECT u.role, t.token_sha256 FROM users u JOIN api_tokens t ON t.user_id = u.id"
        " WHERE u.name = %s",
        (f"op-{site}",),
    ).fetchall()
    assert len(stored) == 1 and stored[0][0] == "operator"
    assert token not in str(stored)  # only the hash is kept
    again = firewatch("users", "add", f"op-{site}", "--role", "viewer", env=env)
    assert again.returncode != 0
    assert "exists already" in again.stderr


def test_bad_settings_and_missing_services_say_what_to_do(database_url: str) -> None:
    bad = firewatch("migrate", env={"FIREWATCH_MQTT_URL": "http://broker"})
    assert bad.returncode != 0
    assert "FIREWATCH_MQTT_URL must look like mqtt://" in bad.stderr
    no_db = firewatch(
        "migrate", env={"FIREWATCH_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}
    )
    assert no_db.returncode != 0
    assert "pg_ctlcluster" in no_db.stderr
    no_broker = firewatch(
        "ingest",
        env={"FIREWATCH_DATABASE_URL": database_url, "FIREWATCH_MQTT_URL": "mqtt://127.0.0.1:1"},
    )
    assert no_broker.returncode != 0
    assert "mosquitto -d -c" in no_broker.stderr
    up_no_broker = firewatch(  # ingest runs inside a task group there
        "up",
        env={
            "FIREWATCH_DATABASE_URL": database_url,
            "FIREWATCH_MQTT_URL": "mqtt://127.0.0.1:1",
            "FIREWATCH_API_PORT": str(free_port()),
        },
    )
    assert up_no_broker.returncode != 0
    assert "mosquitto -d -c" in up_no_broker.stderr
    assert "Traceback" not in up_no_broker.stderr


def test_up_runs_ingest_and_the_api_in_one_process(
    settings: Settings, registry: Registry, database_url: str
) -> None:
    port = free_port()
    token = (
        firewatch(
            "users",
            "add",
            f"viewer-{settings.site}",
            "--role",
            "viewer",
            env={"FIREWATCH_DATABASE_URL": database_url},
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    env = {
        **os.environ,
        "FIREWATCH_DATABASE_URL": database_url,
        "FIREWATCH_MQTT_URL": settings.mqtt_url,
        "FIREWATCH_SITE": settings.site,
        "FIREWATCH_INGEST_CLIENT_ID": f"up-{settings.site}",
        "FIREWATCH_API_PORT": str(port),
    }
    proc = subprocess.Popen([sys.executable, "-m", "firewatch", "up"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _status(f"{base}/readyz") == 200, timeout=20, what="firewatch up")
        smoke = SimDevice(
            registry.add(f"{settings.site}-SD", Kind.SMOKE), Kind.SMOKE, settings.site
        )
        with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
            pub.publish(*smoke.event(datetime.now(UTC), "alarm"))

        def fire_listed() -> bool:
            request = urllib.request.Request(
                f"{base}/api/v1/alerts", headers={"Authorization": f"Bearer {token}"}
            )
            with urllib.request.urlopen(request, timeout=2) as response:
                alerts = orjson.loads(response.read())
            return any(a["device_id"] == smoke.id and a["class"] == "fire" for a in alerts)

        wait_until(fire_listed, timeout=15, what="the fire alert in GET /api/v1/alerts")
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) is not None


def test_demo_runs_the_whole_pipeline_and_a_second_run_starts_clean(
    settings: Settings, database_url: str
) -> None:
    """On a database of its own (the quarter's device ids, SD-0001 …, are registered by other
    tests too, under other sites, and an id's site is not changed by an import)."""
    demo_url = make_conninfo(database_url, dbname=f"fw_cli_{uuid.uuid4().hex[:10]}_demo")
    env = {
        "FIREWATCH_DATABASE_URL": demo_url,
        "FIREWATCH_MQTT_URL": settings.mqtt_url,
        "FIREWATCH_SITE": settings.site,
        "FIREWATCH_INGEST_CLIENT_ID": f"demo-{settings.site}",
        "FIREWATCH_API_PORT": str(free_port()),
    }
    try:
        first = firewatch("demo", "--duration", "32", env=env, timeout=120)
        assert first.returncode == 0, first.stderr[-2000:]
        out = first.stdout
        assert "registered 3031 simulated devices" in out
        assert "2 fire alarm panels through GB/T 26875.3" in out
        base = f"http://127.0.0.1:{env['FIREWATCH_API_PORT']}"
        # Where the console is and the token to sign in with, on the line below.
        lines = out.splitlines()
        console = next(i for i, line in enumerate(lines) if line.strip().startswith("console:"))
        assert f"{base}/" in lines[console] and "sign in" in lines[console]
        token = lines[console + 1].strip()
        assert token.startswith("fw_") and f"Authorization: Bearer {token}" in out
        assert f"{base}/docs" in out and f"{base}/redoc" in out
        # Each scripted step says what to expect and by when, on the site's clock.
        for said in ("dead_letters by", "reads 61.5 °C (expect by", "alarm event (expect by"):
            assert re.search(re.escape(said) + r" \d\d:\d\d:\d\d", out), said
        final = out.strip().splitlines()[-1]
        assert final.startswith("demo stopped:")
        assert "rejected=2 " in final and "alerts_opened=2" in final
        with psycopg.connect(demo_url) as conn:
            said_alerts = conn.execute(
                "SELECT rule, class FROM alerts WHERE subject = 'SD-0001' ORDER BY rule"
            ).fetchall()
            registered = conn.execute("SELECT count(*) FROM devices").fetchone()
        assert said_alerts == [("heat_fixed", "fire"), ("smoke_alarm", "fire")]

        # Nothing of the first run is left: no device silent since then is judged offline.
        second = firewatch("demo", "--duration", "10", env=env, timeout=120)
        assert second.returncode == 0, second.stderr[-2000:]
        assert "alerts_opened=0" in second.stdout.strip().splitlines()[-1]
        with psycopg.connect(demo_url) as conn:
            alerts = conn.execute("SELECT rule, count(*) FROM alerts GROUP BY rule").fetchall()
            devices = conn.execute("SELECT count(*) FROM devices").fetchone()
        assert alerts == [] and devices == registered
    finally:
        drop_database(demo_url)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return int(response.status)
    except OSError:
        return 0


def test_an_ingest_process_does_not_load_the_api() -> None:
    """FastAPI and uvicorn cost an ingest process 15 MB it never uses (bench.memory)."""
    code = (
        "import sys; from firewatch.cli import main; from firewatch import processes; "
        "print(sorted({'fastapi', 'uvicorn', 'starlette'} & set(sys.modules)))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], argparse.ArgumentParser]]:
    """Every subcommand at any depth, with the words that name it."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield (*path, name), child
                yield from _commands(child, (*path, name))


# reStructuredText's inline literals, roles and directives, which a terminal shows as they are.
MARKUP = re.compile(r"``|:[a-z]+:`|^\.\. |`_", re.MULTILINE)


def test_every_command_describes_itself_without_markup_and_explains_each_argument() -> None:
    top = firewatch("--help", env={})
    assert top.returncode == 0 and not MARKUP.search(top.stdout), top.stdout
    assert "FIREWATCH_" in top.stdout and "firewatch COMMAND --help" in top.stdout
    commands = dict(_commands(build_parser()))
    assert {("up",), ("demo",), ("users", "add"), ("simulate", "scenario")} <= commands.keys()
    for path, parser in commands.items():
        shown = parser.format_help()
        assert not MARKUP.search(shown), (path, shown)
        # Its own --help opens with what it does, beyond the usage line.
        assert parser.description and len(parser.description) > 20, path
        opening = " ".join(parser.description.split("\n\n")[0].split())
        assert opening in " ".join(shown.split()), path
        unexplained = [
            action.dest
            for action in parser._actions
            if not isinstance(action, argparse._HelpAction | argparse._SubParsersAction)
            and not action.help
        ]
        assert unexplained == [], (path, unexplained)
        # Every subcommand is listed by its parent with a summary.
        if len(path) > 1:
            assert path[-1] in commands[path[:-1]].format_help()
    up = firewatch("up", "--help", env={})
    assert up.returncode == 0 and "reachable or not" in up.stdout
