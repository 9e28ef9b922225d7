"""Who to reach for a zone at a given moment, as ``Contact``s with their channels: the one
question the dispatcher asks of the rosters. The order itself is ``dispatch.on_call``'s."""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any

import psycopg

from dispatch.model import Channel, ChannelKind, Contact
from dispatch.on_call import BEIJING, Shift, call_order
from store import rosters as rows


async def contacts_for(
    conn: psycopg.AsyncConnection[Any], *, zone: str, at: datetime, tz: tzinfo = BEIJING
) -> list[Contact]:
    """The zone's active people in call order at ``at`` (shifts read on ``tz``'s wall clock,
    the site's time zone): grid workers on shift from level 0, then the supervisor chain.
    Each carries the channels of theirs that serve this zone (its own or site-wide)."""
    shift_rows, supervisors = await rows.on_call_rows(conn, zone)
    shifts = [
        Shift(
            person_id=r["person_id"],
            position=r["position"],
            weekdays=frozenset(r["weekdays"]),
            starts=r["starts"],
            ends=r["ends"],
        )
        for r in shift_rows
    ]
    order = call_order(shifts=shifts, supervisors=supervisors, at=at, tz=tz)
    people = await rows.contact_rows(conn, zone=zone, people=order)
    # Someone taken off the roster and deleted between the two reads is not called.
    present = [p for p in order if p in people]
    return [
        Contact(
            person_id=person_id,
            name=people[person_id]["name"],
            phone=people[person_id]["phone"],
            role=people[person_id]["role"],
            level=level,
            channels=tuple(
                Channel(id=c["id"], kind=ChannelKind(c["kind"]), config=c["config"])
                for c in people[person_id]["channels"]
            ),
        )
        for level, person_id in enumerate(present)
    ]


async def zone_of_building(conn: psycopg.AsyncConnection[Any], building: str) -> str | None:
    """The building's grid zone; None for an unknown building or one in no zone."""
    return await rows.zone_of_building(conn, building)
