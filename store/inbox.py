"""The gateway inbox (migration 0018): messages a gateway in another process hands to ingest.

The gateway commits its rows, then waits until none of them is left: ingest deletes a row only
after the batch holding it has committed, so a gateway that sees its rows gone may answer its
peer (a GB/T 26875.3 confirm, an HTTP 200). Rows outlive any crash of either side."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg

CHANNEL = "gateway_inbox"  # a gateway wrote rows
DONE_CHANNEL = "gateway_inbox_done"  # ingest committed some

# site, gateway, device_id, topic, payload, received_at, rejection reason, rejection detail
InboxRow = tuple[str, str, str | None, str, bytes, datetime, str | None, str | None]
# id, device_id, topic, payload, received_at, rejection reason, rejection detail
TakenRow = tuple[int, str | None, str, bytes, datetime, str | None, str | None]

_INSERT = """
INSERT INTO gateway_inbox
    (site, gateway, device_id, topic, payload, received_at, rejection_reason, rejection_detail)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[], %s::bytea[],
                     %s::timestamptz[], %s::text[], %s::text[])
RETURNING id
"""


async def put(conn: psycopg.AsyncConnection[Any], rows: Sequence[InboxRow]) -> list[int]:
    """Commits the rows and wakes ingest; returns their ids in order."""
    columns = [list(c) for c in zip(*rows, strict=True)]
    async with conn.transaction():
        cur = await conn.execute(_INSERT, columns)
        ids = [int(r[0]) for r in await cur.fetchall()]
        await conn.execute("SELECT pg_notify(%s, '')", (CHANNEL,))
    return ids


async def backlog(conn: psycopg.AsyncConnection[Any]) -> dict[str, int]:
    """Rows waiting per site."""
    cur = await conn.execute("SELECT site, count(*) FROM gateway_inbox GROUP BY site")
    return {str(site): int(n) for site, n in await cur.fetchall()}


async def remaining(conn: psycopg.AsyncConnection[Any], ids: Collection[int]) -> set[int]:
    """Which of these rows ingest has not yet committed."""
    cur = await conn.execute("SELECT id FROM gateway_inbox WHERE id = ANY(%s)", (list(ids),))
    return {int(r[0]) for r in await cur.fetchall()}


@dataclass(frozen=True, slots=True)
class Share:
    """A partitioned worker's rows: its own devices', and with ``strays`` the refusals and the
    ids no worker owns (``known`` is every registered id), which one worker dead-letters."""

    mine: list[str]
    strays: bool
    known: list[str]


_TAKE = """
SELECT id, device_id, topic, payload, received_at, rejection_reason, rejection_detail
FROM (SELECT *, sum(length(payload)) OVER (ORDER BY id) AS upto
      FROM (SELECT * FROM gateway_inbox
            WHERE site = %(site)s AND id <> ALL(%(skip)s)
              AND (%(everything)s OR device_id = ANY(%(mine)s)
                   OR (%(strays)s AND (device_id IS NULL OR device_id <> ALL(%(known)s))))
            ORDER BY id LIMIT %(limit)s) AS f) AS s
WHERE upto - length(payload) < %(max_bytes)s
ORDER BY id
"""


def take(
    conn: psycopg.Connection[Any],
    *,
    site: str,
    skip: Sequence[int],
    share: Share | None,
    limit: int,
    max_bytes: int,
) -> list[TakenRow]:
    """The site's oldest rows of ``share`` (all when None) but ``skip`` (taken, not yet committed),
    up to ``limit`` rows or about ``max_bytes`` (always at least one)."""
    cur = conn.execute(
        _TAKE,
        {
            "site": site,
            "skip": list(skip),
            "everything": share is None,
            "mine": share.mine if share else [],
            "strays": share.strays if share else False,
            "known": share.known if share else [],
            "limit": limit,
            "max_bytes": max_bytes,
        },
    )
    return [(int(r[0]), r[1], r[2], bytes(r[3]), r[4], r[5], r[6]) for r in cur.fetchall()]


def done(conn: psycopg.Connection[Any], ids: Sequence[int]) -> None:
    """Called once the rows' batch has committed: their gateways may now answer, and are told
    to look."""
    with conn.transaction():
        conn.execute("DELETE FROM gateway_inbox WHERE id = ANY(%s)", (list(ids),))
        conn.execute("SELECT pg_notify(%s, '')", (DONE_CHANNEL,))
