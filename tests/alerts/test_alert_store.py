"""Alert rows on the real PostgreSQL: decisions applied, audit log, NOTIFY, escalation and
shelving timers."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest

from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from firewatch.testing import wait_until
from store.alert_timers import escalate_due, expire_shelves
from store.alerts import apply_decisions, summarise_repeats
from store.notify import CHANNEL, AlertChange

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def ts(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest.fixture()
def devices(db: psycopg.Connection[Any], site: str) -> list[str]:
    """Three smoke detectors of one building, ids unique to the test."""
    ids = [f"D{uuid.uuid4().hex[:10]}" for _ in range(3)]
    for device_id in ids:
        db.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building)"
            " VALUES (%s, 'smoke', %s, 3600, %s)",
            (device_id, site, f"b-{site}"),
        )
    return ids


def decision(
    subject: str,
    rule: Rule,
    cls: AlertClass,
    change: Change,
    at: datetime,
    value: float | None = None,
    **kwargs: Any,
) -> Decision:
    return Decision(
        subject=subject,
        rule=rule,
        alert_class=cls,
        change=change,
        at=at,
        value=value,
        received_at=at,
        site="s",
        building=None,
        **kwargs,
    )


def apply(db: psycopg.Connection[Any], *decisions: Decision) -> list[AlertChange]:
    with db.transaction():
        return apply_decisions(db, decisions, window_s=120.0)


def alert(db: psycopg.Connection[Any], alert_id: int) -> dict[str, Any]:
    with db.cursor(row_factory=psycopg.rows.dict_row) as cur:
        row = cur.execute("SELECT * FROM alerts WHERE id = %s", (alert_id,)).fetchone()
    assert row is not None
    return row


def log(db: psycopg.Connection[Any], alert_id: int) -> list[tuple[str, str, str | None, str]]:
    rows = db.execute(
        "SELECT actor, action, from_state, to_state FROM alert_log WHERE alert_id = %s ORDER BY id",
        (alert_id,),
    ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def test_raise_opens_an_alert_logs_and_notifies(
    db: psycopg.Connection[Any], database_url: str, devices: list[str]
) -> None:
    device_id = devices[0]
    with psycopg.connect(database_url, autocommit=True) as listener:
        listener.execute(f"LISTEN {CHANNEL}")
        [change] = apply(
            db, decision(device_id, Rule.SMOKE_ALARM, AlertClass.FIRE, Change.RAISE, ts(0))
        )
        heard: list[dict[str, Any]] = []
        for note in listener.notifies(timeout=5.0):
            payload = orjson.loads(note.payload)
            if note.channel == CHANNEL and payload.get("subject") == device_id:
                heard.append(payload)
                break
    row = alert(db, change.id)
    assert (row["state"], row["count"], row["class"], row["latching"]) == (
        "active_unack",
        1,
        "fire",
        True,
    )
    assert row["raised_at"] == ts(0) and row["condition_active"] is True
    assert log(db, change.id) == [("engine", "raise", None, "active_unack")]
    assert change.change == "raise"
    assert heard and heard[0]["id"] == change.id
    assert (heard[0]["state"], heard[0]["change"], heard[0]["rule"]) == (
        "active_unack",
        "raise",
        "smoke_alarm",
    )


def test_raise_on_an_open_alert_counts(db: psycopg.Connection[Any], devices: list[str]) -> None:
    d = devices[0]
    [opened] = apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310))
    [again] = apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(9), 320))
    assert again.id == opened.id
    row = alert(db, opened.id)
    assert (row["count"], row["peak"], row["last_at"]) == (2, 320.0, ts(9))
    # The repeat is quiet; its summary goes out once the last event is a second old.
    assert [a for _, a, _, _ in log(db, opened.id)] == ["raise"]
    db.execute(
        "UPDATE alerts SET notified_at = notified_at - interval '1 s' WHERE id = %s", (opened.id,)
    )
    with db.transaction():
        summaries = summarise_repeats(db)
    [summary] = [c for c in summaries if c.id == opened.id]  # others' may be due too
    assert (summary.id, summary.change, summary.count) == (opened.id, "repeat", 2)
    assert [a for _, a, _, _ in log(db, opened.id)] == ["raise", "repeat"]


def test_hold_updates_last_at_and_peak_without_counting(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    d = devices[0]
    [opened] = apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310))
    apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.HOLD, ts(30), 360))
    apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.HOLD, ts(60), 330))
    row = alert(db, opened.id)
    assert (row["count"], row["peak"], row["last_at"], row["state"]) == (
        1,
        360.0,
        ts(60),
        "active_unack",
    )
    assert [a for _, a, _, _ in log(db, opened.id)] == ["raise"]


def test_clear_returns_a_non_latching_alert(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    d = devices[0]
    [opened] = apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310))
    [cleared] = apply(db, decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.CLEAR, ts(50)))
    row = alert(db, opened.id)
    assert (row["state"], row["condition_active"], row["returned_at"]) == (
        "returned_unack",
        False,
        ts(50),
    )
    assert cleared.change == "return"
    assert log(db, opened.id)[-1] == ("engine", "return", "active_unack", "returned_unack")


def test_clear_keeps_a_fire_alert_active(db: psycopg.Connection[Any], devices: list[str]) -> None:
    d = devices[0]
    [opened] = apply(db, decision(d, Rule.HEAT_FIXED, AlertClass.FIRE, Change.RAISE, ts(0), 60))
    apply(db, decision(d, Rule.HEAT_FIXED, AlertClass.FIRE, Change.CLEAR, ts(50), 40))
    row = alert(db, opened.id)
    assert (row["state"], row["condition_active"], row["latching"]) == (
        "active_unack",
        False,
        True,
    )


def test_clear_without_an_open_alert_does_nothing(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    d = devices[0]
    assert apply(db, decision(d, Rule.FAULT, AlertClass.TROUBLE, Change.CLEAR, ts(0))) == []
    assert db.execute("SELECT count(*) FROM alerts WHERE subject = %s", (d,)).fetchone() == (0,)


def test_suppressed_decision_opens_a_suppressed_alert(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    d = devices[0]
    [opened] = apply(
        db,
        decision(d, Rule.SMOKE_ALARM, AlertClass.FIRE, Change.RAISE, ts(0), suppressed="test"),
    )
    row = alert(db, opened.id)
    assert (row["state"], row["suppressed_reason"]) == ("suppressed", "test")
    assert opened.extra == {"suppressed": "test"}
    # Back to normal while in test: resolved with cause 'test'.
    apply(db, decision(d, Rule.SMOKE_ALARM, AlertClass.FIRE, Change.CLEAR, ts(5)))
    row = alert(db, opened.id)
    assert (row["state"], row["cause"]) == ("resolved", "test")


def test_escalate_due_escalates_only_unacknowledged_fires(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    unacked, acked, prealarm = devices
    changes = apply(
        db,
        decision(unacked, Rule.SMOKE_ALARM, AlertClass.FIRE, Change.RAISE, ts(0)),
        decision(acked, Rule.SMOKE_ALARM, AlertClass.FIRE, Change.RAISE, ts(0)),
        decision(prealarm, Rule.SMOKE_PREALARM, AlertClass.PREALARM, Change.RAISE, ts(0), 2.0),
    )
    ids = [c.id for c in changes]
    db.execute("UPDATE alerts SET state = 'active_ack' WHERE id = %s", (ids[1],))
    now = db.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    # Not yet due: stored just now.
    assert not [r for r in escalate_due(db, now=now, after_s=60, max_level=3) if r["id"] in ids]
    db.execute(
        "UPDATE alerts SET created_at = created_at - interval '90 seconds' WHERE id = ANY(%s)",
        (ids,),
    )
    now = db.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    rows = [r for r in escalate_due(db, now=now, after_s=60, max_level=3) if r["id"] in ids]
    assert [(r["id"], r["escalation_level"]) for r in rows] == [(ids[0], 1)]
    assert alert(db, ids[0])["escalation_level"] == 1
    assert alert(db, ids[1])["escalation_level"] == 0
    assert alert(db, ids[2])["escalation_level"] == 0
    assert log(db, ids[0])[-1] == ("engine", "escalate", "active_unack", "active_unack")
    # Level 2 is due only 120 s after the alert was stored.
    assert not [r for r in escalate_due(db, now=now, after_s=60, max_level=3) if r["id"] in ids]


def test_expire_shelves_unshelves_by_condition(
    db: psycopg.Connection[Any], devices: list[str]
) -> None:
    still, gone = devices[:2]
    changes = apply(
        db,
        decision(still, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310),
        decision(gone, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310),
    )
    ids = [c.id for c in changes]
    db.execute(
        "UPDATE alerts SET state = 'shelved', shelved_until = now() - interval '1 second',"
        " condition_active = (id = %s) WHERE id = ANY(%s)",
        (ids[0], ids),
    )
    now = db.execute("SELECT now()").fetchone()[0]  # type: ignore[index]
    assert expire_shelves(db, window_s=120.0, now=now) >= 2
    assert (alert(db, ids[0])["state"], alert(db, ids[0])["shelved_until"]) == (
        "active_unack",
        None,
    )
    resolved = alert(db, ids[1])
    assert (resolved["state"], resolved["resolved_by"], resolved["cause"]) == (
        "resolved",
        "engine",
        "other",
    )
    assert log(db, ids[0])[-1] == ("engine", "unshelve", "shelved", "active_unack")


def test_shelf_that_has_not_run_out_stays(db: psycopg.Connection[Any], devices: list[str]) -> None:
    [opened] = apply(
        db, decision(devices[0], Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310)
    )
    db.execute(
        "UPDATE alerts SET state = 'shelved', shelved_until = now() + interval '1 hour'"
        " WHERE id = %s",
        (opened.id,),
    )
    expire_shelves(db, window_s=120.0, now=datetime.now(UTC))
    assert alert(db, opened.id)["state"] == "shelved"


def test_an_alert_another_worker_opened_first_counts_as_a_repeat(
    db: psycopg.Connection[Any], database_url: str, devices: list[str]
) -> None:
    """Two workers raise the same alert: the second's insert waits on the first's, then finds
    the alert open, counts a repeat on it, and plans the rest of its batch on what it found."""
    d = devices[0]
    results: list[list[AlertChange]] = []
    with psycopg.connect(database_url) as first, psycopg.connect(database_url) as second:
        raised = decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(0), 310)
        [opened] = apply_decisions(
            first, [raised], window_s=120.0
        )  # uncommitted: the second cannot see it
        batch = [
            decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.RAISE, ts(5), 320),
            decision(d, Rule.LEAKAGE, AlertClass.PREALARM, Change.CLEAR, ts(9)),
        ]
        worker = threading.Thread(
            target=lambda: results.append(apply_decisions(second, batch, window_s=120.0))
        )
        worker.start()
        waiting = "SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s"
        pid = second.info.backend_pid
        wait_until(
            lambda: db.execute(waiting, (pid,)).fetchone() == ("Lock",),
            timeout=10,
            what="the second worker's insert waiting on the first's",
        )
        first.commit()
        worker.join(10)
        second.commit()
    [[repeat, cleared]] = results
    assert (repeat.id, repeat.change, repeat.count) == (opened.id, "repeat", 2)
    assert (cleared.id, cleared.change, cleared.state, cleared.count) == (
        opened.id,
        "return",
        "returned_unack",
        2,
    )
    row = alert(db, opened.id)
    assert (row["count"], row["peak"], row["state"]) == (2, 320.0, "returned_unack")
    assert log(db, opened.id) == [
        ("engine", "raise", None, "active_unack"),
        ("engine", "return", "active_unack", "returned_unack"),
    ]
