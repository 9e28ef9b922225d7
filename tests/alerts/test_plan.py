"""Properties of the alert plan: whatever the engine decides, the writes keep the lifecycle."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.lifecycle import OPEN, TRANSITIONS, State
from alerts.plan import AlertRef, Insert, NewAlert, OpenAlert, Update, plan
from alerts.signals import Change, Decision, latches
from contract.alarms import AlertClass, Rule
from contract.families import FAMILIES, family, rank, severity

T0 = datetime(2026, 1, 1, tzinfo=UTC)
SUBJECTS = ("D1", "D2", "building:B1")
CLASS_OF = {
    Rule.SMOKE_PREALARM: AlertClass.PREALARM,
    Rule.SMOKE_OBSCURATION: AlertClass.FIRE,
    Rule.SMOKE_ALARM: AlertClass.FIRE,
    Rule.HEAT_ANOMALY: AlertClass.PREALARM,
    Rule.HEAT_FIXED: AlertClass.FIRE,
    Rule.LEAKAGE_TREND: AlertClass.PREALARM,
    Rule.LEAKAGE: AlertClass.PREALARM,
    Rule.TAMPER: AlertClass.SUPERVISORY,
    Rule.COMM_FAULT: AlertClass.TROUBLE,
}
RULES = tuple(CLASS_OF)


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
    """At most one open alert per (subject, family), as the table's unique index holds, in a
    state the lifecycle can reach: a latching alert never returns unacknowledged (it waits for a
    person), a fire alarm is never shelved, and only its family's rules up to its own hold."""
    keys = draw(st.sets(st.tuples(st.sampled_from(SUBJECTS), st.sampled_from(RULES))))
    found = []
    seen: set[tuple[str, str]] = set()
    for n, (subject, rule) in enumerate(sorted(keys)):
        if (subject, family(rule)) in seen:
            continue
        seen.add((subject, family(rule)))
        reachable = OPEN - {State.RETURNED_UNACK} if latches(rule, CLASS_OF[rule]) else OPEN
        if CLASS_OF[rule] is AlertClass.FIRE:
            reachable -= {State.SHELVED}
        state = draw(st.sampled_from(sorted(reachable)))
        lower = [r.value for r in FAMILIES.get(family(rule), (rule,)) if rank(r) <= rank(rule)]
        conditions = frozenset(draw(st.sets(st.sampled_from(lower))))
        found.append(
            OpenAlert(
                id=n + 1,
                subject=subject,
                family=family(rule),
                rule=rule.value,
                state=state,
                alert_class=CLASS_OF[rule].value,
                condition_active=bool(conditions),
                count=draw(st.integers(1, 50)),
                peak=draw(st.none() | st.floats(0, 500)),
                latching=latches(rule, CLASS_OF[rule]),
                chattering=draw(st.booleans()),
                suppressed="maintenance" if state is State.SUPPRESSED else None,
                conditions=conditions,
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
    is_open = {(a.subject, a.family) for a in found}
    for write in planned.writes:
        if isinstance(write, Insert):
            key = (write.decision.subject, family(write.decision.rule))
            assert key not in is_open
            is_open.add(key)
        elif write.state is State.RESOLVED:
            key = next(
                (r.alert.subject, r.alert.family) for r in planned.reported if r.step == write.step
            )
            is_open.discard(key)


@given(BATCHES, open_alerts())
def test_a_latched_fire_stays_a_fire_until_a_person_resolves_it(
    batch: list[Decision], found: list[OpenAlert]
) -> None:
    """The engine resolves a latching alert only when it was suppressed (a test or maintenance),
    and an open alert's class and rule never move down: a fire stays a fire."""
    planned = plan(batch, found)
    last: dict[AlertRef, tuple[int, int]] = {
        a.id: (severity(a.alert_class), rank(a.rule)) for a in found
    }
    for item in planned.reported:
        a = item.alert
        now = (severity(a.alert_class), rank(a.rule))
        assert now >= last.get(a.id, now)
        last[a.id] = now
        if a.latching and a.alert_class == "fire" and a.state is State.RESOLVED:
            assert a.suppressed is not None


@given(BATCHES, open_alerts())
def test_an_alert_is_active_while_a_rule_of_its_family_holds(
    batch: list[Decision], found: list[OpenAlert]
) -> None:
    """A lower rule's return leaves the alert active while a higher one holds, and the reverse."""
    for item in plan(batch, found).reported:
        a = item.alert
        assert a.condition_active == bool(a.conditions)
        assert {family(Rule(r)) for r in a.conditions} <= {a.family}


def heat(rule: Rule, cls: AlertClass, change: Change, value: float | None = None) -> Decision:
    return Decision(subject="D1", rule=rule, alert_class=cls, change=change, at=T0, value=value)


def test_a_rise_moves_the_alert_up_in_place_and_announces_a_higher_class() -> None:
    planned = plan(
        [
            heat(Rule.HEAT_ANOMALY, AlertClass.PREALARM, Change.RAISE, 31.0),
            heat(Rule.HEAT_ROR, AlertClass.FIRE, Change.RAISE, 45.0),
            heat(Rule.HEAT_FIXED, AlertClass.FIRE, Change.RAISE, 58.0),
            heat(Rule.HEAT_ROR, AlertClass.FIRE, Change.CLEAR),
        ],
        [],
    )
    assert sum(isinstance(w, Insert) for w in planned.writes) == 1
    assert [(r.change, r.alert.rule, r.alert.alert_class) for r in planned.reported] == [
        ("raise", "heat_anomaly", "prealarm"),
        ("rise", "heat_ror", "fire"),
        ("rise", "heat_fixed", "fire"),
        ("repeat", "heat_fixed", "fire"),
    ]
    last = planned.reported[-1].alert
    assert (last.peak, last.conditions, last.latching) == (
        58.0,
        frozenset({"heat_anomaly", "heat_fixed"}),
        True,
    )


@given(BATCHES, open_alerts())
def test_only_what_is_logged_is_told(batch: list[Decision], found: list[OpenAlert]) -> None:
    """A quiet repeat is neither logged nor told; everything else is both, once."""
    planned = plan(batch, found)
    logged = {log.step for log in planned.logs}
    assert {r.step for r in planned.reported if r.told} == logged
    told_updates = {w.step for w in planned.writes if isinstance(w, Update) and w.told}
    inserts = {w.step for w in planned.writes if isinstance(w, Insert)}
    assert told_updates | inserts == logged
