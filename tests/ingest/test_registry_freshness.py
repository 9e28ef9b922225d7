"""Ingest's registry copy follows status and config changes within its two-second poll."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest

from alerts.config import KIND_DEFAULTS
from ingest.registry import POLL_S, RELOAD_S, RegistryCache
from tests.conftest import Registry


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def seen_at_a_poll(cache: RegistryCache, clock: Clock, device_id: str, status: str) -> bool:
    """Whether a poll sees ``status`` within a second of real time: a notification reaches the
    listener a moment after the commit returns, and a later poll takes it."""
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline:
        clock.now += POLL_S
        if cache.resolve([device_id])[device_id].status == status:
            return True
        time.sleep(0.02)
    return False


def test_a_change_is_seen_at_the_next_poll_not_before(
    database_url: str, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    from contract.kinds import Kind

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
        time.sleep(0.2)  # delivered by now, but not taken before the next poll
        clock.now += POLL_S / 2
        assert cache.resolve([device_id])[device_id].status == "active"
        assert seen_at_a_poll(cache, clock, device_id, "maintenance")
        device = cache.resolve([device_id])[device_id]
        assert device.rules.fixed_c == 68
    finally:
        cache.close()


def test_a_device_registered_after_being_unknown_is_found_at_the_next_poll(
    database_url: str, registry: Registry, site: str
) -> None:
    from contract.kinds import Kind

    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        late = f"{site}-LATE"
        assert cache.resolve([late]) == {}
        registry.add(late, Kind.SMOKE)
        time.sleep(0.5)  # the notification's way to the listener
        clock.now += POLL_S  # well inside the 5 s it would otherwise stay "unknown"
        assert late in cache.resolve([late])
    finally:
        cache.close()


def test_a_change_whose_transaction_started_long_before_its_commit_is_not_missed(
    database_url: str, registry: Registry, site: str
) -> None:
    """updated_at is the transaction's start: a poll on it missed a commit more than 10 s late.
    The notification is sent at commit, whatever updated_at says."""
    from contract.kinds import Kind

    device_id = registry.add(f"{site}-SD1", Kind.SMOKE)
    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        assert cache.resolve([device_id])[device_id].status == "active"
        with psycopg.connect(database_url) as slow:
            slow.execute(
                "UPDATE devices SET status = 'maintenance',"
                " updated_at = now() - interval '1 minute' WHERE id = %s",
                (device_id,),
            )
            for _ in range(3):  # the cache polls while the transaction is still open
                clock.now += POLL_S
                assert cache.resolve([device_id])[device_id].status == "active"
            slow.commit()
        assert seen_at_a_poll(cache, clock, device_id, "maintenance")
    finally:
        cache.close()


def test_after_a_lost_connection_the_cache_reloads_everything(
    database_url: str, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    """Notifications sent while it was disconnected are lost: a reconnect reloads in full."""
    from contract.kinds import Kind

    device_id = registry.add(f"{site}-SD1", Kind.SMOKE)
    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        assert cache.resolve([device_id])[device_id].status == "active"
        cache.close()
        db.execute("UPDATE devices SET status = 'maintenance' WHERE id = %s", (device_id,))
        assert cache.resolve([device_id])[device_id].status == "maintenance"
    finally:
        cache.close()


def test_a_full_reload_keeps_each_unchanged_device_as_it_was(
    database_url: str, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    """The engine reconfigures a device only when its instance changes: after the five-minute
    reload, only the device that changed is a new one."""
    from contract.kinds import Kind

    same, edited = registry.add(f"{site}-SD1", Kind.SMOKE), registry.add(f"{site}-SD2", Kind.SMOKE)
    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        before = cache.resolve([same, edited])
        db.execute(
            'UPDATE devices SET config = \'{"rules": {"fixed_c": 70}}\' WHERE id = %s', (edited,)
        )
        clock.now += RELOAD_S
        after = cache.resolve([same, edited])
        assert after[same] is before[same]
        assert after[edited] is not before[edited]
        assert (before[edited].rules.fixed_c, after[edited].rules.fixed_c) == (
            KIND_DEFAULTS[Kind.SMOKE].fixed_c,
            70,
        )
    finally:
        cache.close()


def test_a_config_the_registry_should_have_refused_falls_back_to_the_defaults_loudly(
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A row written past the API (by hand, or by an older version) must not stop ingest, nor
    fill the log with the same warning at every reload."""
    from contract.kinds import Kind

    device_id = registry.add(f"{site}-EF1", Kind.ELECTRICAL)
    db.execute(
        'UPDATE devices SET config = \'{"rules": {"no_such_threshold": 1}}\' WHERE id = %s',
        (device_id,),
    )
    clock = Clock()
    cache = RegistryCache(database_url, clock=clock)
    try:
        with caplog.at_level(logging.WARNING, logger="ingest.registry"):
            device = cache.resolve([device_id])[device_id]
            for _ in range(2):
                clock.now += RELOAD_S
                assert cache.resolve([device_id])[device_id] is device
        assert device.rules == KIND_DEFAULTS[Kind.ELECTRICAL]
        assert caplog.text.count(f"device {device_id}:") == 1
        assert f"device {device_id}: rules.no_such_threshold: unknown threshold" in caplog.text
        assert "using the electrical defaults until it is fixed" in caplog.text
    finally:
        cache.close()
        # The database is shared: an export of every device must not meet this row.
        db.execute("UPDATE devices SET config = '{}' WHERE id = %s", (device_id,))
