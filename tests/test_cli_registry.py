"""``firewatch devices import|export`` and ``firewatch users``, run as a person runs them."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tests.ingest.helpers import scalar

ROOT = Path(__file__).resolve().parent.parent


def firewatch(*args: str, database_url: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firewatch", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "FIREWATCH_DATABASE_URL": database_url},
        timeout=60,
        check=False,
    )


def _document(site: str, count: int) -> dict[str, Any]:
    return {
        "buildings": [{"id": f"{site}-B1", "name": "No. 1"}],
        "devices": [
            {
                "id": f"{site}-SD{i}",
                "kind": "smoke",
                "site": site,
                "building": f"{site}-B1",
                "floor": 1,
            }
            for i in range(count)
        ],
    }


def test_import_dry_run_then_for_real_with_the_passwords_in_a_private_file(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    source = tmp_path / "quarter.json"
    source.write_bytes(orjson.dumps(_document(site, 1200)))
    dry = firewatch("devices", "import", str(source), "--dry-run", database_url=database_url)
    assert dry.returncode == 0, dry.stderr
    assert "would register 1200 new device(s)" in dry.stdout and "dry run" in dry.stdout
    assert "1,200/1,200 devices" in dry.stderr  # the progress bar
    assert scalar(db, "SELECT count(*) FROM devices WHERE site = %s", site) == 0

    secrets = tmp_path / "passwords.csv"
    done = firewatch(
        "devices",
        "import",
        str(source),
        "--credentials-out",
        str(secrets),
        "--status",
        "commissioning",
        database_url=database_url,
    )
    assert done.returncode == 0, done.stderr
    assert "registered 1200 new device(s)" in done.stdout and "mode 0600" in done.stdout
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    lines = secrets.read_text().splitlines()
    assert lines[0] == "device_id,mqtt_password" and len(lines) == 1201
    assert (
        scalar(
            db, "SELECT count(*) FROM devices WHERE site = %s AND status = 'commissioning'", site
        )
        == 1200
    )
    assert (
        scalar(
            db,
            "SELECT count(*) FROM audit_log WHERE actor LIKE 'cli:%%' AND subject_id = %s",
            f"{site}-SD0",
        )
        == 1
    )


def test_import_prints_passwords_without_a_file_and_refuses_a_bad_file_whole(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    good = tmp_path / "one.json"
    good.write_bytes(orjson.dumps(_document(site, 1)))
    printed = firewatch("devices", "import", str(good), database_url=database_url)
    assert printed.returncode == 0 and f"{site}-SD0," in printed.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(
        f"id,kind,site,floor\n{site}-X1,smoke,{site},1\n{site}-X2,toaster,{site},1\n"
        f"{site}-X3,smoke,{site},999\n"
    )
    refused = firewatch("devices", "import", str(bad), database_url=database_url)
    assert refused.returncode == 1
    assert f"devices row 3 ({site}-X2): kind:" in refused.stderr
    assert f"devices row 4 ({site}-X3): floor:" in refused.stderr
    assert "nothing was imported" in refused.stderr
    assert scalar(db, "SELECT count(*) FROM devices WHERE id = %s", f"{site}-X1") == 0
    unreadable = tmp_path / "devices.txt"
    unreadable.write_text("x")
    assert firewatch("devices", "import", str(unreadable), database_url=database_url).returncode
    missing = firewatch("devices", "import", str(tmp_path / "nope.json"), database_url=database_url)
    assert missing.returncode == 1 and "does not exist" in missing.stderr


def test_export_writes_what_import_reads(tmp_path: Path, database_url: str, site: str) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(orjson.dumps(_document(site, 3)))
    assert firewatch("devices", "import", str(source), database_url=database_url).returncode == 0
    for fmt in ("csv", "json"):
        out = tmp_path / f"out.{fmt}"
        exported = firewatch(
            "devices", "export", "--format", fmt, "--out", str(out), database_url=database_url
        )
        assert exported.returncode == 0 and str(out) in exported.stdout
        assert f"{site}-SD2" in out.read_text()
        again = firewatch("devices", "import", str(out), "--dry-run", database_url=database_url)
        assert again.returncode == 0, again.stderr
        assert "would register 0 new device(s), updated 0" in again.stdout


def test_users_list_disable_and_rotate(database_url: str, site: str) -> None:
    name = f"chen-{site}"
    added = firewatch("users", "add", name, "--role", "technician", database_url=database_url)
    assert added.returncode == 0 and "shown only this once" in added.stdout
    listed = firewatch("users", "list", database_url=database_url)
    row = next(line for line in listed.stdout.splitlines() if line.startswith(name))
    assert row.split() == [name, "technician", "enabled", "1"]
    rotated = firewatch("users", "rotate-token", name, database_url=database_url)
    assert rotated.returncode == 0 and "fw_" in rotated.stdout
    disabled = firewatch("users", "disable", name, database_url=database_url)
    assert disabled.returncode == 0 and "disabled" in disabled.stdout
    again = firewatch("users", "rotate-token", name, database_url=database_url)
    assert again.returncode == 1 and "is disabled" in again.stderr
    nobody = firewatch("users", "disable", f"nobody-{site}", database_url=database_url)
    assert nobody.returncode == 1 and "users list" in nobody.stderr


def test_credentials_out_is_opened_before_the_import_and_never_overwritten(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(orjson.dumps(_document(site, 2)))
    taken = tmp_path / "passwords.csv"
    taken.write_text("someone else's\n")
    refused = firewatch(
        "devices",
        "import",
        str(source),
        "--credentials-out",
        str(taken),
        database_url=database_url,
    )
    assert refused.returncode == 1 and "exists" in refused.stderr
    assert taken.read_text() == "someone else's\n"
    assert scalar(db, "SELECT count(*) FROM devices WHERE site = %s", site) == 0
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "target.csv")
    followed = firewatch(
        "devices",
        "import",
        str(source),
        "--credentials-out",
        str(link),
        database_url=database_url,
    )
    assert followed.returncode == 1 and not (tmp_path / "target.csv").exists()
    assert scalar(db, "SELECT count(*) FROM devices WHERE site = %s", site) == 0
    nowhere = firewatch(
        "devices",
        "import",
        str(source),
        "--credentials-out",
        str(tmp_path / "no" / "x.csv"),
        database_url=database_url,
    )
    assert nowhere.returncode == 1 and "cannot create" in nowhere.stderr
    assert scalar(db, "SELECT count(*) FROM devices WHERE site = %s", site) == 0


def test_a_failed_import_leaves_no_credentials_file(
    tmp_path: Path, database_url: str, site: str
) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text(f"id,kind,site\n{site}-X1,toaster,{site}\n")
    out = tmp_path / "passwords.csv"
    refused = firewatch(
        "devices", "import", str(bad), "--credentials-out", str(out), database_url=database_url
    )
    assert refused.returncode == 1 and not out.exists()


def test_a_user_name_is_checked_before_anything_is_written(database_url: str) -> None:
    refused = firewatch("users", "add", "bad name", "--role", "viewer", database_url=database_url)
    assert refused.returncode == 2 and "not a user name" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_broker_passwd_is_audited_with_the_login(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    source = tmp_path / "in.json"
    source.write_bytes(orjson.dumps(_document(site, 1)))
    assert firewatch("devices", "import", str(source), database_url=database_url).returncode == 0
    rotated = firewatch("broker", "passwd", f"{site}-SD0", database_url=database_url)
    assert rotated.returncode == 0, rotated.stderr
    row = db.execute(
        "SELECT actor, action, detail FROM audit_log"
        " WHERE subject_type = 'credentials' AND subject_id = %s",
        (f"{site}-SD0",),
    ).fetchone()
    assert row is not None and row[0].startswith("cli:")
    assert (row[1], row[2]) == ("rotate", {"account": "device"})
