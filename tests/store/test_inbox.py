"""The gateway inbox's rows as ingest takes them: by site, by a worker's share, never twice."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import psycopg

from store import inbox


def _put(url: str, rows: list[inbox.InboxRow]) -> list[int]:
    async def go() -> list[int]:
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            return await inbox.put(conn, rows)

    return asyncio.run(go())


def _row(site: str, device_id: str | None, *, refused: bool = False) -> inbox.InboxRow:
    topic = f"fw/v1/{site}/{device_id}/event" if device_id else f"gw/gb26875/{site}/peer"
    return (
        site,
        "test",
        device_id,
        topic,
        b"{}",
        datetime.now(UTC),
        "bad_frame" if refused else None,
        "checksum" if refused else None,
    )


def test_a_worker_takes_its_devices_and_the_strays_worker_the_rest(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    mine, other, unknown = f"{site}-A", f"{site}-B", f"{site}-C"
    ids = _put(
        database_url,
        [
            _row(site, mine),
            _row(site, other),
            _row(site, unknown),
            _row(site, None, refused=True),
            _row(site + "x", mine),  # another site's ingest takes this one
        ],
    )
    known = [mine, other]

    def taken(share: inbox.Share | None, skip: tuple[int, ...] = ()) -> list[int]:
        rows = inbox.take(db, site=site, skip=skip, share=share, limit=100, max_bytes=1 << 20)
        return [r[0] for r in rows]

    assert taken(None) == ids[:4]
    assert taken(inbox.Share([mine], strays=False, known=known)) == [ids[0]]
    assert taken(inbox.Share([mine], strays=True, known=known)) == [ids[0], ids[2], ids[3]]
    assert taken(inbox.Share([other], strays=False, known=known)) == [ids[1]]
    assert taken(None, skip=(ids[0], ids[2])) == [ids[1], ids[3]]
    inbox.done(db, ids[:2])
    assert taken(None) == ids[2:4]
    inbox.done(db, ids[2:])


def test_take_stops_near_max_bytes_but_always_takes_one(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    big = [(*_row(site, f"{site}-A")[:4], b"x" * 1000, *_row(site, None)[5:]) for _ in range(5)]
    ids = _put(database_url, big)
    rows = inbox.take(db, site=site, skip=[], share=None, limit=100, max_bytes=2500)
    assert [r[0] for r in rows] == ids[:3]
    rows = inbox.take(db, site=site, skip=[], share=None, limit=100, max_bytes=10)
    assert [r[0] for r in rows] == ids[:1]
    inbox.done(db, ids)
