"""The gateways' committing path: a carrier returns only once ingest has committed."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from contract.kinds import Kind
from contract.messages import Reason
from firewatch.testing import wait_until
from gateways import messages
from gateways.carrier import InboxCarrier, LocalCarrier, NotCarried
from ingest.local_source import LocalSource
from ingest.parts import IngestParts
from ingest.service import IngestService
from settings import Settings
from tests.conftest import Registry


def _run(service: IngestService) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
    return stop, thread


@pytest.fixture()
def local_source() -> LocalSource:
    return LocalSource(capacity=100)


@pytest.fixture()
def ingest_with_gateway(settings: Settings, local_source: LocalSource) -> Iterator[IngestService]:
    parts = IngestParts.from_settings(settings, local_gateways=[local_source])
    service = IngestService(settings, parts=parts)
    stop, thread = _run(service)
    yield service
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive()


def _stored(db: psycopg.Connection[Any], device_id: str) -> int:
    row = db.execute("SELECT count(*) FROM readings WHERE device_id = %s", (device_id,)).fetchone()
    assert row is not None
    return int(row[0])


# A peer's retry says the same: same seq, same time.
BASE = datetime.now(UTC).replace(microsecond=0)


def _reading(site: str, device_id: str, seq: int) -> Any:
    now = datetime.now(UTC)
    return messages.reading(
        site,
        device_id,
        ts=BASE - timedelta(seconds=seq),
        seq=seq,
        values={"temperature_c": 21.5},
        received_at=now,
    )


def test_local_carry_returns_after_commit(
    ingest_with_gateway: IngestService,
    local_source: LocalSource,
    registry: Registry,
    site: str,
    db: psycopg.Connection[Any],
) -> None:
    device = registry.add("D-local", Kind.SMOKE)
    carrier = LocalCarrier(local_source, timeout_s=10)
    items = [_reading(site, device, seq) for seq in range(5)]
    asyncio.run(carrier.carry(items, gateway="test"))
    assert _stored(db, device) == 5  # committed before carry returned, not eventually
    again = [_reading(site, device, seq) for seq in range(5)]
    asyncio.run(carrier.carry(again, gateway="test"))
    assert _stored(db, device) == 5


def test_local_refusal_is_dead_lettered(
    ingest_with_gateway: IngestService,
    local_source: LocalSource,
    site: str,
    db: psycopg.Connection[Any],
) -> None:
    raw = b"@@\x01\x02garbage"
    refusal = messages.refusal(
        "gb26875",
        site,
        peer="10.0.0.9:5000",
        reason=Reason.BAD_FRAME,
        detail="checksum 0x12, computed 0x34",
        raw=raw,
        received_at=datetime.now(UTC),
    )
    asyncio.run(LocalCarrier(local_source, timeout_s=10).carry([refusal], gateway="gb26875"))
    row = db.execute(
        "SELECT reason, detail, payload FROM dead_letters WHERE topic = %s",
        (f"gw/gb26875/{site}/10.0.0.9:5000",),
    ).fetchone()
    assert row is not None
    assert (row[0], row[1], bytes(row[2])) == ("bad_frame", "checksum 0x12, computed 0x34", raw)


def test_local_carry_without_ingest_is_not_carried(site: str) -> None:
    carrier = LocalCarrier(LocalSource(capacity=10), timeout_s=0.2)
    with pytest.raises(NotCarried, match="did not commit"):
        asyncio.run(carrier.carry([_reading(site, "D-x", 1)], gateway="test"))


def test_local_source_full_refuses_at_once(site: str) -> None:
    carrier = LocalCarrier(LocalSource(capacity=2), timeout_s=5)
    items = [_reading(site, "D-x", seq) for seq in range(3)]
    with pytest.raises(NotCarried, match="waiting"):
        asyncio.run(carrier.carry(items, gateway="test"))


async def _carry_inbox(url: str, items: list[Any], *, timeout_s: float) -> None:
    carrier = InboxCarrier(url, timeout_s=timeout_s)
    await carrier.start()
    try:
        await carrier.carry(items, gateway="onenet")
    finally:
        await carrier.stop()


def _inbox_rows(db: psycopg.Connection[Any], site: str) -> int:
    row = db.execute("SELECT count(*) FROM gateway_inbox WHERE site = %s", (site,)).fetchone()
    assert row is not None
    return int(row[0])


def test_inbox_carry_waits_for_ingest_then_returns(
    settings: Settings, registry: Registry, site: str, db: psycopg.Connection[Any]
) -> None:
    """With ingest away the push is kept but not answered; once ingest runs, it is committed
    and the same push again stores nothing twice."""
    device = registry.add("D-inbox", Kind.SMOKE)
    items = [_reading(site, device, seq) for seq in range(3)]
    with pytest.raises(NotCarried):
        asyncio.run(_carry_inbox(settings.database_url, items, timeout_s=0.5))
    assert _inbox_rows(db, site) == 3 and _stored(db, device) == 0

    service = IngestService(settings)
    stop, thread = _run(service)
    try:
        wait_until(lambda: _inbox_rows(db, site) == 0, timeout=10, what="ingest to take the rows")
        assert _stored(db, device) == 3
        again = [_reading(site, device, seq) for seq in range(4)]
        asyncio.run(_carry_inbox(settings.database_url, again, timeout_s=10))
        assert _stored(db, device) == 4
        assert _inbox_rows(db, site) == 0
    finally:
        stop.set()
        thread.join(timeout=10)


def test_inbox_rows_of_another_site_are_left_alone(
    ingest: IngestService, registry: Registry, site: str, db: psycopg.Connection[Any]
) -> None:
    other = site + "x"
    registry.add("D-other", Kind.SMOKE, site=other)
    with pytest.raises(NotCarried):
        asyncio.run(
            _carry_inbox(
                ingest.settings.database_url, [_reading(other, "D-other", 1)], timeout_s=1.0
            )
        )
    assert _inbox_rows(db, other) == 1 and _stored(db, "D-other") == 0
    db.execute("DELETE FROM gateway_inbox WHERE site = %s", (other,))
