"""The rosters' tables keep their references: a person or channel still named cannot be deleted
(the service looks first; this is what stops one named since), and the transaction goes on."""

from __future__ import annotations

import asyncio
from typing import Any

import psycopg
import pytest

from store import rosters
from store.database import connect_async


def test_a_delete_of_a_row_still_named_is_refused_and_the_transaction_goes_on(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    person, channel = f"{site}-p", f"{site}-c"
    db.execute("INSERT INTO channels (id, kind) VALUES (%s, 'webhook')", (channel,))
    db.execute("INSERT INTO people (id, name, role) VALUES (%s, 'p', 'grid_worker')", (person,))
    db.execute("INSERT INTO person_channels VALUES (%s, %s, 1)", (person, channel))
    db.execute(
        "INSERT INTO roster_shifts (zone, person_id, position, weekdays, starts, ends)"
        " VALUES (%s, %s, 0, '{1}', '08:00', '20:00')",
        (f"{site}-G1", person),
    )

    async def go() -> list[str]:
        refused = []
        async with await connect_async(database_url) as conn, conn.transaction():
            for delete, row in ((rosters.delete_channel, channel), (rosters.delete_person, person)):
                with pytest.raises(rosters.StillReferenced):
                    await delete(conn, row)
                refused.append(row)
            await conn.execute("DELETE FROM roster_shifts WHERE person_id = %s", (person,))
            await rosters.delete_person(conn, person)  # person_channels go with the person
            await rosters.delete_channel(conn, channel)
        return refused

    assert asyncio.run(go()) == [channel, person]
    left = db.execute(
        "SELECT (SELECT count(*) FROM people WHERE id = %s), "
        "(SELECT count(*) FROM channels WHERE id = %s)",
        (person, channel),
    ).fetchone()
    assert left == (0, 0)
