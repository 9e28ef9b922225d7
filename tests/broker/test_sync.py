"""'firewatch broker sync' on awkward input: an empty registry, bad paths, stale pid files."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.kinds import Kind
from firewatch.cli import main
from firewatch.testing import own_database
from registry.broker_files import BrokerFileError
from registry.broker_sync import reload_broker
from registry.credentials import INGEST_ACCOUNT, issue_credentials
from settings import Settings
from store.database import connect_async
from tests.broker.helpers import passwords, run_sync
from tests.conftest import Registry


def paths(settings: Settings, folder: Path) -> Settings:
    return settings.model_copy(
        update={
            "broker_password_file": folder / "passwd",
            "broker_acl_file": folder / "acl",
            "broker_pid_file": folder / "mosquitto.pid",
        }
    )


def test_an_empty_registry_gives_files_with_no_devices(tmp_path: Path) -> None:
    with own_database("fw_broker") as url:
        settings = paths(Settings(database_url=url), tmp_path)
        result = run_sync(settings)
    assert (result.devices, result.services) == (0, 0)
    assert settings.broker_password_file.read_text() == ""
    assert "user svc.ingest" in settings.broker_acl_file.read_text()
    summary = result.summary(settings)
    assert "not signalled: no pid file" in summary
    assert "firewatch broker passwd svc.ingest" in summary
    assert oct(settings.broker_password_file.stat().st_mode & 0o777) == "0o640"


def test_devices_without_a_password_or_decommissioned_get_no_entry(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    settings = paths(settings, tmp_path)
    with_password = registry.add(f"{registry.site}-P", Kind.SMOKE)
    without = registry.add(f"{registry.site}-N", Kind.SMOKE)
    retired = registry.add(f"{registry.site}-R", Kind.SMOKE)
    passwords(settings, with_password, retired)
    db.execute("UPDATE devices SET status = 'decommissioned' WHERE id = %s", (retired,))
    result = run_sync(settings)
    written = settings.broker_password_file.read_text() + settings.broker_acl_file.read_text()
    assert f"\n{with_password}:$7$101$" in "\n" + written
    assert f"topic write fw/v1/{registry.site}/{with_password}/#" in written
    assert without not in written and retired not in written
    assert result.without_credentials >= 1
    assert "'firewatch broker passwd --missing' issues them" in result.summary(settings)


def test_ids_that_could_break_the_files_cannot_be_registered(registry: Registry) -> None:
    """The ACL is line-based: the devices table's CHECK keeps newlines, '/', '#', '+', ':',
    spaces and the service accounts' '.' out of every id."""
    for bad in ("a\ntopic readwrite #", "a/b", "a#", "a+", "a:b", "a b", INGEST_ACCOUNT, ""):
        with pytest.raises(psycopg.errors.CheckViolation):
            registry.add(bad, Kind.SMOKE)


@pytest.mark.parametrize(
    ("where", "hint"),
    [
        ("missing/passwd", "create the folder: install -d -m 2750 -g mosquitto"),
        ("a-file/passwd", "point FIREWATCH_BROKER_PASSWORD_FILE and FIREWATCH_BROKER_ACL_FILE"),
    ],
)
def test_an_unwritable_path_says_what_to_do(
    settings: Settings, tmp_path: Path, where: str, hint: str
) -> None:
    (tmp_path / "a-file").write_text("")
    settings = paths(settings, tmp_path).model_copy(
        update={"broker_password_file": tmp_path / where}
    )
    with pytest.raises(BrokerFileError, match=hint):
        run_sync(settings)
    assert [p.name for p in tmp_path.iterdir()] == ["a-file"]  # no temp file left behind


def test_the_command_exits_with_the_hint(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FIREWATCH_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FIREWATCH_BROKER_PASSWORD_FILE", str(tmp_path / "missing" / "passwd"))
    with pytest.raises(SystemExit, match=r"firewatch broker sync: cannot write .*install -d"):
        main(["broker", "sync"])


def test_only_a_running_mosquitto_is_signalled(tmp_path: Path) -> None:
    pid_file = tmp_path / "mosquitto.pid"
    assert reload_broker(pid_file).startswith("not signalled: no pid file")
    pid_file.write_text(f"{os.getpid()}\n")  # this python: must never get a SIGHUP
    assert "is 'python" in reload_broker(pid_file) or "is 'pytest" in reload_broker(pid_file)
    pid_file.write_text("4194305\n")  # above Linux's pid_max
    assert "stale" in reload_broker(pid_file)
    pid_file.write_text("garbage")
    with pytest.raises(BrokerFileError, match="FIREWATCH_BROKER_PID_FILE"):
        reload_broker(pid_file)


def test_three_thousand_devices_get_credentials_and_sync(
    settings: Settings, db: psycopg.Connection[Any], tmp_path: Path
) -> None:
    """The quarter's size in one go; the times are printed, not asserted (a timed test fails
    on a loaded machine, not on a slow change)."""
    settings = paths(settings, tmp_path)
    site = "t" + os.urandom(6).hex()
    ids = [f"{site}-{n:04d}" for n in range(3000)]
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO devices (id, kind, site, heartbeat_s) VALUES (%s, 'smoke', %s, 3600)",
            [(i, site) for i in ids],
        )
    started = time.perf_counter()
    assert len(asyncio.run(_issue(settings, ids))) == 3000
    issued_s = time.perf_counter() - started
    started = time.perf_counter()
    result = run_sync(settings)
    synced_s = time.perf_counter() - started
    print(f"\nissue_credentials: 3,000 ids in {issued_s:.3f} s; broker sync: {synced_s:.3f} s")
    assert result.devices >= 3000


async def _issue(settings: Settings, ids: list[str]) -> dict[str, str]:
    async with await connect_async(settings.database_url) as conn, conn.transaction():
        return await issue_credentials(conn, ids)


def test_passwd_prints_each_new_password_once(
    settings: Settings,
    registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    device = registry.add(f"{registry.site}-A", Kind.SMOKE)
    monkeypatch.setenv("FIREWATCH_DATABASE_URL", settings.database_url)
    main(["broker", "passwd", INGEST_ACCOUNT, device])
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert lines[0] == "name,password"
    assert sorted(line.split(",")[0] for line in lines[1:]) == sorted([INGEST_ACCOUNT, device])
    assert "shown only this once" in out.err
    with pytest.raises(SystemExit, match="register it first"):
        main(["broker", "passwd", "never-registered"])
    with pytest.raises(SystemExit, match="or --missing"):
        main(["broker", "passwd"])
