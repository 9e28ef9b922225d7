"""A zone's safety grid and a fire in it, for the dispatch tests: two grid workers on call all
day (the first with two channels), a supervisor after them, one building with its address and
position; people and rosters written through the roster service, as an admin would."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from dispatch.dispatcher import DispatchConfig
from dispatch.model import ChannelKind
from dispatch.on_call import BEIJING
from dispatch.roster_schemas import (
    ChannelWrite,
    PersonWrite,
    RosterWrite,
    ShiftWrite,
    SupervisorsWrite,
)
from dispatch.roster_service import put_channel, put_person, put_roster, put_supervisors
from store.audit import SYSTEM
from store.database import connect_async
from tests.api.alert_helpers import raise_alert
from tests.conftest import Registry

SECRET = b"field-link-secret-for-the-tests!"


def config_for(site: str) -> DispatchConfig:
    return DispatchConfig(
        site=site,
        accept_s=60,
        link_ttl_s=3600,
        base_url="http://field.test",
        secret=SECRET,
        tz=BEIJING,
    )


@dataclass(frozen=True, slots=True)
class Grid:
    zone: str
    building: str
    workers: tuple[str, str]
    supervisor: str
    channels: dict[str, tuple[str, ...]]  # person -> their channel ids


def make_grid(
    database_url: str, db: psycopg.Connection[Any], site: str, *, hook: str = "http://127.0.0.1:9"
) -> Grid:
    """``hook``: where the people's webhook channels post (nothing listens by default)."""
    zone, building = f"{site}-G1", f"{site}-B1"
    db.execute("INSERT INTO zones (id, name) VALUES (%s, '紫来一网格')", (zone,))
    db.execute(
        "INSERT INTO buildings (id, name, address, lat, lon, zone)"
        " VALUES (%s, '紫来街12号楼', '紫来街12号', 31.23041, 121.47372, %s)",
        (building, zone),
    )
    workers = (f"{site}-wang", f"{site}-li")
    supervisor = f"{site}-zhao"
    channels = {
        workers[0]: (f"{site}-hook-wang", f"{site}-hook-wang2"),
        workers[1]: (f"{site}-hook-li",),
        supervisor: (f"{site}-hook-zhao",),
    }

    async def go() -> None:
        async with await connect_async(database_url) as conn:
            for ids in channels.values():
                for channel_id in ids:
                    config = {"url": f"{hook}/{channel_id}"}
                    write = ChannelWrite(kind=ChannelKind.WEBHOOK, zone=zone, config=config)
                    await put_channel(conn, channel_id, write, actor=SYSTEM)
            for person, name, role in (
                (workers[0], "王芳", "grid_worker"),
                (workers[1], "李明", "grid_worker"),
                (supervisor, "赵雷", "supervisor"),
            ):
                body: dict[str, Any] = {
                    "name": name,
                    "phone": "13800138000",
                    "role": role,
                    "channels": list(channels[person]),
                }
                await put_person(conn, person, PersonWrite.model_validate(body), actor=SYSTEM)
            shifts = [
                ShiftWrite.model_validate(
                    {"person": person, "position": i, "start": "00:00", "end": "00:00"}
                )
                for i, person in enumerate(workers)
            ]
            await put_roster(conn, zone, RosterWrite(shifts=shifts), actor=SYSTEM)
            await put_supervisors(conn, zone, SupervisorsWrite(people=[supervisor]), actor=SYSTEM)

    asyncio.run(go())
    return Grid(zone, building, workers, supervisor, channels)


def fire(
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    building: str,
    *,
    confirmed: bool = True,
    at: datetime | None = None,
) -> int:
    """A smoke alarm (and, ``confirmed``, another detector's heat alarm a minute later) in
    the building; returns the incident's id."""
    at = at or datetime.now(UTC) - timedelta(minutes=2)
    first = raise_alert(
        db,
        registry.add(f"{building}-SD", kind=Kind.SMOKE),
        Rule.SMOKE_ALARM,
        AlertClass.FIRE,
        site=site,
        building=building,
        at=at,
    )
    if confirmed:
        raise_alert(
            db,
            registry.add(f"{building}-HD", kind=Kind.SMOKE),
            Rule.HEAT_FIXED,
            AlertClass.FIRE,
            site=site,
            building=building,
            at=at + timedelta(minutes=1),
        )
    row = db.execute("SELECT incident_id FROM alerts WHERE id = %s", (first,)).fetchone()
    assert row is not None and row[0] is not None
    return int(row[0])
