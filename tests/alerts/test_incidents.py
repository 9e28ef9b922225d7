"""Properties of the pure incident logic: placement, what an incident is given its signals,
what an acknowledgement carries, and how operators' actions cascade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.incidents import (
    EPISODE_GAP,
    Candidate,
    Join,
    Open,
    OpenIncident,
    Signal,
    View,
    acknowledged_episode,
    allowed,
    carried,
    cascade,
    place,
    view,
)
from alerts.lifecycle import OPEN, Action, IllegalTransition, State
from contract.alarms import AlertClass, Rule
from contract.families import severity

T0 = datetime(2026, 1, 1, tzinfo=UTC)
RULES = {
    Rule.SMOKE_ALARM: AlertClass.FIRE,
    Rule.HEAT_ANOMALY: AlertClass.PREALARM,
    Rule.LEAKAGE: AlertClass.PREALARM,
    Rule.TAMPER: AlertClass.SUPERVISORY,
    Rule.CAMERA_FIRE: AlertClass.FIRE,
}


@st.composite
def signals(draw: st.DrawFn) -> Signal:
    rule = draw(st.sampled_from(sorted(RULES)))
    cls = RULES[rule]
    states = sorted(set(State) - {State.SUPPRESSED} - ({State.SHELVED} if cls == "fire" else set()))
    at = T0 + timedelta(seconds=draw(st.integers(0, 600)))
    return Signal(
        alert_id=draw(st.integers(1, 10_000)),
        device_id=draw(st.sampled_from(["D1", "D2", "D3"])),
        rule=rule.value,
        alert_class=cls.value,
        state=draw(st.sampled_from(states)),
        condition_active=draw(st.booleans()),
        raised_at=at,
        last_at=at,
    )


SIGNALS = st.lists(signals(), max_size=8)


def sig(device: str, rule: Rule, at: float, state: State = State.ACTIVE_UNACK) -> Signal:
    t = T0 + timedelta(seconds=at)
    return Signal(
        alert_id=hash((device, rule, at)) % 10_000,
        device_id=device,
        rule=rule.value,
        alert_class=RULES[rule].value,
        state=state,
        condition_active=True,
        raised_at=t,
        last_at=t,
    )


@given(SIGNALS)
def test_an_incident_is_its_most_urgent_open_signal_and_resolved_when_none_is_open(
    found: list[Signal],
) -> None:
    v = view(found, before=None, window_s=120) if found else None
    if v is None:
        return
    states = {s.state for s in found} - {State.RESOLVED}
    if not states:
        assert v.state is State.RESOLVED
    elif State.ACTIVE_UNACK in states:
        assert v.state is State.ACTIVE_UNACK
    else:
        assert v.state in states
    assert v.alert_class == max((s.alert_class for s in found), key=severity)


@given(SIGNALS, SIGNALS)
def test_class_and_confirmation_never_go_back(first: list[Signal], more: list[Signal]) -> None:
    if not first:
        return
    before = view(first, before=None, window_s=120)
    after = view(more or first, before=before, window_s=120)
    assert severity(after.alert_class) >= severity(before.alert_class)
    if before.confirmed_at is not None:
        assert after.confirmed_at is not None and after.confirmed_at <= before.confirmed_at


def test_two_devices_fire_signals_within_the_window_confirm_at_the_second() -> None:
    v = view(
        [sig("D1", Rule.SMOKE_ALARM, 0), sig("D2", Rule.HEAT_ANOMALY, 119)],
        before=None,
        window_s=120,
    )
    assert v.confirmed_at == T0 + timedelta(seconds=119)


@pytest.mark.parametrize(
    "found",
    [
        [sig("D1", Rule.SMOKE_ALARM, 0), sig("D1", Rule.HEAT_ANOMALY, 10)],  # one device
        [sig("D1", Rule.SMOKE_ALARM, 0), sig("D2", Rule.SMOKE_ALARM, 121)],  # too far apart
        [sig("D1", Rule.SMOKE_ALARM, 0), sig("D2", Rule.LEAKAGE, 10)],  # leakage is no fire sign
        [sig("D1", Rule.SMOKE_ALARM, 0), sig("D2", Rule.TAMPER, 10)],
    ],
)
def test_what_does_not_confirm(found: list[Signal]) -> None:
    assert view(found, before=None, window_s=120).confirmed_at is None


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def incident(
    ident: int,
    *,
    building: str | None,
    origin: str | None = None,
    covers: tuple[str, ...] = (),
    last: float = 0,
) -> OpenIncident:
    return OpenIncident(
        id=ident,
        building=building,
        origin=origin,
        covers=frozenset(covers),
        steps=(at(last),),
    )


def detector(building: str | None, when: float = 10, device: str = "D1") -> Candidate:
    return Candidate(alert_id=1, device_id=device, building=building, covers=(), at=at(when))


def camera(when: float = 10, covers: tuple[str, ...] = ("B1", "B2")) -> Candidate:
    return Candidate(alert_id=2, device_id="C1", building="B9", covers=covers, at=at(when))


def test_a_detector_joins_its_buildings_open_incident_however_old() -> None:
    assert place(detector("B1", when=5000), [incident(7, building="B1")], window_s=120) == Join(7)


def test_a_detector_opens_one_for_its_building() -> None:
    assert place(detector("B1"), [incident(7, building="B2")], window_s=120) == Open(
        building="B1", origin=None, covers=()
    )


def test_a_detector_joins_a_recent_camera_incident_covering_its_building_and_names_it() -> None:
    cam = incident(3, building=None, origin="C1", covers=("B1", "B2"), last=0)
    assert place(detector("B1", when=100), [cam], window_s=120) == Join(3, building="B1")
    assert place(detector("B1", when=200), [cam], window_s=120) == Open(
        building="B1", origin=None, covers=()
    )


def test_a_camera_joins_the_newest_recent_incident_it_covers() -> None:
    found = [incident(1, building="B1", last=0), incident(2, building="B2", last=5)]
    assert place(camera(), found, window_s=120) == Join(2)
    assert place(camera(when=500), found, window_s=120) == Open(
        building=None, origin="C1", covers=("B1", "B2", "B9")
    )


def test_a_camera_keeps_to_its_own_incident() -> None:
    own = incident(4, building=None, origin="C1", covers=("B1",), last=0)
    assert place(camera(when=900), [own], window_s=120) == Join(4)


def test_a_device_without_a_building_is_its_own_place() -> None:
    assert place(detector(None), [], window_s=120) == Open(building=None, origin="D1", covers=())
    own = incident(5, building=None, origin="D1")
    assert place(detector(None), [own], window_s=120) == Join(5)


def acked() -> View:
    return View(state=State.ACTIVE_ACK, alert_class="prealarm", confirmed_at=None)


def test_an_acknowledgement_carries_unless_the_class_rises_or_it_confirms() -> None:
    unack = View(state=State.ACTIVE_UNACK, alert_class="prealarm", confirmed_at=None)
    assert carried(acked(), unack) is Action.ACK
    assert (
        carried(acked(), View(state=State.ACTIVE_UNACK, alert_class="fire", confirmed_at=None))
        is None
    )
    assert (
        carried(acked(), View(state=State.ACTIVE_UNACK, alert_class="prealarm", confirmed_at=T0))
        is None
    )
    shelved = View(state=State.SHELVED, alert_class="prealarm", confirmed_at=None)
    assert carried(shelved, unack) is Action.SHELVE
    fire = View(state=State.ACTIVE_UNACK, alert_class="fire", confirmed_at=None)
    assert (
        carried(View(state=State.ACTIVE_UNACK, alert_class="fire", confirmed_at=None), fire) is None
    )


def _episode(old: list[Signal], new: list[Signal]) -> list[Signal]:
    """What an acknowledged incident of ``old`` signals carries of ``new`` ones joining it."""
    ids = {s.alert_id for s in new}
    return acknowledged_episode(new, old + new, fresh=ids, joined=ids)


def test_an_acknowledgement_covers_its_episode_not_a_fire_a_week_later() -> None:
    """An acknowledged fire left open: a detector's fire minutes later is the same episode; a
    fire a week later is not, and neither is what follows it."""
    first = sig("D1", Rule.SMOKE_ALARM, 100, State.ACTIVE_ACK)
    soon = sig("D2", Rule.SMOKE_ALARM, 100 + 20 * 60)
    assert _episode([first], [soon]) == [soon]
    week = 7 * 24 * 3600.0
    later, then = sig("D3", Rule.SMOKE_ALARM, week), sig("D2", Rule.SMOKE_ALARM, week + 5)
    assert _episode([first], [then, later]) == []
    # A chain of signals each within the gap of the one before stays in the episode.
    gap = EPISODE_GAP.total_seconds()
    chain = [sig(f"D{n}", Rule.SMOKE_ALARM, 100 + (n - 1) * (gap - 1)) for n in range(2, 5)]
    assert _episode([first], chain) == chain


def test_a_signal_moving_up_counts_from_its_own_raising() -> None:
    """A lone acknowledged signal moving up within its class: minutes after its raising it is
    the same episode, hours after a new one."""
    raised = T0 + timedelta(seconds=100)
    for after, carried_ in ((300, True), (3 * 3600, False)):
        moved = Signal(
            alert_id=1,
            device_id="D1",
            rule=Rule.SMOKE_ALARM.value,
            alert_class=AlertClass.FIRE.value,
            state=State.ACTIVE_UNACK,
            condition_active=True,
            raised_at=raised,
            last_at=raised + timedelta(seconds=after),
            steps=(raised, raised + timedelta(seconds=after)),
        )
        assert acknowledged_episode([moved], [moved], fresh={1}, joined=()) == (
            [moved] if carried_ else []
        )


@given(
    st.lists(st.integers(0, 4 * 3600), min_size=1, max_size=8, unique=True),
    st.integers(0, 8),
)
def test_an_episode_is_the_same_however_the_signals_are_cut_into_batches(
    offsets: list[int], cut: int
) -> None:
    """Signals joining an incident acknowledged at T0, in one batch or in two: an incident
    that stood in the first (a signal not carried) carries nothing more in the second."""
    first_signal = sig("D0", Rule.SMOKE_ALARM, 0, State.ACTIVE_ACK)
    fresh = sorted(
        (sig(f"D{n + 1}", Rule.SMOKE_ALARM, float(s)) for n, s in enumerate(offsets)),
        key=lambda s: s.raised_at,
    )
    early, late = fresh[:cut], fresh[cut:]
    whole = _episode([first_signal], fresh)
    carried_early = _episode([first_signal], early)
    in_two = carried_early
    if len(carried_early) == len(early):
        in_two = carried_early + _episode([first_signal, *early], late)
    assert in_two == whole


def test_a_fire_incident_cannot_be_shelved() -> None:
    found = [sig("D1", Rule.SMOKE_ALARM, 0)]
    with pytest.raises(IllegalTransition, match="cannot be shelved"):
        cascade(Action.SHELVE, found, incident=view(found, before=None, window_s=120))
    assert "shelve" not in allowed(found, incident=view(found, before=None, window_s=120))


def test_an_illegal_action_names_what_the_incident_allows() -> None:
    found = [sig("D1", Rule.LEAKAGE, 0, State.ACTIVE_ACK)]
    v = view(found, before=None, window_s=120)
    with pytest.raises(IllegalTransition, match="allowed: claim, comment, resolve, shelve"):
        cascade(Action.ACK, found, incident=v)


@given(
    SIGNALS,
    st.sampled_from([Action.ACK, Action.CLAIM, Action.SHELVE, Action.UNSHELVE, Action.RESOLVE]),
)
def test_a_cascade_moves_only_open_signals_and_only_legally(
    found: list[Signal], action: Action
) -> None:
    if not found:
        return
    v = view(found, before=None, window_s=120)
    try:
        steps = cascade(action, found, incident=v)
    except IllegalTransition:
        assert action.value not in allowed(found, incident=v) or v.state is State.RESOLVED
        return
    assert action.value in allowed(found, incident=v)
    assert steps and all(s.state in OPEN for s, _ in steps)
    if action is Action.RESOLVE:
        assert {s.alert_id for s, _ in steps} == {s.alert_id for s in found if s.state in OPEN}
        assert {to for _, to in steps} == {State.RESOLVED}
