"""Times as the site's people read them: its wall clock with the UTC offset written out, so a
printed report is mistaken neither for UTC nor for the reader's own zone."""

from __future__ import annotations

from datetime import datetime, tzinfo

ZONE_ZH = {"Asia/Shanghai": "北京时间"}


def utc_offset(at: datetime) -> str:
    """``+08:00``, as ISO 8601 writes an aware time's offset (to the minute)."""
    offset = at.utcoffset()
    if offset is None:
        raise ValueError(f"{at!r} has no time zone")
    minutes = round(offset.total_seconds() / 60)
    hours, rest = divmod(abs(minutes), 60)
    return f"{'-' if minutes < 0 else '+'}{hours:02d}:{rest:02d}"


def local_text(at: datetime, tz: tzinfo) -> str:
    """``2026-12-05 00:08:21 +08:00``: ``at`` on ``tz``'s wall clock, with its offset."""
    local = at.astimezone(tz)
    return f"{local:%Y-%m-%d %H:%M:%S} {utc_offset(local)}"


def zone_zh(name: str, at: datetime) -> str:
    """``北京时间 UTC+08:00``: the zone's Chinese name where it has one, and its offset at ``at``
    (which a zone with summer time changes)."""
    return f"{ZONE_ZH.get(name, name)} UTC{utc_offset(at)}"
