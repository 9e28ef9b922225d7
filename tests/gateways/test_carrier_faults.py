"""The gateways' committing path when things go wrong: a database away, a full inbox, rows a
newer gateway wrote, text PostgreSQL refuses. Nothing may hang, crash a loop, or be lost."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest

from contract.messages import Reason
from firewatch.testing import free_port, wait_until
from gateways import messages
from gateways.carrier import InboxCarrier, NotCarried
from ingest.inbox_source import InboxSource
from ingest.service import IngestService
from settings import Settings


def test_a_database_away_is_not_carried_and_the_carrier_lives_on() -> None:
    away = f"postgresql://postgres@127.0.0.1:{free_port()}/none"

    async def go() -> None:
        carrier = InboxCarrier(away, timeout_s=3)
        await carrier.start()
        item = messages.refusal(
            "t", "s", peer="p", reason=Reason.BAD_FRAME, detail="x", raw=b"", received_at=_now()
        )
        for _ in range(2):  # the second finds the loops still running
            with pytest.raises(NotCarried, match="unavailable"):
                await carrier.carry([item], gateway="t")
        assert all(not task.done() for task in carrier._tasks)
        await carrier.stop()  # never raises

    asyncio.run(go())


def _now() -> datetime:
    return datetime.now(UTC)


def test_a_full_inbox_is_refused_at_once(settings: Settings, db: psycopg.Connection[Any]) -> None:
    """No ingest runs for this site: rows stay (nothing is thrown away), up to the cap."""
    site = settings.site

    async def go() -> None:
        carrier = InboxCarrier(settings.database_url, timeout_s=0.3, backlog_max=2)
        await carrier.start()
        try:
            for n in range(2):
                with pytest.raises(NotCarried, match="did not commit"):
                    await carrier.carry([_refusal(site, f"p{n}")], gateway="t")
            await asyncio.sleep(1.1)  # the count is refreshed at most once a second
            with pytest.raises(NotCarried, match="did not commit"):
                await carrier.carry([_refusal(site, "p2")], gateway="t")  # counts on its write
            with pytest.raises(NotCarried, match="is 'firewatch ingest' running"):
                await carrier.carry([_refusal(site, "p3")], gateway="t")
        finally:
            await carrier.stop()

    asyncio.run(go())
    row = db.execute("SELECT count(*) FROM gateway_inbox WHERE site = %s", (site,)).fetchone()
    assert row == (3,)
    db.execute("DELETE FROM gateway_inbox WHERE site = %s", (site,))


def _refusal(site: str, peer: str) -> Any:
    return messages.refusal(
        "t", site, peer=peer, reason=Reason.BAD_FRAME, detail="d", raw=b"", received_at=_now()
    )


def test_text_postgresql_refuses_is_carried_cleaned(
    ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = ingest.settings.site
    item = messages.refusal(
        "t",
        site,
        peer="p\x00q",
        reason=Reason.BAD_FRAME,
        detail="nul \x00 here",
        raw=b"\x00",
        received_at=_now(),
    )
    asyncio.run(_carry(ingest.settings.database_url, [item]))
    row = db.execute(
        "SELECT topic, detail FROM dead_letters WHERE topic LIKE %s", (f"gw/t/{site}/%",)
    ).fetchone()
    assert row == (f"gw/t/{site}/p_q", "nul \ufffd here")


async def _carry(url: str, items: list[Any]) -> None:
    carrier = InboxCarrier(url, timeout_s=10)
    await carrier.start()
    try:
        await carrier.carry(items, gateway="t")
    finally:
        await carrier.stop()


def test_a_refusal_this_ingest_does_not_know_is_dead_lettered_as_malformed(
    ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    """A newer gateway may refuse for a reason an older ingest has no name for: the row must
    not stop ingest (it would be taken again at every poll)."""
    site = ingest.settings.site
    db.execute(
        "INSERT INTO gateway_inbox (site, gateway, device_id, topic, payload, received_at,"
        " rejection_reason, rejection_detail) VALUES (%s, 't', NULL, %s, '', now(),"
        " 'from_the_future', 'why')",
        (site, f"gw/t/{site}/p"),
    )
    db.execute("NOTIFY gateway_inbox")

    def stored() -> object:
        return db.execute(
            "SELECT reason, detail FROM dead_letters WHERE topic = %s", (f"gw/t/{site}/p",)
        ).fetchone()

    wait_until(stored, timeout=10, what="the row to be dead-lettered")
    assert stored() == ("malformed", "refused as 'from_the_future': why")
    assert ingest.ready


def test_an_inbox_source_with_its_database_away_returns_nothing_and_never_raises() -> None:
    source = InboxSource(f"postgresql://postgres@127.0.0.1:{free_port()}/none", site="s")
    results: list[object] = []

    def poll() -> None:
        results.append(source.next_batch(max_size=10, max_bytes=1000, wait_s=0, idle_s=0))
        results.append(source.ack([]))

    thread = threading.Thread(target=poll)
    thread.start()
    thread.join(timeout=15)
    assert results == [[], 0]
    source.stop()
