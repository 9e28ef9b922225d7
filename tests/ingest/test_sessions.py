"""How ingest judges its own broker sessions (pure: the clock is given)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from alerts.signals import Change
from contract.alarms import Rule
from contract.logins import session_client_ids, session_login
from ingest.sessions import (
    FLAP_DROPS,
    SESSION_CLEAR_S,
    SESSION_TAKEN_OVER,
    SessionAlerts,
    SessionWatch,
)

UNSPECIFIED = 128


def test_a_reconnect_without_the_session_it_had_is_trouble() -> None:
    watch = SessionWatch("ingest")
    assert watch.connected(session_present=False, now=0) is None  # the first: nothing to lose
    watch.subscribed()
    assert watch.dropped(reason_code=UNSPECIFIED, now=10) is None
    assert watch.connected(session_present=True, now=20) is None  # a broker restart, say
    watch.dropped(reason_code=UNSPECIFIED, now=30)
    trouble = watch.connected(session_present=False, now=31)
    assert trouble is not None and "no session" in trouble.reason and trouble.at == 31


def test_mqtt5_says_taken_over() -> None:
    trouble = SessionWatch("ingest").dropped(reason_code=SESSION_TAKEN_OVER, now=5)
    assert trouble is not None and "taken over" in trouble.reason


def test_an_id_fought_over_is_trouble_and_slow_reconnects_are_not() -> None:
    watch = SessionWatch("ingest")
    watch.subscribed()
    troubles = []
    for i in range(FLAP_DROPS):
        watch.dropped(reason_code=UNSPECIFIED, now=i * 10)
        troubles.append(watch.connected(session_present=True, now=i * 10 + 1))
    assert troubles[:-1] == [None] * (FLAP_DROPS - 1)
    assert troubles[-1] is not None and "same id" in troubles[-1].reason
    calm = SessionWatch("ingest")
    calm.subscribed()
    for i in range(10):  # a broker that takes 30 s to come back each time
        calm.dropped(reason_code=UNSPECIFIED, now=i * 100)
        assert calm.connected(session_present=True, now=i * 100 + 30) is None


@given(st.lists(st.floats(min_value=0, max_value=1e6), max_size=30))
def test_drops_spread_wider_than_the_window_are_never_a_fight(gaps: list[float]) -> None:
    watch = SessionWatch("ingest")
    watch.subscribed()
    now = 0.0
    for gap in gaps:
        now += 61 + gap
        watch.dropped(reason_code=UNSPECIFIED, now=now)
        assert watch.connected(session_present=True, now=now + 1) is None


def test_the_alert_raises_then_returns_once_the_session_held() -> None:
    alerts = SessionAlerts("zilai")
    watch = SessionWatch("ingest")
    trouble = watch.dropped(reason_code=SESSION_TAKEN_OVER, now=100)
    assert trouble is not None
    alerts.note([trouble])
    (raised,) = alerts.plan(now=101, connected={"ingest": True})
    assert (raised.subject, raised.rule, raised.change) == (
        "ingest:ingest",
        Rule.MQTT_SESSION,
        Change.RAISE,
    )
    assert alerts.plan(now=101, connected={"ingest": True}) == [raised]  # not committed yet
    alerts.committed()
    assert alerts.plan(now=100 + SESSION_CLEAR_S - 1, connected={"ingest": True}) == []
    assert alerts.plan(now=100 + SESSION_CLEAR_S, connected={"ingest": False}) == []
    (cleared,) = alerts.plan(now=100 + SESSION_CLEAR_S, connected={"ingest": True})
    assert cleared.change is Change.CLEAR
    alerts.committed()
    assert alerts.plan(now=1e9, connected={"ingest": True}) == []


def test_sync_writes_a_login_for_every_session_ingest_may_open() -> None:
    ids = session_client_ids("firewatch-ingest", members=2)
    assert "firewatch-ingest" in ids and "firewatch-ingest-alarms" in ids
    assert "firewatch-ingest-1-unrouted" in ids and "firewatch-ingest-2" not in ids
    assert session_login("svc.ingest", "firewatch-ingest-0") == "svc.ingest/firewatch-ingest-0"


def test_an_alert_left_open_by_the_last_process_returns_once_the_session_held() -> None:
    """A restart within the 5 minutes after a takeover must not leave the alert open for
    ever (a review found nothing would return it)."""
    alerts = SessionAlerts("zilai")
    alerts.remember_open(
        [
            ("ingest:ingest", "mqtt_session"),
            ("ingest:other", "mqtt_session"),
            ("SD-1", "smoke_alarm"),
        ],
        client_ids=["ingest", "ingest-alarms"],
        now=1000,
    )
    assert alerts.plan(now=1000 + SESSION_CLEAR_S - 1, connected={"ingest": True}) == []
    (cleared,) = alerts.plan(now=1000 + SESSION_CLEAR_S, connected={"ingest": True})
    assert (cleared.subject, cleared.change) == ("ingest:ingest", Change.CLEAR)
