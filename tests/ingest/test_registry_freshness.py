"""Ingest's registry copy follows status and config changes within its two-second poll."""

from __future__ import annotations

from typing import Any

import psycopg

from ingest.registry import POLL_S, RegistryCache
from tests.conftest import Registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_change_is_seen_at_the_next_poll_not_before(
    database_url: str, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    from alerts.kinds import Kind

    device_id = registry.add(f"{site}-SD1", Kind.SMOKE)
    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        assert cache.resolve([device_id])[device_id].status == "active"
        db.execute(
            "UPDATE devices SET status = 'maintenance', config = '{\"rules\": {\"fixed_c\": 68}}',"
            " updated_at = now() WHERE id = %s",
            (device_id,),
        )
        clock.now += POLL_S / 2
        assert cache.resolve([device_id])[device_id].status == "active"
        clock.now += POLL_S
        device = cache.resolve([device_id])[device_id]
        assert device.status == "maintenance"
        assert cache.info(device).rules.fixed_c == 68
    finally:
        cache.close()


def test_a_device_registered_after_being_unknown_is_found_at_the_next_poll(
    database_url: str, registry: Registry, site: str
) -> None:
    from alerts.kinds import Kind

    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        late = f"{site}-LATE"
        assert cache.resolve([late]) == {}
        registry.add(late, Kind.SMOKE)
        clock.now += POLL_S  # well inside the 5 s it would otherwise stay "unknown"
        assert late in cache.resolve([late])
    finally:
        cache.close()
