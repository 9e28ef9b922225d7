"""Fire panels through GB/T 26875.3: a component's fire alarm, supervisory signal and shield,
and the transmitter that is judged offline in their place. Pure: no database, no broker."""

from __future__ import annotations

from datetime import datetime

from hypothesis import given
from hypothesis import strategies as st

from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel
from tests.alerts.test_rules import SITE, device, engine_with, ts


def event(device_id: str, kind_event: str, at: float, seq: int) -> tuple[Decoded, datetime]:
    message = Decoded(SITE, device_id, Channel.EVENT, ts(at), seq, event_type=kind_event)
    return message, ts(at)


def heard(device_id: str, at: float, seq: int) -> tuple[Decoded, datetime]:
    return Decoded(SITE, device_id, Channel.STATUS, ts(at), seq), ts(at)


def _only(decisions: list[Decision], rule: Rule) -> list[Decision]:
    return [d for d in decisions if d.rule is rule]


def test_a_component_fire_alarm_is_a_fire_until_the_panel_clears_it() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    raised = _only(engine.evaluate([event("P1", "alarm", 0, 1)]), Rule.PANEL_FIRE)
    assert [(d.change, d.alert_class, d.suppressed) for d in raised] == [
        (Change.RAISE, AlertClass.FIRE, None)
    ]
    cleared = _only(engine.evaluate([event("P1", "alarm_cleared", 30, 2)]), Rule.PANEL_FIRE)
    assert [d.change for d in cleared] == [Change.CLEAR]


def test_supervisory_signal_and_its_return() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    raised = _only(engine.evaluate([event("P1", "supervisory", 0, 1)]), Rule.PANEL_SUPERVISORY)
    assert [(d.change, d.alert_class) for d in raised] == [(Change.RAISE, AlertClass.SUPERVISORY)]
    back = engine.evaluate([event("P1", "supervisory_cleared", 5, 2)])
    assert [d.change for d in _only(back, Rule.PANEL_SUPERVISORY)] == [Change.CLEAR]


def test_a_shielded_component_alarm_is_recorded_suppressed_and_live_again_after() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    engine.evaluate([event("P1", "disabled", 0, 1)])
    shielded = _only(engine.evaluate([event("P1", "alarm", 10, 2)]), Rule.PANEL_FIRE)
    assert [(d.change, d.suppressed) for d in shielded] == [(Change.RAISE, "disabled")]
    engine.evaluate([event("P1", "alarm_cleared", 20, 3), event("P1", "disabled_cleared", 30, 4)])
    live = _only(engine.evaluate([event("P1", "alarm", 40, 5)]), Rule.PANEL_FIRE)
    assert [(d.change, d.suppressed) for d in live] == [(Change.RAISE, None)]


def test_a_shield_survives_a_restart_through_warm_up() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    engine.remember_shields({"P1": (True, ts(0))})
    shielded = _only(engine.evaluate([event("P1", "alarm", 10, 2)]), Rule.PANEL_FIRE)
    assert [d.suppressed for d in shielded] == ["disabled"]


def test_a_shield_rolled_back_with_its_batch_is_forgotten() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    engine.evaluate([event("P1", "disabled", 0, 1)])
    engine.rollback()  # the batch failed to commit and is retried
    live = _only(engine.evaluate([event("P1", "alarm", 10, 2)]), Rule.PANEL_FIRE)
    assert [d.suppressed for d in live] == [None]


def test_components_are_never_offline_their_transmitter_is() -> None:
    engine = engine_with(
        device("P1", Kind.PANEL, heartbeat_s=86400),
        device("T1", Kind.TRANSMITTER, heartbeat_s=300),
    )
    engine.evaluate([event("P1", "alarm_cleared", 0, 1), heard("T1", 0, 1)])
    engine.commit()
    offline = [d.subject for d in engine.tick(ts(7 * 86400)) if d.rule is Rule.OFFLINE]
    assert offline == ["T1"]


