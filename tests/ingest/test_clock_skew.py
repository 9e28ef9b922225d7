"""Alarms from a device with a wrong clock, through the real broker into the real database and
out of the API: judged at their arrival, flagged, stored once; readings still dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from contract.kinds import Kind
from contract.messages import Reason
from contract.topics import Channel, topic_for
from firewatch.testing import wait_until
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice, epoch_ms
from simulators.publisher import Publisher
from store.restamped import stamps
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar
from tests.tokens import auth, token


@pytest.fixture()
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def _alerts(db: psycopg.Connection[Any], device: str) -> dict[str, tuple[Any, ...]]:
    rows = db.execute(
        "SELECT rule, id, class, count, detail FROM alerts WHERE device_id = %s", (device,)
    ).fetchall()
    return {r[0]: r[1:] for r in rows}


@pytest.mark.parametrize("offset", [timedelta(hours=1), -timedelta(days=8)])
def test_a_skewed_alarm_raises_a_flagged_fire_alert_and_a_clock_trouble(
    offset: timedelta,
    settings: Settings,
    registry: Registry,
    ingest: IngestService,
    db: psycopg.Connection[Any],
    client: TestClient,
    site: str,
) -> None:
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    device_ts = (datetime.now(UTC) + offset).replace(microsecond=0)
    reading_topic, reading = smoke.reading(device_ts)
    before = datetime.now(UTC)
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        pub.publish(*smoke.event(device_ts, "alarm"))
        pub.publish(reading_topic, reading)
    wait_until(lambda: len(_alerts(db, smoke.id)) == 2, timeout=15, what="two alerts")
    wait_until(lambda: ingest.counters.received >= 2, timeout=15, what="the reading")
    after = datetime.now(UTC)

    alerts = _alerts(db, smoke.id)
    fire_id, fire_class, fire_count, fire_detail = alerts["smoke_alarm"]
    assert (fire_class, fire_count) == ("fire", 1)
    skew = fire_detail["clock_skew"]
    assert datetime.fromisoformat(skew["device_ts"]) == device_ts
    assert abs(skew["skew_s"] - offset.total_seconds()) < 30
    _, trouble_class, _, trouble_detail = alerts["clock_skew"]
    assert trouble_class == "trouble" and trouble_detail == skew

    # The event row is stamped with its arrival and keeps the device's time.
    (ts, received_at, detail), *more = db.execute(
        "SELECT ts, received_at, detail FROM events WHERE device_id = %s", (smoke.id,)
    ).fetchall()
    assert not more and before <= ts <= after and ts == received_at
    assert detail == {"clock_skew": skew}
    # The alert's time is the arrival too, so escalation and the timeline see it as new.
    assert before <= scalar(db, "SELECT raised_at FROM alerts WHERE id = %s", fire_id) <= after
    # The reading from the same clock is still a dead letter; the alarm left none.
    reason = "future_timestamp" if offset > timedelta(0) else "stale"
    letters = db.execute(
        "SELECT topic, reason FROM dead_letters WHERE device_id = %s", (smoke.id,)
    ).fetchall()
    assert letters == [(reading_topic, reason)]
    assert ingest.counters.rejected[Reason(reason)] == 1

    viewer = auth(token(settings.database_url, f"viewer-{site}", "viewer"))
    shown = client.get(f"/api/v1/alerts/{fire_id}", headers=viewer)
    assert shown.status_code == 200, shown.text
    assert shown.json()["alert"]["detail"]["clock_skew"] == skew
    assert shown.json()["log"][0]["detail"]["clock_skew"] == skew


def test_a_redelivered_skewed_alarm_is_stored_once(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    """The same bytes again, later (a device resending after a lost PUBACK, or the broker
    redelivering after a restart), arrive at another time but are recognised."""
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    alarm = smoke.event(datetime.now(UTC) + timedelta(hours=1), "alarm")
    with running(settings) as first:
        with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
            pub.publish(*alarm)
        wait_until(lambda: first.counters.stored == 1, timeout=15, what="the first copy")
    with running(settings) as second:  # a restart: the copy arrives at another time
        with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
            pub.publish(*alarm)
            pub.publish(*smoke.event(datetime.now(UTC) + timedelta(hours=1), "alarm"))
        wait_until(lambda: second.counters.received >= 2, timeout=15, what="both alarms")
        assert (second.counters.stored, second.counters.duplicates) == (1, 1)
    assert scalar(db, "SELECT count(*) FROM events WHERE device_id = %s", smoke.id) == 2
    counts = {rule: row[2] for rule, row in _alerts(db, smoke.id).items()}
    assert counts == {"smoke_alarm": 2, "clock_skew": 2}  # the new alarm repeats, once


def test_a_skewed_alarm_stored_in_its_window_before_is_a_duplicate(
    settings: Settings,
    registry: Registry,
    ingest: IngestService,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    """A copy redelivered after its own time left the window (ingest down for days) is the
    message stored at that time, not a new alarm from a wrong clock."""
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    sent = (datetime.now(UTC) - timedelta(days=6)).replace(microsecond=0)
    body = {"ts": epoch_ms(sent), "seq": 5, "type": "alarm"}
    topic = topic_for(site, smoke.id, Channel.EVENT)
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        pub.publish(topic, orjson.dumps(body))
    wait_until(lambda: ingest.counters.stored == 1, timeout=15, what="the alarm in its window")
    assert scalar(db, "SELECT ts FROM events WHERE device_id = %s", smoke.id) == sent
    # Days later its copy is stale; it must meet its first self, not a new stamp.
    assert stamps(db, [((smoke.id, 5, sent), datetime.now(UTC))]) == {(smoke.id, 5, sent): sent}
    assert scalar(db, "SELECT count(*) FROM restamped_events WHERE device_id = %s", smoke.id) == 0


def test_stamps_are_remembered_per_identity(
    registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    device = registry.add(f"{site}-SD", Kind.SMOKE)
    claim = (device, 1, datetime(2001, 1, 1, tzinfo=UTC))
    other = (device, 2, datetime(2001, 1, 1, tzinfo=UTC))
    first = datetime.now(UTC)
    later = first + timedelta(minutes=5)  # a retry: within SAME_MESSAGE_WITHIN
    assert stamps(db, [(claim, first)]) == {claim: first}
    assert stamps(db, [(claim, later), (other, later)]) == {claim: first, other: later}
    assert stamps(db, []) == {}


def test_the_same_identity_long_after_is_a_new_message(
    registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    """A GB/T 26875.3 component whose labels are zeros says the same (device, seq, time) for
    each of its fires: the next fire, two hours on, is stored at its own arrival, and its own
    retries take that stamp."""
    device = registry.add(f"{site}-P", Kind.SMOKE)
    claim = (device, 0x0302, datetime(2000, 1, 1, tzinfo=UTC))
    first = datetime.now(UTC) - timedelta(hours=2)
    again = first + timedelta(hours=2)
    assert stamps(db, [(claim, first)]) == {claim: first}
    assert stamps(db, [(claim, again)]) == {claim: again}
    assert stamps(db, [(claim, again + timedelta(seconds=30))]) == {claim: again}


def test_a_copy_sent_again_once_its_time_is_in_the_window_is_a_duplicate(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    """A clock 9 s fast with a 5 s tolerance: the first copy is re-stamped at its arrival; a
    copy redelivered 6 s later is inside the window, and must meet the first copy's stamp
    rather than be stored again at the device's time (a review found it stored twice)."""
    settings = settings.model_copy(update={"future_tolerance_s": 5})
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    sent = datetime.now(UTC) + timedelta(seconds=9)
    body = orjson.dumps({"ts": epoch_ms(sent), "seq": 7, "type": "alarm"})
    topic = topic_for(site, smoke.id, Channel.EVENT)
    with running(settings) as first:
        with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
            pub.publish(topic, body)
        wait_until(lambda: first.counters.stored == 1, timeout=15, what="the re-stamped alarm")
    wait_until(lambda: datetime.now(UTC) > sent - timedelta(seconds=4), timeout=15, what="time")
    with running(settings) as second:
        with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
            pub.publish(topic, body)
        wait_until(lambda: second.counters.duplicates == 1, timeout=15, what="a duplicate")
        assert second.counters.stored == 0
    assert scalar(db, "SELECT count(*) FROM events WHERE device_id = %s", smoke.id) == 1
    assert (
        scalar(
            db,
            "SELECT count FROM alerts WHERE device_id = %s AND rule = %s",
            smoke.id,
            "smoke_alarm",
        )
        == 1
    )
