"""Alerts raised the way ingest raises them: engine decisions applied by the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import psycopg

from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from store.alerts import apply_decisions


def raise_alert(
    db: psycopg.Connection[Any],
    device: str,
    rule: Rule,
    alert_class: AlertClass,
    *,
    site: str,
    building: str | None = None,
    at: datetime | None = None,
    change: Change = Change.RAISE,
    suppressed: str | None = None,
) -> int:
    """The id of the alert the decision opened or touched. ``building``: by default one of the
    site's own, as incidents are per building and the test database is shared."""
    decision = Decision(
        subject=device,
        rule=rule,
        alert_class=alert_class,
        change=change,
        at=at or datetime.now(UTC),
        value=61.5,
        site=site,
        building=building or f"{site}-B-001",
        suppressed=suppressed,
    )
    with db.transaction():
        changes = apply_decisions(db, [decision], window_s=120.0)
    return changes[0].id