def test_a_transmitter_fire_flag_is_a_fire() -> None:
    engine = engine_with(device("T1", Kind.TRANSMITTER))
    raised = _only(engine.evaluate([event("T1", "alarm", 0, 1)]), Rule.PANEL_FIRE)
    assert [(d.change, d.alert_class) for d in raised] == [(Change.RAISE, AlertClass.FIRE)]


def test_lifting_a_shield_over_a_burning_component_raises_its_alarm_live() -> None:
    """The panel does not report the fire again when the shield is lifted: the alarm the shield
    held back must be dispatched now."""
    engine = engine_with(device("P1", Kind.PANEL))
    engine.evaluate([event("P1", "disabled", 0, 1), event("P1", "alarm", 10, 2)])
    lifted = _only(engine.evaluate([event("P1", "disabled_cleared", 20, 3)]), Rule.PANEL_FIRE)
    assert [(d.change, d.suppressed) for d in lifted] == [(Change.RAISE, None)]


def test_a_late_copy_of_an_older_shield_event_changes_nothing() -> None:
    engine = engine_with(device("P1", Kind.PANEL))
    engine.evaluate([event("P1", "disabled", 100, 1)])
    engine.evaluate([event("P1", "disabled_cleared", 200, 2)])
    engine.evaluate([event("P1", "disabled", 50, 3)])  # older than the lifting: stale
    live = _only(engine.evaluate([event("P1", "alarm", 300, 4)]), Rule.PANEL_FIRE)
    assert [d.suppressed for d in live] == [None]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(["disabled", "disabled_cleared", "alarm", "alarm_cleared"]),
            st.integers(0, 50),
        ),
        max_size=30,
    )
)
def test_a_fire_alarm_is_live_exactly_when_the_newest_shield_event_is_no_shield(
    events: list[tuple[str, int]],
) -> None:
    """Events in any arrival order: what decides is the newest shield event by time; a fire
    raised under a shield is raised again, live, when the shield lifts (its later fires are
    repeats of an open alert, judged when they opened)."""
    engine: Engine = engine_with(device("P1", Kind.PANEL))
    newest: tuple[int, bool] | None = None  # (time, on)
    burning = False
    for n, (name, at) in enumerate(events):
        decisions = _only(engine.evaluate([event("P1", name, at, n + 1)]), Rule.PANEL_FIRE)
        engine.commit()
        shield_before = newest
        if name in ("disabled", "disabled_cleared") and (newest is None or at >= newest[0]):
            newest = (at, name == "disabled")
        shielded = newest is not None and newest[1] and newest[0] <= at
        # A RAISE, or a HOLD where chattering keeps the alert it would have opened (alerts/
        # recorder.py): either way the alert is live or suppressed as the shield says.
        raises = [d for d in decisions if d.change in (Change.RAISE, Change.HOLD)]
        if name == "alarm" and not burning:
            assert [d.suppressed for d in raises] == ["disabled" if shielded else None]
        lifted = shield_before is not None and shield_before[1] and newest != shield_before
        if name == "disabled_cleared" and burning and lifted:
            assert [d.suppressed for d in raises] == [None]
        if name == "alarm":
            burning = True
        elif name == "alarm_cleared":
            burning = False


def test_open_panel_alerts_survive_a_restart_and_their_return_is_noticed() -> None:
    """Warm-up marks open alerts active; a component and a transmitter have no main metric."""
    engine = engine_with(device("P1", Kind.PANEL), device("T1", Kind.TRANSMITTER))
    engine.remember_open(
        [("P1", "panel_fire"), ("P1", "panel_supervisory"), ("T1", "fault"), ("P1", "offline")]
    )
    back = engine.evaluate(
        [event("P1", "alarm_cleared", 10, 1), event("T1", "fault_cleared", 10, 1)]
    )
    assert {(d.subject, d.rule, d.change) for d in back} >= {
        ("P1", Rule.PANEL_FIRE, Change.CLEAR),
        ("T1", Rule.FAULT, Change.CLEAR),
    }
