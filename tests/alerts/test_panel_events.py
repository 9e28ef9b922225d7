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
    engine.remember_shielded({"P1": ts(0)})
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


@given(st.lists(st.sampled_from(["disabled", "disabled_cleared", "alarm", "alarm_cleared"])))
def test_a_fire_alarm_is_suppressed_exactly_when_the_newest_shield_event_says_so(
    events: list[str],
) -> None:
    engine: Engine = engine_with(device("P1", Kind.PANEL))
    shielded = False
    for n, name in enumerate(events):
        decisions = _only(engine.evaluate([event("P1", name, n, n + 1)]), Rule.PANEL_FIRE)
        engine.commit()
        for d in decisions:
            if d.change is Change.RAISE:
                assert d.suppressed == ("disabled" if shielded else None)
        if name in ("disabled", "disabled_cleared"):
            shielded = name == "disabled"
