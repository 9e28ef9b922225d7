"""Who is called, in which order, at a given moment: pure, so the rules of shifts (site time,
weekdays, shifts past midnight) are tested without a database.

A shift starts on each of its weekdays at ``starts``, on the site's wall clock (Beijing time by
default), and ends at ``ends`` the same day, or the next day when ``ends`` is at or before
``starts`` (equal: 24 hours). So a Friday 22:00-06:00 shift covers Saturday 05:59 and a
Saturday 22:00-06:00 shift does not cover Saturday 05:59. The grid workers on shift come first,
lowest position first, then the zone's supervisor chain; a person is called once, at their
first place.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
WEEKDAYS = frozenset(range(1, 8))  # ISO: 1 Monday .. 7 Sunday


@dataclass(frozen=True, slots=True, kw_only=True)
class Shift:
    person_id: str
    position: int
    weekdays: frozenset[int]  # the days the shift starts on
    starts: time
    ends: time  # at or before ``starts``: the next day

    def covers(self, local: datetime) -> bool:
        """``local`` read on the site's wall clock (its own time zone, if any, is ignored)."""
        clock = local.time().replace(tzinfo=None)
        today = local.isoweekday()
        if self.starts < self.ends:
            return today in self.weekdays and self.starts <= clock < self.ends
        yesterday = (local - timedelta(days=1)).isoweekday()
        return (today in self.weekdays and clock >= self.starts) or (
            yesterday in self.weekdays and clock < self.ends
        )


def site_time(at: datetime, tz: tzinfo) -> datetime:
    """``at`` on the site's wall clock; a time without a zone is refused, not guessed."""
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone; say which instant is meant")
    return at.astimezone(tz)


def call_order(
    *, shifts: Iterable[Shift], supervisors: Sequence[str], at: datetime, tz: tzinfo = BEIJING
) -> list[str]:
    """Person ids in the order to call them at ``at``: those on shift by position (ties by id),
    then ``supervisors`` as given; each person once."""
    local = site_time(at, tz)
    on_shift = sorted((s.position, s.person_id) for s in shifts if s.covers(local))
    return list(dict.fromkeys([p for _, p in on_shift] + list(supervisors)))
