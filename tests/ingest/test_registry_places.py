"""The engine's neighbours come from the registry: a device's floor and room reach it."""

from __future__ import annotations

from typing import Any

import psycopg

from ingest.registry import RegistryCache


def test_a_devices_floor_and_room_reach_the_engine(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    rows = [(f"{site}-F", 3, "301"), (f"{site}-R", None, "kitchen"), (f"{site}-B", None, None)]
    for device_id, floor, room in rows:
        db.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building, floor, room)"
            " VALUES (%s, 'smoke', %s, 3600, 'B-7', %s, %s)",
            (device_id, site, floor, room),
        )
    cache = RegistryCache(database_url)
    try:
        found = cache.resolve({device_id for device_id, _, _ in rows})
    finally:
        cache.close()
    assert found[f"{site}-F"].place == ("B-7", "floor", "3")
    assert found[f"{site}-R"].place == ("B-7", "room", "kitchen")
    assert found[f"{site}-B"].place == ("B-7",)
