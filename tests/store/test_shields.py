"""A panel component's shield as ingest's warm-up reads it back from the stored events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from contract.kinds import Kind
from store.engine_state import shields
from store.series import insert_events, prepare_staging
from store.timeseries import PartitionKeeper
from tests.conftest import Registry

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def test_the_newest_shield_event_by_time_wins_whatever_order_it_was_stored_in(
    db: psycopg.Connection[Any], registry: Registry
) -> None:
    on, off, never = (registry.add(f"{registry.site}-{n}", Kind.PANEL) for n in ("on", "off", "x"))
    smoke = registry.add(f"{registry.site}-smoke", Kind.SMOKE)
    rows = [
        (T0 + timedelta(seconds=30), on, 3, "disabled", None, T0),
        (T0 + timedelta(seconds=10), on, 1, "disabled_cleared", None, T0),  # stored later, older
        (T0, off, 1, "disabled", None, T0),
        (T0 + timedelta(seconds=5), off, 2, "disabled_cleared", None, T0),
        (T0, never, 1, "alarm", None, T0),
        (T0, smoke, 1, "disabled", None, T0),  # not a panel: not its kind's event to judge
    ]
    PartitionKeeper(db).ensure(db, {T0.date(), (T0 + timedelta(seconds=30)).date()})
    prepare_staging(db)
    with db.transaction():
        insert_events(db, rows)
    found = shields(db)
    assert found[on] == (True, T0 + timedelta(seconds=30))
    assert found[off] == (False, T0 + timedelta(seconds=5))
    assert never not in found and smoke not in found
