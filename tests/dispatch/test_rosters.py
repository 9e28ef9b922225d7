"""Who is on call: shifts on the site's wall clock (Beijing time), on their weekdays, across
midnight, checked against a reference that reads each shift as an interval of time; then
``contacts_for`` and ``zone_of_building`` on the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.model import ChannelKind
from dispatch.on_call import BEIJING, Shift, call_order
from dispatch.roster_schemas import (
    ChannelWrite,
    PersonWrite,
    RosterWrite,
    ShiftWrite,
    SupervisorsWrite,
)
from dispatch.roster_service import put_channel, put_person, put_roster, put_supervisors
from dispatch.rosters import contacts_for, zone_of_building
from store.audit import SYSTEM
from store.database import connect_async


def shift(
    person: str = "p",
    *,
    position: int = 0,
    days: set[int] | None = None,
    start: str = "08:00",
    end: str = "20:00",
) -> Shift:
    return Shift(
        person_id=person,
        position=position,
        weekdays=frozenset(days or range(1, 8)),
        starts=time.fromisoformat(start),
        ends=time.fromisoformat(end),
    )


def beijing(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=BEIJING)


# 2026-11-27 is a Friday, 2026-11-28 a Saturday, 2026-11-29 a Sunday.


def test_a_day_shift_covers_its_hours_on_its_days_only() -> None:
    weekdays = shift(days={1, 2, 3, 4, 5})
    assert weekdays.covers(beijing("2026-11-27T08:00"))
    assert weekdays.covers(beijing("2026-11-27T19:59:59"))
    assert not weekdays.covers(beijing("2026-11-27T20:00"))
    assert not weekdays.covers(beijing("2026-11-27T07:59"))
    assert not weekdays.covers(beijing("2026-11-28T12:00"))  # Saturday


def test_a_night_shift_ends_the_morning_after_the_day_it_starts() -> None:
    friday_night = shift(days={5}, start="22:00", end="06:00")
    assert friday_night.covers(beijing("2026-11-27T22:00"))
    assert friday_night.covers(beijing("2026-11-28T05:59"))  # Saturday morning
    assert not friday_night.covers(beijing("2026-11-28T06:00"))
    assert not friday_night.covers(beijing("2026-11-27T05:59"))  # Thursday's night: not listed
    assert not friday_night.covers(beijing("2026-11-28T22:30"))  # Saturday night: not listed
    saturday_night = shift(days={6}, start="22:00", end="06:00")
    assert not saturday_night.covers(beijing("2026-11-28T05:59"))
    sunday_night = shift(days={7}, start="22:00", end="06:00")
    assert sunday_night.covers(beijing("2026-11-30T01:00"))  # Monday, the week wraps


def test_start_equal_to_end_is_24_hours_from_the_start() -> None:
    day = shift(days={5}, start="08:00", end="08:00")
    assert day.covers(beijing("2026-11-27T08:00"))
    assert day.covers(beijing("2026-11-28T07:59"))
    assert not day.covers(beijing("2026-11-28T08:00"))
    assert not day.covers(beijing("2026-11-27T07:59"))


def test_shifts_are_read_on_beijing_time_not_utc() -> None:
    day, night = shift("day"), shift("night", start="20:00", end="08:00")
    at = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)  # 22:30 in Beijing
    assert call_order(shifts=[day, night], supervisors=[], at=at) == ["night"]
    assert call_order(shifts=[day, night], supervisors=[], at=at, tz=UTC) == ["day"]


def test_order_is_by_position_then_id_then_supervisors_each_person_once() -> None:
    shifts = [
        shift("carol", position=2),
        shift("bob", position=1),
        shift("alice", position=1),
        shift("bob", position=5),  # a second shift of bob's: his first place counts
        shift("dave", position=0, start="20:00", end="22:00"),  # not on at noon
    ]
    at = beijing("2026-11-27T12:00")
    order = call_order(shifts=shifts, supervisors=["sam", "carol", "sue"], at=at)
    assert order == ["alice", "bob", "carol", "sam", "sue"]


def test_a_time_without_a_zone_is_refused() -> None:
    with pytest.raises(ValueError, match="no time zone"):
        call_order(shifts=[shift()], supervisors=[], at=datetime(2026, 11, 27, 12))


# Properties: the shift as a case analysis against the shift as an interval.

# Whole half hours, mostly, so instants fall on shifts' boundaries often.
times = st.one_of(
    st.builds(time, st.integers(0, 23), st.sampled_from([0, 30])),
    st.times().map(lambda t: t.replace(microsecond=0)),
)
shifts = st.builds(
    shift,
    st.sampled_from(["a", "b", "c", "d"]),
    position=st.integers(0, 3),
    days=st.sets(st.integers(1, 7), min_size=1),
    start=times.map(time.isoformat),
    end=times.map(time.isoformat),
)
_any_instant = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2035, 1, 1), timezones=st.just(UTC)
)
instants = st.one_of(
    _any_instant.map(lambda d: d.replace(minute=d.minute // 30 * 30, second=0, microsecond=0)),
    _any_instant,
)


def covered_by_interval(s: Shift, local: datetime) -> bool:
    """Reference: the shift started on day d lasts from d at ``starts`` for (ends - starts)
    modulo a day, a full day when they are equal; it covers ``local`` if one of the two
    starts that could reach it (today's, yesterday's) does."""
    wall = local.replace(tzinfo=None)
    length = (
        datetime.combine(wall.date(), s.ends) - datetime.combine(wall.date(), s.starts)
    ) % timedelta(days=1) or timedelta(days=1)
    for back in (0, 1):
        day = wall.date() - timedelta(days=back)
        begin = datetime.combine(day, s.starts)
        if day.isoweekday() in s.weekdays and begin <= wall < begin + length:
            return True
    return False


@given(s=shifts, at=instants)
def test_covers_agrees_with_the_shift_as_an_interval(s: Shift, at: datetime) -> None:
    local = at.astimezone(BEIJING)
    assert s.covers(local) == covered_by_interval(s, local)


@given(s=shifts, at=instants)
def test_the_start_of_a_shift_on_its_day_is_covered_and_its_end_is_not_unless_another_begins(
    s: Shift, at: datetime
) -> None:
    day = at.astimezone(BEIJING).date()
    begin = datetime.combine(day, s.starts, tzinfo=BEIJING)
    if day.isoweekday() in s.weekdays:
        assert s.covers(begin)
    length = (datetime.combine(day, s.ends) - datetime.combine(day, s.starts)) % timedelta(
        days=1
    ) or timedelta(days=1)
    end = begin + length
    if day.isoweekday() in s.weekdays and end.isoweekday() not in s.weekdays:
        assert not s.covers(end)


@given(
    listed=st.lists(shifts, max_size=8),
    supervisors=st.lists(st.sampled_from(["c", "d", "s1", "s2"]), unique=True),
    at=instants,
    offset_h=st.integers(-12, 14),
)
def test_call_order_is_one_instant_whatever_its_offset_and_each_person_once(
    listed: list[Shift], supervisors: list[str], at: datetime, offset_h: int
) -> None:
    order = call_order(shifts=listed, supervisors=supervisors, at=at)
    elsewhere = at.astimezone(timezone(timedelta(hours=offset_h)))
    assert call_order(shifts=listed, supervisors=supervisors, at=elsewhere) == order
    assert len(order) == len(set(order))
    local = at.astimezone(BEIJING)
    on = {s.person_id for s in listed if s.covers(local)}
    assert set(order) == on | set(supervisors)
    # Those on shift come first, by their best position.
    best = {p: min(s.position for s in listed if s.person_id == p and s.covers(local)) for p in on}
    head = order[: len(on)]
    assert set(head) == on
    assert [best[p] for p in head] == sorted(best[p] for p in head)


# contacts_for and zone_of_building on the database.


def test_contacts_in_call_order_with_the_channels_that_serve_the_zone(
    database_url: str, db: psycopg.Connection[Any], site: str
) -> None:
    zone, other = f"{site}-G1", f"{site}-G2"
    db.execute("INSERT INTO zones (id) VALUES (%s), (%s)", (zone, other))
    db.execute("INSERT INTO buildings (id, zone) VALUES (%s, %s)", (f"{site}-B1", zone))
    db.execute("INSERT INTO buildings (id) VALUES (%s)", (f"{site}-B2",))

    def p(name: str) -> str:
        return f"{site}-{name}"

    async def go() -> dict[str, Any]:
        async with await connect_async(database_url) as conn:
            robot = {"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k1"}
            sms = {
                "url": "https://sms.example/send",
                "body": {"to": "{phone}", "text": "{content}"},
            }
            for channel_id, kind, channel_zone, config in (
                (p("wecom-g1"), ChannelKind.WECOM, zone, robot),
                (p("wecom-g2"), ChannelKind.WECOM, other, robot),
                (p("sms"), ChannelKind.SMS, None, sms),
            ):
                await put_channel(
                    conn,
                    channel_id,
                    ChannelWrite(kind=kind, zone=channel_zone, config=config),
                    actor=SYSTEM,
                )
            everywhere = [p("wecom-g2"), p("wecom-g1"), p("sms")]
            for person, role, active in (
                ("day", "grid_worker", True),
                ("night", "grid_worker", True),
                ("away", "grid_worker", False),
                ("boss", "supervisor", True),
                ("bigboss", "supervisor", True),
            ):
                await put_person(
                    conn,
                    p(person),
                    PersonWrite.model_validate(
                        {
                            "name": person,
                            "phone": "138 0013 8000",
                            "role": role,
                            "active": active,
                            "channels": everywhere,
                        }
                    ),
                    actor=SYSTEM,
                )
            await put_roster(
                conn,
                zone,
                RosterWrite(
                    shifts=[
                        ShiftWrite.model_validate(
                            {"person": p("away"), "position": 0, "start": "08:00", "end": "20:00"}
                        ),
                        ShiftWrite.model_validate(
                            {"person": p("day"), "position": 1, "start": "08:00", "end": "20:00"}
                        ),
                        ShiftWrite.model_validate(
                            {"person": p("night"), "position": 1, "start": "20:00", "end": "08:00"}
                        ),
                    ]
                ),
                actor=SYSTEM,
            )
            await put_supervisors(
                conn, zone, SupervisorsWrite(people=[p("boss"), p("bigboss")]), actor=SYSTEM
            )
            await conn.commit()
            noon = await contacts_for(conn, zone=zone, at=beijing("2026-11-27T12:00"))
            # 23:00 in Beijing is 15:00 UTC: the night shift, whatever offset ``at`` has.
            night = await contacts_for(conn, zone=zone, at=datetime(2026, 11, 27, 15, tzinfo=UTC))
            in_london = await contacts_for(
                conn, zone=zone, at=datetime(2026, 11, 27, 4, tzinfo=ZoneInfo("Europe/London"))
            )
            return {
                "noon": noon,
                "night": night,
                "london": in_london,
                "empty": await contacts_for(conn, zone=other, at=beijing("2026-11-27T12:00")),
                "zone": await zone_of_building(conn, f"{site}-B1"),
                "no_zone": await zone_of_building(conn, f"{site}-B2"),
                "no_building": await zone_of_building(conn, f"{site}-nope"),
            }

    found = asyncio.run(go())
    noon = found["noon"]
    assert [(c.person_id, c.level, c.role) for c in noon] == [
        (p("day"), 0, "grid_worker"),
        (p("boss"), 1, "supervisor"),
        (p("bigboss"), 2, "supervisor"),
    ]
    assert [c.person_id for c in found["night"]] == [p("night"), p("boss"), p("bigboss")]
    assert [c.person_id for c in found["london"]] == [c.person_id for c in noon]  # 04:00 GMT
    first = noon[0]
    assert first.name == "day" and first.phone == "13800138000"
    # The other zone's robot does not serve this zone; the site-wide SMS does; order kept.
    assert [(ch.id, ch.kind) for ch in first.channels] == [
        (p("wecom-g1"), ChannelKind.WECOM),
        (p("sms"), ChannelKind.SMS),
    ]
    assert first.channels[0].config["url"].endswith("key=k1")  # the real secret, to send
    assert found["empty"] == []
    assert found["zone"] == zone
    assert found["no_zone"] is None and found["no_building"] is None
