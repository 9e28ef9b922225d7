"""The re-stamped events' stamps are kept as long as the events, and then forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from store.restamped import prune_restamped, stamps


def test_stamps_older_than_the_retention_are_forgotten(
    db: psycopg.Connection[Any], site: str
) -> None:
    now = datetime.now(UTC)
    old, new = (f"{site}-old", 1, now - timedelta(days=500)), (f"{site}-new", 1, now)
    stamps(db, [(old, now - timedelta(days=450)), (new, now)])
    assert prune_restamped(db, before=now - timedelta(days=400)) >= 1
    left = db.execute(
        "SELECT device_id FROM restamped_events WHERE device_id LIKE %s", (f"{site}-%",)
    ).fetchall()
    assert left == [(f"{site}-new",)]
