"""The alert state table: every (state, action) pair is legal and goes where the table says,
or raises an IllegalTransition that names both."""

from __future__ import annotations

import itertools

import pytest

from alerts.lifecycle import (
    OPEN,
    TRANSITIONS,
    Action,
    AlertFacts,
    IllegalTransition,
    State,
    next_state,
    unshelve_to,
)

# UNSHELVE's target depends on the condition: see its own tests.
PAIRS = [(s, a) for s, a in itertools.product(State, Action) if a is not Action.UNSHELVE]
CLASSES = ("fire", "prealarm", "supervisory", "trouble")


@pytest.mark.parametrize(("state", "action"), PAIRS, ids=[f"{s}-{a}" for s, a in PAIRS])
@pytest.mark.parametrize("alert_class", ["prealarm", "trouble"])
def test_every_pair_is_in_the_table_or_illegal(
    state: State, action: Action, alert_class: str
) -> None:
    facts = AlertFacts(state, alert_class, condition_active=True)
    target = TRANSITIONS.get((state, action))
    if target is not None:
        assert next_state(facts, action) is target
        return
    with pytest.raises(IllegalTransition) as caught:
        next_state(facts, action)
    message = str(caught.value)
    assert state.value in message and action.value in message
    assert (caught.value.state, caught.value.action) == (state, action)
    # The hint lists what the state does allow.
    for (s, a), _ in TRANSITIONS.items():
        if s is state:
            assert a.value in message


def test_resolved_alerts_accept_only_comments() -> None:
    allowed = {a for (s, a) in TRANSITIONS if s is State.RESOLVED}
    assert allowed == {Action.COMMENT}
    assert TRANSITIONS[(State.RESOLVED, Action.COMMENT)] is State.RESOLVED


def test_every_open_state_can_be_resolved() -> None:
    for state in OPEN:
        facts = AlertFacts(state, "fire", condition_active=True)
        assert next_state(facts, Action.RESOLVE) is State.RESOLVED


@pytest.mark.parametrize("state", [State.ACTIVE_UNACK, State.ACTIVE_ACK, State.RETURNED_UNACK])
def test_fire_alerts_cannot_be_shelved(state: State) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_state(AlertFacts(state, "fire", condition_active=True), Action.SHELVE)
    assert "fire alarms cannot be shelved" in str(caught.value)
    assert state.value in str(caught.value)
    # The same state of another class can be shelved.
    assert next_state(AlertFacts(state, "prealarm", True), Action.SHELVE) is State.SHELVED


@pytest.mark.parametrize(
    ("active", "expected"), [(True, State.ACTIVE_UNACK), (False, State.RESOLVED)]
)
@pytest.mark.parametrize("alert_class", CLASSES)
def test_unshelve_follows_the_condition(active: bool, expected: State, alert_class: str) -> None:
    assert next_state(AlertFacts(State.SHELVED, alert_class, active), Action.UNSHELVE) is expected
    assert unshelve_to(active) is expected


@pytest.mark.parametrize("state", [s for s in State if s is not State.SHELVED])
def test_only_shelved_alerts_can_be_unshelved(state: State) -> None:
    with pytest.raises(IllegalTransition) as caught:
        next_state(AlertFacts(state, "trouble", True), Action.UNSHELVE)
    assert state.value in str(caught.value) and "unshelve" in str(caught.value)


@pytest.mark.parametrize("alert_class", CLASSES)
def test_ack_of_returned_unack_resolves(alert_class: str) -> None:
    facts = AlertFacts(State.RETURNED_UNACK, alert_class, condition_active=False)
    assert next_state(facts, Action.ACK) is State.RESOLVED


def test_ack_of_active_unack_keeps_it_active() -> None:
    facts = AlertFacts(State.ACTIVE_UNACK, "fire", condition_active=True)
    assert next_state(facts, Action.ACK) is State.ACTIVE_ACK
    with pytest.raises(IllegalTransition):
        next_state(AlertFacts(State.ACTIVE_ACK, "fire", True), Action.ACK)


def test_a_returned_alert_that_repeats_is_announced_again() -> None:
    facts = AlertFacts(State.RETURNED_UNACK, "prealarm", condition_active=False)
    assert next_state(facts, Action.REPEAT) is State.ACTIVE_UNACK


def test_latched_return_keeps_a_fire_active() -> None:
    for state in (State.ACTIVE_UNACK, State.ACTIVE_ACK, State.SHELVED):
        assert next_state(AlertFacts(state, "fire", True), Action.RETURN_LATCHED) is state
