"""``firewatch rosters import``, run as a person runs it: a dry run writes nothing, a real one
writes and audits as the console's login, and a bad file is refused whole, naming its rows."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tests.ingest.helpers import scalar
from tests.test_cli_registry import firewatch


def test_json_dry_run_then_for_real_audited_as_the_console(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    zone = f"{site}-G1"
    db.execute("INSERT INTO zones (id) VALUES (%s)", (zone,))
    source = tmp_path / "grid.json"
    source.write_bytes(
        orjson.dumps(
            {
                "channels": [
                    {
                        "id": f"{site}-hook",
                        "kind": "webhook",
                        "config": {"url": "https://h.example"},
                    }
                ],
                "people": [
                    {"id": f"{site}-w", "name": "网格员", "channels": [f"{site}-hook"]},
                    {"id": f"{site}-s", "name": "主管", "role": "supervisor"},
                ],
                "shifts": [
                    {
                        "zone": zone,
                        "person": f"{site}-w",
                        "position": 0,
                        "start": "20:00",
                        "end": "08:00",
                    }
                ],
                "supervisors": [{"zone": zone, "level": 1, "person": f"{site}-s"}],
            }
        )
    )
    dry = firewatch("rosters", "import", str(source), "--dry-run", database_url=database_url)
    assert dry.returncode == 0, dry.stderr
    assert "would write people: 2 new" in dry.stdout and "dry run" in dry.stdout
    assert scalar(db, "SELECT count(*) FROM people WHERE id LIKE %s", f"{site}-%") == 0

    done = firewatch("rosters", "import", str(source), database_url=database_url)
    assert done.returncode == 0, done.stderr
    assert "wrote people: 2 new, 0 replaced; channels: 1 new" in done.stdout
    assert f"({zone})" in done.stdout
    assert scalar(db, "SELECT count(*) FROM roster_shifts WHERE zone = %s", zone) == 1
    actors = db.execute(
        "SELECT DISTINCT actor FROM audit_log WHERE subject_id IN (%s, %s)", (f"{site}-w", zone)
    ).fetchall()
    assert actors == [(f"cli:{getpass.getuser()}",)]


def test_a_bad_file_is_refused_whole_naming_each_row_and_field(
    tmp_path: Path, database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    zone = f"{site}-G1"
    db.execute("INSERT INTO zones (id) VALUES (%s)", (zone,))
    db.execute(
        "INSERT INTO people (id, name, role) VALUES (%s, 'w', 'grid_worker')", (f"{site}-w",)
    )
    source = tmp_path / "shifts.csv"
    source.write_text(
        "zone,person,position,weekdays,start,end\n"
        f"{zone},{site}-w,0,1-5,08:00,20:00\n"
        f"{zone},{site}-w,1,6-8,20:00,08:00\n"
        f"{zone},{site}-w,2,*,noon,20:00\n",
        encoding="utf-8",
    )
    refused = firewatch("rosters", "import", str(source), database_url=database_url)
    assert refused.returncode == 1
    assert (
        f"shifts row 3 ({zone}): weekdays: Value error, '6-8' is not a range of ISO days "
        "within 1-7" in refused.stderr
    )
    assert f"shifts row 4 ({zone}): start:" in refused.stderr
    assert "2 error(s); nothing was imported" in refused.stderr
    assert scalar(db, "SELECT count(*) FROM roster_shifts WHERE zone = %s", zone) == 0

    unknown = tmp_path / "grid.txt"
    unknown.write_text("id,name\n", encoding="utf-8")
    wrong_type = firewatch("rosters", "import", str(unknown), database_url=database_url)
    assert wrong_type.returncode == 1 and "name it .csv or .json" in wrong_type.stderr
    missing = firewatch("rosters", "import", str(tmp_path / "none.csv"), database_url=database_url)
    assert missing.returncode == 1 and "none.csv does not exist" in missing.stderr
