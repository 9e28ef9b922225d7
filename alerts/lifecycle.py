"""The alert state machine (ISA-18.2), as a table: every legal (state, action) pair and where it
leads. Anything not in the table is illegal and raises, so an operator's click on a stale
screen gets a clear 409 rather than a silently inconsistent alert."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class State(StrEnum):
    ACTIVE_UNACK = "active_unack"
    ACTIVE_ACK = "active_ack"
    RETURNED_UNACK = "returned_unack"
    SHELVED = "shelved"
    SUPPRESSED = "suppressed"
    RESOLVED = "resolved"


class Action(StrEnum):
    # The engine's.
    REPEAT = "repeat"  # the condition is (still or again) active
    RETURN = "return"  # the condition returned to normal
    RETURN_LATCHED = "return_latched"  # ... on a latching alert: it waits for a person
    ESCALATE = "escalate"
    # A higher class of the alert's family holds (contract.families): announced again. A higher
    # rule of the same class is logged as a rise but moves the state as a repeat.
    RISE = "rise"
    # Operators'.
    ACK = "ack"
    SHELVE = "shelve"
    UNSHELVE = "unshelve"  # also when the shelving time runs out
    RESOLVE = "resolve"
    COMMENT = "comment"
    CLAIM = "claim"


class Cause(StrEnum):
    REAL_FIRE = "real_fire"
    FALSE_ALARM = "false_alarm"
    TEST = "test"
    MAINTENANCE = "maintenance"
    OTHER = "other"


OPEN = frozenset(State) - {State.RESOLVED}
_ANY_OPEN = {s: s for s in OPEN}

# (state, action) -> next state. UNSHELVE's target depends on the condition: see `unshelve_to`.
TRANSITIONS: dict[tuple[State, Action], State] = {
    (State.ACTIVE_UNACK, Action.REPEAT): State.ACTIVE_UNACK,
    (State.ACTIVE_ACK, Action.REPEAT): State.ACTIVE_ACK,
    (State.RETURNED_UNACK, Action.REPEAT): State.ACTIVE_UNACK,
    (State.SHELVED, Action.REPEAT): State.SHELVED,
    (State.SUPPRESSED, Action.REPEAT): State.SUPPRESSED,
    (State.ACTIVE_UNACK, Action.RETURN): State.RETURNED_UNACK,
    (State.ACTIVE_ACK, Action.RETURN): State.RESOLVED,
    (State.RETURNED_UNACK, Action.RETURN): State.RETURNED_UNACK,
    (State.SHELVED, Action.RETURN): State.SHELVED,
    (State.ACTIVE_UNACK, Action.RETURN_LATCHED): State.ACTIVE_UNACK,
    (State.ACTIVE_ACK, Action.RETURN_LATCHED): State.ACTIVE_ACK,
    (State.SHELVED, Action.RETURN_LATCHED): State.SHELVED,
    (State.SUPPRESSED, Action.RETURN_LATCHED): State.RESOLVED,
    (State.SUPPRESSED, Action.RETURN): State.RESOLVED,
    (State.ACTIVE_UNACK, Action.RISE): State.ACTIVE_UNACK,
    (State.ACTIVE_ACK, Action.RISE): State.ACTIVE_UNACK,
    (State.RETURNED_UNACK, Action.RISE): State.ACTIVE_UNACK,
    (State.SHELVED, Action.RISE): State.ACTIVE_UNACK,  # a shelf was for the lower class
    (State.SUPPRESSED, Action.RISE): State.SUPPRESSED,
    (State.ACTIVE_UNACK, Action.ESCALATE): State.ACTIVE_UNACK,
    (State.ACTIVE_UNACK, Action.ACK): State.ACTIVE_ACK,
    (State.RETURNED_UNACK, Action.ACK): State.RESOLVED,
    (State.ACTIVE_UNACK, Action.SHELVE): State.SHELVED,
    (State.ACTIVE_ACK, Action.SHELVE): State.SHELVED,
    (State.RETURNED_UNACK, Action.SHELVE): State.SHELVED,
    **{(s, Action.RESOLVE): State.RESOLVED for s in OPEN},
    **{(s, Action.COMMENT): s for s in State},
    **{(s, Action.CLAIM): s for s in OPEN},
}


class IllegalTransition(Exception):
    """An action that the alert's state does not allow; the message says what would."""

    def __init__(self, state: State, action: Action, hint: str = "") -> None:
        allowed = sorted(a.value for (s, a) in TRANSITIONS if s is state)
        self.hint = hint or "allowed: " + ", ".join(allowed)
        super().__init__(f"cannot {action.value} an alert that is {state.value}; {self.hint}")
        self.state, self.action = state, action


@dataclass(frozen=True, slots=True)
class AlertFacts:
    """What the table's guards need to know of an alert besides its state."""

    state: State
    alert_class: str
    condition_active: bool


def next_state(facts: AlertFacts, action: Action) -> State:
    if action is Action.SHELVE and facts.alert_class == "fire":
        raise IllegalTransition(
            facts.state,
            action,
            "fire alarms cannot be shelved: resolve it with a cause, or put "
            "the device in maintenance if it is faulty",
        )
    if action is Action.UNSHELVE:
        if facts.state is not State.SHELVED:
            raise IllegalTransition(facts.state, action, "only a shelved alert can be unshelved")
        return unshelve_to(facts.condition_active)
    try:
        return TRANSITIONS[(facts.state, action)]
    except KeyError:
        raise IllegalTransition(facts.state, action) from None


def unshelve_to(condition_active: bool) -> State:
    """Back from the shelf, an alert whose condition still holds is announced again; one that
    returned while shelved has nothing left to say."""
    return State.ACTIVE_UNACK if condition_active else State.RESOLVED


ENGINE = "engine"  # the actor of every transition no person made

RAISE = "raise"  # how an alert's opening is logged and told: no action of the table opens one


def announced_as(
    *, action: Action, before: State, after: State, was_active: bool = True
) -> str | None:
    """The alert_log action and NOTIFY ``change`` a transition is announced as; None for a
    quiet repeat (same state, condition still active), which is counted and summarised later
    (``store.alerts``) so a chattering device cannot flood the log and the stream."""
    match (action, before, after):
        case (Action.REPEAT, _, _) if before is after and was_active:
            return None
        case (Action.RETURN | Action.RETURN_LATCHED, _, _):
            return Action.RETURN.value
        case _:
            return action.value
