"""The bounded tables on the real PostgreSQL: retention, the cap per site, the dropped counts,
and the site a row counts against (Python and SQL must agree)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from store.bounded import prune_bounded_tables, table_usage
from store.dead_letters import DeadLetterRow, insert_dead_letters, topic_site
from store.pending import delete_pending

NOW = datetime.now(UTC)


@pytest.fixture()
def caps(db: psycopg.Connection[Any]) -> Iterator[None]:
    """Small caps for this test; the table is shared, so they are taken away after it."""
    db.execute(
        "INSERT INTO table_caps VALUES ('dead_letters', 100), ('pending_devices', 20)"
        " ON CONFLICT (tbl) DO UPDATE SET max_rows = excluded.max_rows"
    )
    yield
    db.execute("DELETE FROM table_caps")


def row(site: str, device: str, *, at: datetime = NOW, reason: str = "malformed") -> DeadLetterRow:
    return (at, f"fw/v1/{site}/{device}/event", device, reason, "bad", b"{", 1)


def write(conn: psycopg.Connection[Any], rows: list[DeadLetterRow]) -> None:
    with conn.transaction():
        insert_dead_letters(conn, rows)


def usage(db: psycopg.Connection[Any], site: str) -> dict[str, tuple[int, int]]:
    return {u.table: (u.rows, u.dropped) for u in table_usage(db) if u.site == site}


def count(db: psycopg.Connection[Any], table: str, site: str) -> int:
    column = "topic" if table == "dead_letters" else "last_topic"
    found = db.execute(
        f"SELECT count(*) FROM {table} WHERE {column} LIKE %s",
        (f"fw/v1/{site}/%",),
    ).fetchone()
    return int(found[0]) if found else -1


def prune(db: psycopg.Connection[Any], *, dead: int = 100, pending: int = 20) -> None:
    prune_bounded_tables(
        db,
        now=NOW,
        dead_letter_days=30,
        dead_letters_max=dead,
        pending_days=30,
        pending_max=pending,
    )


def test_retention_prunes_old_rows_and_keeps_new(
    db: psycopg.Connection[Any], site: str, caps: None
) -> None:
    old, new = NOW - timedelta(days=31), NOW - timedelta(days=29)
    write(
        db,
        [
            row(site, "D1", at=old),
            row(site, "D2", at=new),
            row(site, "U-old", at=old, reason="unknown_device"),
            row(site, "U-new", at=new, reason="unknown_device"),
        ],
    )
    prune(db, dead=10_000, pending=10_000)
    kept = db.execute(
        "SELECT device_id FROM dead_letters WHERE topic LIKE %s ORDER BY device_id",
        (f"fw/v1/{site}/%",),
    ).fetchall()
    assert [k[0] for k in kept] == ["D2", "U-new"]
    pending = db.execute(
        "SELECT device_id FROM pending_devices WHERE last_topic LIKE %s", (f"fw/v1/{site}/%",)
    ).fetchall()
    assert [p[0] for p in pending] == ["U-new"]
    # Expiry is not a drop; the counts are exact after maintenance.
    assert usage(db, site) == {"dead_letters": (2, 0), "pending_devices": (1, 0)}


def test_dead_letter_cap_holds_and_counts_what_it_dropped(
    db: psycopg.Connection[Any], site: str, caps: None
) -> None:
    for batch in range(3):
        write(db, [row(site, f"D{batch}-{i}") for i in range(50)])
    assert count(db, "dead_letters", site) == 100
    assert usage(db, site)["dead_letters"] == (100, 50)
    # Maintenance trims to 90 % of the cap, so the next rejections find room; trimmed rows are
    # dropped too, and the newest stay.
    prune(db)
    assert count(db, "dead_letters", site) == 90
    assert usage(db, site)["dead_letters"] == (90, 60)
    newest = db.execute(
        "SELECT count(*) FROM dead_letters WHERE topic LIKE %s AND device_id LIKE 'D1-%%'",
        (f"fw/v1/{site}/%",),
    ).fetchone()
    assert newest == (50,)
    write(db, [row(site, f"E{i}") for i in range(15)])
    assert usage(db, site)["dead_letters"] == (100, 65)


def test_the_cap_is_per_site(db: psycopg.Connection[Any], site: str, caps: None) -> None:
    other = site + "x"
    write(db, [row(site, f"D{i}") for i in range(120)] + [row(other, f"D{i}") for i in range(30)])
    assert (count(db, "dead_letters", site), count(db, "dead_letters", other)) == (100, 30)
    assert usage(db, other)["dead_letters"] == (30, 0)


def test_concurrent_batches_cannot_both_take_the_last_room(
    database_url: str, db: psycopg.Connection[Any], site: str, caps: None
) -> None:
    start = threading.Barrier(2)

    def worker(name: str) -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            start.wait()
            for b in range(6):
                write(conn, [row(site, f"{name}{b}-{i}") for i in range(10)])

    threads = [threading.Thread(target=worker, args=(n,)) for n in "AB"]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert count(db, "dead_letters", site) == 100
    assert usage(db, site)["dead_letters"] == (100, 20)


def test_pending_cap_lists_new_ids_while_there_is_room_and_keeps_updating_listed_ones(
    db: psycopg.Connection[Any], site: str, caps: None
) -> None:
    write(db, [row(site, f"U{i:03}", reason="unknown_device") for i in range(30)])
    assert count(db, "pending_devices", site) == 20
    assert usage(db, site)["pending_devices"] == (20, 10)
    listed = db.execute(
        "SELECT device_id FROM pending_devices WHERE last_topic LIKE %s ORDER BY device_id LIMIT 1",
        (f"fw/v1/{site}/%",),
    ).fetchone()
    assert listed is not None
    write(db, [row(site, listed[0], reason="unknown_device")])
    again = db.execute(
        "SELECT count FROM pending_devices WHERE device_id = %s", (listed[0],)
    ).fetchone()
    assert again == (2,)
    assert usage(db, site)["pending_devices"] == (20, 10)


def test_an_unknown_device_refused_by_the_dead_letter_cap_is_still_pending(
    db: psycopg.Connection[Any], site: str, caps: None
) -> None:
    write(db, [row(site, f"D{i}") for i in range(100)])  # a flood of junk fills the cap
    write(db, [row(site, "NEW-1", reason="unknown_device")])
    assert count(db, "dead_letters", site) == 100
    listed = db.execute("SELECT count FROM pending_devices WHERE device_id = 'NEW-1'")
    assert listed.fetchone() == (1,)
    assert usage(db, site) == {"dead_letters": (100, 1), "pending_devices": (1, 0)}


@pytest.mark.parametrize(
    "topic",
    [
        "",
        "fw",
        "fw/v1",
        "fw/v1/",
        "//",
        "fw/v1/" + "s" * 500 + "/D/event",
        "fw/v1/站点/D/x",
        "fw/v1/a b/%/_/'; DROP TABLE dead_letters; --",
    ],
)
def test_hostile_topics_count_against_a_bounded_site(
    db: psycopg.Connection[Any], topic: str, caps: None
) -> None:
    write(db, [(NOW, topic, None, "bad_topic", "bad", b"", 0)])
    site = topic_site(topic)
    assert len(site) <= 64
    assert usage(db, site)["dead_letters"][0] >= 1
    db.execute("DELETE FROM dead_letters WHERE topic = %s", (topic,))


@settings(max_examples=200, deadline=None)
@given(topic=st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00")))
def test_python_and_sql_agree_on_a_topics_site(database_url: str, topic: str) -> None:
    with psycopg.connect(database_url) as conn:
        found = conn.execute("SELECT topic_site(%s)", (topic,)).fetchone()
    assert found == (topic_site(topic),)


def test_taking_ids_off_the_pending_list_makes_room_at_once(
    db: psycopg.Connection[Any], site: str, caps: None, database_url: str
) -> None:
    """Registering or dismissing pending ids lowers the site's count in the same statement,
    so new unknown ids are listed again before the next recount. (Ids are global: this
    test's are its own.)"""
    write(db, [row(site, f"{site}-U{i:03}", reason="unknown_device") for i in range(20)])
    assert usage(db, site)["pending_devices"] == (20, 0)

    async def dismiss() -> int:
        async with await psycopg.AsyncConnection.connect(database_url, autocommit=True) as conn:
            gone = [f"{site}-U{i:03}" for i in range(5)]
            return await delete_pending(conn, [*gone, "never-seen"])

    assert asyncio.run(dismiss()) == 5
    assert usage(db, site)["pending_devices"] == (15, 0)
    write(db, [row(site, f"{site}-V{i:03}", reason="unknown_device") for i in range(5)])
    assert count(db, "pending_devices", site) == 20
    assert usage(db, site)["pending_devices"] == (20, 0)
