"""The notification queue's own contract: enqueue skips keys already queued, commits with the
caller and wakes listeners only then; deliveries_of shows no channel secrets; a claimed row is
invisible to a second sender until its outcome commits."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import psycopg
import pytest

from store.deliveries import (
    CHANNEL,
    NewDelivery,
    claim,
    deliveries_of,
    enqueue,
    record_failure,
    record_sent,
)


def _item(key: str, *, dispatch_id: int | None = 7, person: str = "p1") -> NewDelivery:
    return NewDelivery(
        key=key,
        dispatch_id=dispatch_id,
        person_id=person,
        step="notify:0",
        channel_id="robot-1",
        channel_kind="dingtalk",
        channel_config={"url": "http://127.0.0.1:9/robot/send", "secret": "SEC-hidden"},
        message={"title": "火警", "text": "1号楼", "link": None, "mention_phones": ["138"]},
    )


async def _enqueue(url: str, items: list[NewDelivery], *, commit: bool = True) -> list[int]:
    async with await psycopg.AsyncConnection.connect(url) as conn:
        ids = await enqueue(conn, items=items)
        await (conn.commit() if commit else conn.rollback())
        return ids


async def _of(url: str, dispatch_id: int) -> list[dict[str, Any]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        return await deliveries_of(conn, dispatch_id=dispatch_id)


@pytest.fixture()
def dispatch_id() -> int:
    return uuid.uuid4().int % 2**62


def test_a_key_is_queued_once(database_url: str, dispatch_id: int) -> None:
    tag = uuid.uuid4().hex
    first = asyncio.run(_enqueue(database_url, [_item(f"{tag}-a", dispatch_id=dispatch_id)]))
    again = asyncio.run(
        _enqueue(
            database_url,
            [
                _item(f"{tag}-a", dispatch_id=dispatch_id),
                _item(f"{tag}-b", dispatch_id=dispatch_id),
            ],
        )
    )
    assert len(first) == 1 and len(again) == 1 and again[0] != first[0]
    rows = asyncio.run(_of(database_url, dispatch_id))
    assert [r["key"] for r in rows] == [f"{tag}-a", f"{tag}-b"]
    assert rows[0]["state"] == "pending" and rows[0]["attempts"] == 0
    assert rows[0]["title"] == "火警" and rows[0]["due_at"] is not None
    assert all("SEC-hidden" not in repr(r) and "channel_config" not in r for r in rows)


def test_a_rolled_back_enqueue_leaves_nothing_and_wakes_nobody(
    database_url: str, db: psycopg.Connection[Any], dispatch_id: int
) -> None:
    db.execute(f"LISTEN {CHANNEL}")
    asyncio.run(
        _enqueue(database_url, [_item(uuid.uuid4().hex, dispatch_id=dispatch_id)], commit=False)
    )
    assert list(db.notifies(timeout=0.3)) == []
    assert asyncio.run(_of(database_url, dispatch_id)) == []
    asyncio.run(_enqueue(database_url, [_item(uuid.uuid4().hex, dispatch_id=dispatch_id)]))
    heard = list(db.notifies(timeout=2, stop_after=1))
    assert [n.channel for n in heard] == [CHANNEL]


def test_a_claimed_row_is_skipped_by_others_and_its_outcome_recorded(
    database_url: str, dispatch_id: int
) -> None:
    with psycopg.connect(database_url) as one, psycopg.connect(database_url) as two:
        # Rows other tests left pending would be claimed first: out of the way with them.
        one.execute("UPDATE deliveries SET state = 'sent', sent_at = now() WHERE state = 'pending'")
        one.commit()
        tag = uuid.uuid4().hex
        asyncio.run(
            _enqueue(
                database_url,
                [_item(f"{tag}-{n}", dispatch_id=dispatch_id) for n in range(2)],
            )
        )
        first = claim(one)
        second = claim(two)
        assert first is not None and second is not None and first.id != second.id
        assert first.channel_config["secret"] == "SEC-hidden"
        with psycopg.connect(database_url, autocommit=True) as third:
            assert claim(third) is None
        record_sent(one, first.id)
        one.commit()
        record_failure(two, second.id, error="HTTP 503", retry_in_s=30)
        two.commit()
        again = claim(two)  # not due for 30 s
        assert again is None
        two.rollback()
        record_failure(two, second.id, error="x" * 2000, retry_in_s=None)
        two.commit()
    rows = {r["id"]: r for r in asyncio.run(_of(database_url, dispatch_id))}
    assert rows[first.id]["state"] == "sent" and rows[first.id]["attempts"] == 1
    assert rows[first.id]["sent_at"] is not None and rows[first.id]["due_at"] is None
    failed = rows[second.id]
    assert failed["state"] == "failed" and failed["attempts"] == 2
    assert failed["failed_at"] is not None and len(failed["last_error"]) == 500
