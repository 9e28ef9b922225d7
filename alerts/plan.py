"""The engine's decisions on a batch, planned as writes: pure, no I/O.

Given the decisions in order and the open alerts found for their keys, `plan` returns what the
store must write: inserts and updates of alert rows, alert_log rows, the changes to report (and
which of them to NOTIFY). The lifecycle table (``alerts.lifecycle``) decides states; this module
what each decision is to its alert.

One alert is open per subject and condition family (``contract.families``): a decision on any
rule of the family lands on it. A higher rule than the alert's moves it up in place (``rise``):
its rule, class and peak become the new rule's, and a higher class announces it again. A lower
rule only keeps it active. The alert returns once no rule of its family holds (``conditions``).

An alert opened in this batch has no id until its insert runs: writes refer to it as
`NewAlert(step)`, the decision that opened it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from alerts.lifecycle import RAISE, Action, AlertFacts, Cause, State, announced_as, next_state
from alerts.signals import Change, Decision, latches
from contract.families import family, higher_class, rank

Key = tuple[str, str]  # (subject, family)
CONDITION = "condition"  # logged when a further rule of an open alert's family starts to hold


@dataclass(frozen=True, slots=True)
class NewAlert:
    """The alert the insert for decision ``step`` opens."""

    step: int


AlertRef = int | NewAlert


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenAlert:
    """An open alert as the batch finds it (its row locked): what the lifecycle needs."""

    id: AlertRef
    subject: str
    family: str
    rule: str  # the highest rule of the family reached while open
    state: State
    alert_class: str
    condition_active: bool
    count: int
    peak: float | None
    latching: bool
    chattering: bool
    suppressed: str | None
    conditions: frozenset[str]  # the family's rules that hold now


@dataclass(frozen=True, slots=True, kw_only=True)
class Insert:
    """Open an alert for ``decision`` (decision number ``step`` of the batch)."""

    step: int
    decision: Decision
    state: State
    latching: bool
    chattering: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Update:
    """Set an open alert's row to what decision number ``step`` made of it."""

    step: int
    alert: AlertRef
    rule: str
    alert_class: str
    state: State
    latching: bool
    conditions: frozenset[str]
    stepped: bool  # moved up: its event time joins the alert's steps (incidents confirm on them)
    count: int
    at: datetime
    peak: float | None
    condition_active: bool
    chattering: bool
    returned: bool
    cause: Cause | None
    note: str | None
    told: bool  # announced now: the repeat summary's clock (notified_at) restarts
    detail: dict[str, Any] | None  # merged into the row's detail


@dataclass(frozen=True, slots=True, kw_only=True)
class LogRow:
    step: int
    alert: AlertRef
    action: str
    from_state: State | None
    to_state: State
    detail: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Reported:
    """One decision's effect on its alert, as the caller and the stream see it."""

    step: int
    alert: OpenAlert
    change: str
    at: datetime
    site: str | None
    building: str | None
    told: bool  # NOTIFYed now (quiet repeats and holds are not)


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    writes: tuple[Insert | Update, ...]
    logs: tuple[LogRow, ...]
    reported: tuple[Reported, ...]


def plan(decisions: Sequence[Decision], open_alerts: Iterable[OpenAlert]) -> Plan:
    """Applies the decisions in order to the open alerts; a decision on a key with nothing
    open opens an alert, unless it is a CLEAR (an operator resolved it already)."""
    opened = {(a.subject, a.family): a for a in open_alerts}
    writes: list[Insert | Update] = []
    logs: list[LogRow] = []
    reported: list[Reported] = []
    for step, d in enumerate(decisions):
        key = (d.subject, family(d.rule))
        found = opened.get(key)
        if found is None:
            if d.change is Change.CLEAR:
                continue
            insert = _insert(step, d)
            found = opened[key] = _opened(insert)
            writes.append(insert)
            logs.append(_raised(step, d, found))
            reported.append(_reported(step=step, d=d, alert=found, change=RAISE, told=True))
            continue
        if found.state is State.SUPPRESSED and d.suppressed is None and d.change is Change.RAISE:
            # A live rule on an alert opened in maintenance or test: that alert ends and the
            # live condition gets one of its own, which is dispatched.
            ended = _lift(step=step, d=d, found=found)
            writes.append(ended[0])
            logs.append(ended[1])
            insert = _insert(step, d)
            found = opened[key] = _opened(insert)
            writes.append(insert)
            logs.append(_raised(step, d, found))
            reported.append(_reported(step=step, d=d, alert=found, change=RAISE, told=True))
            continue
        update, log, after = _update(step=step, d=d, found=found)
        writes.append(update)
        if log is not None:
            logs.append(log)
        if after.state is State.RESOLVED:
            del opened[key]
        else:
            opened[key] = after
        if log is not None and log.action == Action.RISE:
            change = Action.RISE.value
        elif d.change is Change.HOLD:
            change = "hold"
        else:
            change = log.action if log else "repeat"
        reported.append(_reported(step=step, d=d, alert=after, change=change, told=update.told))
    return Plan(writes=tuple(writes), logs=tuple(logs), reported=tuple(reported))


def _raised(step: int, d: Decision, alert: OpenAlert) -> LogRow:
    return LogRow(
        step=step,
        alert=alert.id,
        action=RAISE,
        from_state=None,
        to_state=alert.state,
        detail={
            **d.detail,
            "rule": d.rule.value,
            "class": d.alert_class.value,
            "at": d.at.isoformat(),
        },
    )


