"""The one NOTIFY of alert changes, with one payload shape, for every writer of alerts.

NOTIFY is transactional: listeners (every API replica) hear of a change only once it commits.
Payloads are small and bounded: ids, names and counts, never an alert's detail.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

CHANNEL = "fw_alerts"

# Run with executemany(NOTIFY, notifications(changes)), on a sync or an async cursor alike.
NOTIFY = "SELECT pg_notify(%s, %s)"


@dataclass(slots=True, kw_only=True)
class AlertChange:
    """One alert's change in this transaction, as NOTIFY and the SSE stream carry it."""

    id: int
    subject: str
    rule: str
    alert_class: str
    state: str
    change: str
    count: int
    at: datetime
    site: str | None
    building: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of_row(
        cls, row: Mapping[str, Any], *, change: str, at: datetime, **extra: Any
    ) -> AlertChange:
        """From an alerts row (by column name); a suppressed alert says why."""
        suppressed = row.get("suppressed_reason")
        return cls(
            id=row["id"],
            subject=row["subject"],
            rule=row["rule"],
            alert_class=row["class"],
            state=row["state"],
            change=change,
            count=row["count"],
            at=at,
            site=row["site"],
            building=row["building"],
            extra={**extra, **({"suppressed": suppressed} if suppressed else {})},
        )

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "subject": self.subject,
            "rule": self.rule,
            "class": self.alert_class,
            "state": self.state,
            "change": self.change,
            "count": self.count,
            "at": self.at.isoformat(),
            "site": self.site,
            "building": self.building,
            **self.extra,
        }


def notifications(changes: Sequence[AlertChange]) -> list[tuple[str, str]]:
    """The parameters of NOTIFY, one row per change."""
    return [(CHANNEL, orjson.dumps(c.payload()).decode()) for c in changes]
