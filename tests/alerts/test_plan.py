"""Properties of the alert plan: whatever the engine decides, the writes keep the lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.lifecycle import OPEN, TRANSITIONS, State
from alerts.plan import AlertRef, Insert, NewAlert, OpenAlert, Update, plan
from alerts.signals import Change, Decision, latches
from contract.alarms import AlertClass, Rule

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SUBJECTS = ("D1", "D2", "building:B1")
RULES = (Rule.SMOKE_ALARM, Rule.LEAKAGE, Rule.TAMPER, Rule.CONFIRMED_FIRE)
CLASS_OF = {
    Rule.SMOKE_ALARM: AlertClass.FIRE,
    Rule.LEAKAGE: AlertClass.PREALARM,
    Rule.TAMPER: AlertClass.SUPERVISORY,
    Rule.CONFIRMED_FIRE: AlertClass.FIRE,
}


@st.composite
def decisions(draw: st.DrawFn) -> Decision:
    rule = draw(st.sampled_from(RULES))
    return Decision(
        subject=draw(st.sampled_from(SUBJECTS)),
        rule=rule,
        alert_class=CLASS_OF[rule],
        change=draw(st.sampled_from(Change)),
        at=T0 + timedelta(seconds=draw(st.integers(0, 3600))),
        value=draw(st.none() | st.floats(0, 500)),
        detail=draw(st.sampled_from([{}, {"chattering": True}])),
        suppressed=draw(st.sampled_from([None, None, "maintenance", "test"])),
    )


@st.composite
def open_alerts(draw: st.DrawFn) -> list[OpenAlert]:
    """At most one open alert per (subject, rule), as the table's unique index holds, in a state
    the lifecycle can reach: a latching alert never returns unacknowledged (it waits for a
    person), and a fire alarm is never shelved."""
    keys = draw(st.sets(st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(RULES))))
    found = []
    for n, (subject, rule) in enumerate(sorted(keys)):
        reachable = OPEN - {State.RETURNED_UNACK} if latches(rule, CLASS_OF[rule]) else OPEN
        if CLASS_OF[rule] is AlertClass.FIRE:
            reachable -= {State.SHELVED}
        state = draw(st.sampled_from(sorted(reachable)))
        found.append(
            OpenAlert(
                id=n + 1,
                subject=subject,
                rule=rule.value,
                state=state,
                alert_class=CLASS_OF[rule].value,
                condition_active=draw(st.booleans()),
                count=draw(st.integers(1, 50)),
                peak=draw(st.none() | st.floats(0, 500)),
                latching=latches(rule, CLASS_OF[rule]),
                chattering=draw(st.booleans()),
                suppressed="maintenance" if state is State.SUPPRESSED else None,
            )
        )
    return found


BATCHES = st.lists(decisions(), max_size=30)


@given(BATCHES.map(lambda ds: [d for d in ds if d.change is Change.CLEAR]))
def test_a_clear_on_nothing_open_writes_nothing(batch: list[Decision]) -> None:
    planned = plan(batch, [])
    assert (planned.writes, planned.logs, planned.reported) == ((), (), ())


@given(BATCHES, open_alerts())
def test_counts_only_grow_and_transitions_are_legal(
    batch: list[Decision], found: list[OpenAlert]
) -> None:
    state: dict[AlertRef, State] = {a.id: a.state for a in found}
    count: dict[AlertRef, int] = {a.id: a.count for a in found}
    for write in plan(batch, found).writes:
        if isinstance(write, Insert):
            ref: AlertRef = NewAlert(write.step)
            assert ref not in state
            state[ref], count[ref] = write.state, 1
            continue
        legal = {to for (frm, _), to in TRANSITIONS.items() if frm is state[write.alert]}
        assert write.state in legal
        assert write.count >= count[write.alert]
        state[write.alert], count[write.alert] = write.state, write.count


@given(BATCHES, open_alerts())
def test_one_open_alert_per_key(batch: list[Decision], found: list[OpenAlert]) -> None:
    """An insert only where nothing is open: where nothing was, or once the engine resolved it."""
    planned = plan(batch, found)
    is_open = {(a.subject, a.rule) for a in found}
    for write in planned.writes:
        if isinstance(write, Insert):
            key = (write.decision.subject, write.decision.rule.value)
            assert key not in is_open
            is_open.add(key)
        elif write.state is State.RESOLVED:
            key = next(
                (r.alert.subject, r.alert.rule) for r in planned.reported if r.step == write.step
            )
            is_open.discard(key)
    assert set(planned.open_after) == is_open


@given(BATCHES, open_alerts())
def test_a_latched_fire_stays_a_fire_until_a_person_resolves_it(
    batch: list[Decision], found: list[OpenAlert]
) -> None:
    """The engine resolves a latching alert only when it was suppressed (a test or maintenance),
    and no write changes an alert's class."""
    planned = plan(batch, found)
    for item in planned.reported:
        if item.alert.latching and item.alert.alert_class == "fire":
            was = [r for r in planned.reported if r.alert.id == item.alert.id]
            assert {r.alert.alert_class for r in was} == {"fire"}
            if item.alert.state is State.RESOLVED:
                assert item.alert.suppressed is not None


@given(BATCHES, open_alerts())
def test_only_what_is_logged_is_told(batch: list[Decision], found: list[OpenAlert]) -> None:
    """A quiet repeat is neither logged nor told; everything else is both, once."""
    planned = plan(batch, found)
    logged = {log.step for log in planned.logs}
    assert {r.step for r in planned.reported if r.told} == logged
    told_updates = {w.step for w in planned.writes if isinstance(w, Update) and w.told}
    inserts = {w.step for w in planned.writes if isinstance(w, Insert)}
    assert told_updates | inserts == logged