def _lift(*, step: int, d: Decision, found: OpenAlert) -> tuple[Update, LogRow]:
    """Ends a suppressed alert that a live (unsuppressed) rule of its family outgrows."""
    cause = Cause.TEST if found.suppressed == "test" else Cause.MAINTENANCE
    update = Update(
        step=step,
        alert=found.id,
        rule=found.rule,
        alert_class=found.alert_class,
        state=State.RESOLVED,
        latching=found.latching,
        conditions=found.conditions,
        stepped=False,
        count=found.count,
        at=d.at,
        peak=found.peak,
        condition_active=found.condition_active,
        chattering=found.chattering,
        returned=False,
        cause=cause,
        note=f"{found.suppressed} is over: {d.rule.value} is a live alert of its own",
        told=True,
        detail=None,
    )
    log = LogRow(
        step=step,
        alert=found.id,
        action=Action.RESOLVE.value,
        from_state=found.state,
        to_state=State.RESOLVED,
        detail={"cause": cause.value, "superseded_by": d.rule.value},
    )
    return update, log


def _reported(*, step: int, d: Decision, alert: OpenAlert, change: str, told: bool) -> Reported:
    return Reported(
        step=step, alert=alert, change=change, at=d.at, site=d.site, building=d.building, told=told
    )


def _insert(step: int, d: Decision) -> Insert:
    return Insert(
        step=step,
        decision=d,
        state=State.SUPPRESSED if d.suppressed else State.ACTIVE_UNACK,
        latching=latches(d.rule, d.alert_class),
        chattering=bool(d.detail.get("chattering")),
    )


def _opened(insert: Insert) -> OpenAlert:
    d = insert.decision
    return OpenAlert(
        id=NewAlert(insert.step),
        subject=d.subject,
        family=family(d.rule),
        rule=d.rule.value,
        state=insert.state,
        alert_class=d.alert_class.value,
        condition_active=True,
        count=1,
        peak=d.value,
        latching=insert.latching,
        chattering=insert.chattering,
        suppressed=d.suppressed,
        conditions=frozenset({d.rule.value}),
    )


def _engine_action(
    d: Decision, found: OpenAlert, *, class_rose: bool, still: frozenset[str]
) -> tuple[Action, Cause | None, str | None]:
    """The lifecycle action a decision is on an open alert, with the cause and note a
    resolution by the engine records. A clear while another rule of the family still holds
    is a repeat: the alert is still active."""
    if d.change is not Change.CLEAR:
        return (Action.RISE if class_rose else Action.REPEAT), None, None
    if still:
        return Action.REPEAT, None, None
    if found.state is State.SUPPRESSED:
        cause = Cause.TEST if found.suppressed == "test" else Cause.MAINTENANCE
        return Action.RETURN, cause, f"returned to normal while {found.suppressed}"
    if found.latching:
        return Action.RETURN_LATCHED, None, None
    return Action.RETURN, Cause.OTHER, "returned to normal after acknowledgement"


def _update(*, step: int, d: Decision, found: OpenAlert) -> tuple[Update, LogRow | None, OpenAlert]:
    clear = d.change is Change.CLEAR
    conditions = found.conditions - {d.rule.value} if clear else found.conditions | {d.rule.value}
    rises = not clear and rank(d.rule.value) > rank(found.rule)
    alert_class = found.alert_class if clear else higher_class(found.alert_class, d.alert_class)
    action, cause, note = _engine_action(
        d, found, class_rose=alert_class != found.alert_class, still=conditions
    )
    state = next_state(AlertFacts(found.state, found.alert_class, found.condition_active), action)
    rule = d.rule.value if rises else found.rule
    # The peak is the shown rule's: a rise starts it afresh (a rate is not a temperature).
    peak = d.value if rises else _peak(found.peak, d.value) if d.rule.value == rule else found.peak
    after = OpenAlert(
        id=found.id,
        subject=found.subject,
        family=found.family,
        rule=rule,
        state=state,
        alert_class=alert_class,
        condition_active=bool(conditions),
        count=found.count + (d.change in (Change.RAISE, Change.REPEAT)),
        peak=peak,
        latching=found.latching or (not clear and latches(d.rule, d.alert_class)),
        chattering=found.chattering or bool(d.detail.get("chattering")),
        suppressed=found.suppressed,
        conditions=conditions,
    )
    # A rule of the family that starts to hold while the alert is open: a step of its own in the
    # log (a lower one too: a priority lane or a backlog can bring the detector's alarm before
    # the readings that led to it), and a step for confirmation.
    starts = d.change is Change.RAISE and d.rule.value not in found.conditions
    if rises:
        announced: str | None = Action.RISE.value
    elif starts:
        announced = CONDITION
    else:
        announced = announced_as(
            action=action, before=found.state, after=state, was_active=found.condition_active
        )
    update = Update(
        step=step,
        alert=found.id,
        rule=after.rule,
        alert_class=after.alert_class,
        state=state,
        latching=after.latching,
        conditions=conditions,
        stepped=rises or starts,
        count=after.count,
        at=d.at,
        peak=after.peak,
        condition_active=after.condition_active,
        chattering=after.chattering,
        returned=not after.condition_active,
        cause=cause,
        note=note,
        told=announced is not None,
        detail=d.detail if d.change is Change.RAISE or rises else None,
    )
    if announced is None:
        return update, None, after
    resolved_cause = {"cause": cause.value} if cause and state is State.RESOLVED else {}
    stepped = (
        {"rule": d.rule.value, "from_rule": found.rule, "class": d.alert_class.value}
        if rises or starts
        else {}
    )
    at = {"at": d.at.isoformat()} if rises or starts else {}
    log = LogRow(
        step=step,
        alert=found.id,
        action=announced,
        from_state=found.state,
        to_state=state,
        detail={**d.detail, **resolved_cause, **stepped, **at},
    )
    return update, log, after


def _peak(old: float | None, new: float | None) -> float | None:
    if new is None:
        return old
    return new if old is None else max(old, new)
