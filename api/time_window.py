"""The time windows people ask for (from, to): checked once, with errors that say what works."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import HTTPException, status
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


def _rfc3339(value: Any) -> Any:
    """Pydantic would read ``0.5`` or ``1700000000`` as seconds since 1970; the schema says
    date-time, so only a date-time is one."""
    if isinstance(value, str) and not _RFC3339.match(value):
        raise PydanticCustomError(
            "date_time", "a date-time is required, e.g. 2026-11-29T08:00:00+08:00"
        )
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339)]


def window(
    since: datetime | None, until: datetime | None, *, default: timedelta, longest: timedelta
) -> tuple[datetime, datetime]:
    """``until`` defaults to now and ``since`` to ``default`` before it. Raises 400 for a
    window that is empty, too long, without a time zone or outside 2000..2100."""
    for name, value in (("from", since), ("to", until)):
        if value is None:
            continue
        if value.tzinfo is None:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST,
                f"{name} needs a time zone, e.g. 2026-11-29T08:00:00+08:00",
            )
        if not EARLIEST <= value <= LATEST:
            raise HTTPException(
                status.HTTP_400_BAD_REQUEST, f"{name} must lie between 2000 and 2100"
            )
    until = until or datetime.now(UTC)
    since = since or until - default
    if not timedelta(0) < until - since <= longest:
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST,
            f"from must be before to, and at most {longest.days} days before it",
        )
    return since, until
