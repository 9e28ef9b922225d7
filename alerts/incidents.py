"""Incidents: what operators work. One incident per place and episode holds every signal (alert)
of it, so one fire is one card and one acknowledgement, not twenty (ISA-18.2 and EEMUA 191:
every alarm an operator sees must call for an action of its own).

Pure, like the rest of the domain: the store hands over the open incidents and the signals, and
gets back where each signal goes and what an incident now is.

- **Which alerts.** A device's fire, pre-alarm and supervisory alerts, unless suppressed
  (maintenance, commissioning, test: never dispatched). Trouble (offline, battery, faults) and
  the roll-ups (``building:``, ``site:``) are the technicians' and stay single alerts.
- **The place** is a building. A device's signal joins its building's open incident, however
  old, or opens one. A camera watches many buildings and cannot say which one its target is
  in: its signal joins the open incident of a building it covers whose signals span its time,
  give or take the window, else the camera's own open incident, else it opens one with no
  building (the camera and the target's position). A detector's signal in a building such a
  camera incident covers, within the window, joins it and gives it the building: camera first,
  detector second is one incident, as the other order is.
- **What an incident is** follows from its signals (:func:`view`): its state from theirs (the
  most urgent open one), its class the highest any of them reached, never lower, and
  ``confirmed`` once two devices' fire signals were raised within the window of each other (a
  positive alarm sequence: two detectors, or a camera and a detector).
- **Acknowledged means acknowledged, for its episode.** A signal that joins an acknowledged
  incident, or moves up inside it, is acknowledged with it unless it raises the incident's
  class or confirms it (:func:`carried`), and only if it comes within ``EPISODE_GAP`` of the
  incident's last raise or move up (:func:`acknowledged_episode`): an acknowledged fire left
  open for a week must not take in today's fire quietly. A shelved incident shelves what
  joins it the same way until its shelf ends.
- **Operators' actions** cascade to the open signals, each through the alert lifecycle table
  (:func:`cascade`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from alerts.lifecycle import Action, AlertFacts, IllegalTransition, State, next_state
from contract.alarms import AlertClass, Rule
from contract.families import severity

INCIDENT_CLASSES = frozenset({AlertClass.FIRE, AlertClass.PREALARM, AlertClass.SUPERVISORY})

# The families whose signals say "something is burning", for confirmation: smoke, heat, a cable
# fire, a camera's heat target or smoke. Leakage, electrical pre-alarms and tamper do not.
FIRE_SIGNAL_RULES = frozenset(
    {
        Rule.SMOKE_ALARM,
        Rule.SMOKE_PREALARM,
        Rule.SMOKE_OBSCURATION,
        Rule.HEAT_FIXED,
        Rule.HEAT_ROR,
        Rule.HEAT_ANOMALY,
        Rule.CABLE_FIRE,
        Rule.CAMERA_HOTSPOT,
        Rule.CAMERA_GROWTH,
        Rule.CAMERA_FIRE,
        Rule.CAMERA_SMOKE,
        Rule.CAMERA_SUDDEN_RISE,
        Rule.CAMERA_PREALARM,
    }
)

# Quiet this long, an incident's next signal is a new episode, which its acknowledgement does
# not cover. Longer than a fire takes to reach its next detectors (minutes), shorter than a
# shift.
EPISODE_GAP = timedelta(minutes=30)

# Most urgent first: the incident's state is its most urgent open signal's.
_URGENCY = (State.ACTIVE_UNACK, State.RETURNED_UNACK, State.ACTIVE_ACK, State.SHELVED)
OPERATOR_ACTIONS = (
    Action.ACK,
    Action.CLAIM,
    Action.COMMENT,
    Action.SHELVE,
    Action.UNSHELVE,
    Action.RESOLVE,
)


def joins_incidents(*, subject: str, alert_class: str, suppressed: str | None) -> bool:
    """Whether an alert belongs in an incident (see the module's docstring)."""
    return ":" not in subject and suppressed is None and alert_class in INCIDENT_CLASSES


@dataclass(frozen=True, slots=True, kw_only=True)
class Signal:
    """One alert of an incident, as the incident sees it."""

    alert_id: int
    device_id: str
    rule: str
    alert_class: str
    state: State
    condition_active: bool
    raised_at: datetime  # event time of its first activation
    last_at: datetime  # event time of its newest
    steps: tuple[datetime, ...] = ()  # event times it was raised and moved up
    shelved_until: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class OpenIncident:
    id: int
    building: str | None
    origin: str | None  # the camera (or building-less device) of an incident with no building
    covers: frozenset[str]  # that camera's buildings: a detector there may join
    steps: tuple[datetime, ...]  # event times its signals were raised and moved up


@dataclass(frozen=True, slots=True, kw_only=True)
class Candidate:
    """An alert that needs its incident: just opened, or no incident yet."""

    alert_id: int
    device_id: str
    building: str | None
    covers: tuple[str, ...]  # a camera's
    at: datetime


@dataclass(frozen=True, slots=True)
class Join:
    incident_id: int
    building: str | None = None  # set when the signal gives a camera incident its building


@dataclass(frozen=True, slots=True, kw_only=True)
class Open:
    building: str | None
    origin: str | None
    covers: tuple[str, ...]


def lock_keys(candidate: Candidate) -> list[str]:
    """The places a candidate may touch, for serialising workers (sorted by the caller)."""
    places = set(candidate.covers) | ({candidate.building} if candidate.building else set())
    return [f"building:{b}" for b in places] + [f"origin:{candidate.device_id}"]


def place(
    candidate: Candidate, incidents: Sequence[OpenIncident], *, window_s: float
) -> Join | Open:
    """Where a signal goes, given the open incidents of the places it may touch."""
    c = candidate
    window = timedelta(seconds=window_s)
    own = next((i for i in incidents if i.building is None and i.origin == c.device_id), None)
    if c.covers:
        return _place_camera(c, incidents, own=own, window=window)
    if c.building is None:
        return Join(own.id) if own else Open(building=None, origin=c.device_id, covers=())
    same = next((i for i in incidents if i.building == c.building), None)
    if same is not None:
        return Join(same.id)
    # A camera incident covering the building, within the window on either side: another
    # worker may have placed the camera's later signal before this one's.
    cameras = (i for i in incidents if i.building is None and c.building in i.covers)
    camera = _nearest(c.at, cameras, window)
    if camera is not None:
        return Join(camera, building=c.building)
    return Open(building=c.building, origin=None, covers=())


def _place_camera(
    c: Candidate, incidents: Sequence[OpenIncident], *, own: OpenIncident | None, window: timedelta
) -> Join | Open:
    """The incident of a watched building with a signal nearest the camera's, within the window
    on either side (another worker may store a detector's earlier signal later); else the
    camera's own."""
    watched = set(c.covers) | ({c.building} if c.building else set())
    near = _nearest(c.at, (i for i in incidents if i.building in watched), window)
    if near is not None:
        return Join(near)
    if own is not None:
        return Join(own.id)
    return Open(building=None, origin=c.device_id, covers=tuple(sorted(watched)))


def _nearest(at: datetime, incidents: Iterable[OpenIncident], window: timedelta) -> int | None:
    """The incident with a step nearest ``at`` within the window, the past first: a step
    before ``at`` is already stored however the stream was cut into batches, one after it may
    not be (a later batch's; ``mergeable`` joins those up). The lower id on a tie."""
    found = [i for i in incidents if i.steps]
    for low, high in ((at - window, at), (at, at + window)):
        gaps = [
            (min(abs(t - at) for t in i.steps if low <= t <= high), i.id)
            for i in found
            if any(low <= t <= high for t in i.steps)
        ]
        if gaps:
            return min(gaps)[1]
    return None


def mergeable(
    incident: OpenIncident, incidents: Iterable[OpenIncident], *, window_s: float
) -> list[int]:
    """The camera incidents (no building) that are ``incident``'s episode: the camera covers its
    building and saw its target within the window of one of its signals. However the signals
    of one fire were placed (a camera's before a detector's, by two workers), they end up in one
    incident."""
    if incident.building is None:
        return []
    window = timedelta(seconds=window_s)
    return sorted(
        i.id
        for i in incidents
        if i.building is None
        and i.id != incident.id
        and incident.building in i.covers
        and any(abs(s - t) <= window for s in i.steps for t in incident.steps)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class View:
    """What an incident is, given its signals."""

    state: State
    alert_class: str
    confirmed_at: datetime | None  # event time it was confirmed; None: not (yet)


def view(signals: Sequence[Signal], *, before: View | None, window_s: float) -> View:
    """The incident's state, class and confirmation from its signals; class and confirmation
    never go back (a fire incident stays one until resolved), though a confirmation may move
    earlier when an earlier pair of signals arrives late."""
    open_states = {s.state for s in signals} - {State.RESOLVED}
    state = next((s for s in _URGENCY if s in open_states), State.RESOLVED)
    classes = [s.alert_class for s in signals] + ([before.alert_class] if before else [])
    alert_class = max(classes, key=severity)
    # The earliest confirmation its signals show, kept once found: workers may place the
    # signals of one fire in any order, and the answer must not depend on it.
    found = [
        t
        for t in (
            before.confirmed_at if before else None,
            _confirmation(signals, window_s=window_s),
        )
        if t is not None
    ]
    confirmed_at = min(found, default=None)
    return View(state=state, alert_class=alert_class, confirmed_at=confirmed_at)


def _confirmation(signals: Sequence[Signal], *, window_s: float) -> datetime | None:
    """When two devices' fire signals first stood within the window of each other: any step of
    one (raised, moved up) and any of the other, as the old positive alarm sequence paired each
    rule's rising edge."""
    fire = sorted(
        (t, s.device_id)
        for s in signals
        if _is_fire_signal(s.rule)
        for t in (s.steps or (s.raised_at,))
    )
    window = timedelta(seconds=window_s)
    start = 0
    for i, (t, device) in enumerate(fire):  # each step against those just before it
        while fire[start][0] < t - window:
            start += 1
        if any(d != device for _, d in fire[start:i]):
            return t
    return None


def _is_fire_signal(rule: str) -> bool:
    try:
        return Rule(rule) in FIRE_SIGNAL_RULES
    except ValueError:
        return False


def carried(before: View, after: View) -> Action | None:
    """What an incident's earlier acknowledgement or shelf does to signals that joined or moved
    up since: ``ACK`` or ``SHELVE`` them with it, or None (they stand and call the operator)."""
    raised = severity(after.alert_class) > severity(before.alert_class)
    confirmed = before.confirmed_at is None and after.confirmed_at is not None
    if raised or confirmed or after.state is not State.ACTIVE_UNACK:
        return None
    if before.state is State.ACTIVE_ACK:
        return Action.ACK
    if before.state is State.SHELVED and after.alert_class != AlertClass.FIRE:
        return Action.SHELVE
    return None


def acknowledged_episode(
    moved: Sequence[Signal],
    signals: Sequence[Signal],
    *,
    fresh: Collection[int],
    joined: Collection[int],
) -> list[Signal]:
    """Of the signals that joined or moved up now (``moved``, of the ``fresh`` ids) in an
    acknowledged incident, those its acknowledgement carries: each within ``EPISODE_GAP`` of
    the incident's activity before them or of one carried before it, in event time. From the
    first that is not, all stand: they are a new episode, and the incident calls the operator
    again.

    The activity before them is the steps (raises, moves up) of the incident's ``signals``
    that are not fresh, and the raising of a fresh one that had joined before (``joined``
    are those new to the incident now); not repeats, nor operators' comments, which say
    nothing of the fire. In event order, a stream cut into batches anywhere gives the same
    answer."""
    before = [t for s in signals if s.alert_id not in fresh for t in (s.steps or (s.raised_at,))]
    before += [s.raised_at for s in signals if s.alert_id in fresh and s.alert_id not in joined]
    if not before:
        return []
    carried: list[Signal] = []
    reference = max(before)
    for signal in sorted(moved, key=_latest_step):
        at = _latest_step(signal)
        if at > reference + EPISODE_GAP:
            break
        carried.append(signal)
        reference = max(reference, at)
    return carried


def _latest_step(signal: Signal) -> datetime:
    return signal.steps[-1] if signal.steps else signal.raised_at


def cascade(
    action: Action, signals: Sequence[Signal], *, incident: View
) -> list[tuple[Signal, State]]:
    """Each open signal the action applies to, with its next state. Raises IllegalTransition
    (naming what the incident allows) when it applies to none, or for a fire's shelving."""
    if action is Action.SHELVE and incident.alert_class == AlertClass.FIRE:
        raise IllegalTransition(
            incident.state,
            action,
            "an incident with a fire signal cannot be shelved: resolve it with a cause, or put "
            "the faulty device in maintenance",
        )
    if incident.state is State.RESOLVED and action is not Action.COMMENT:
        raise IllegalTransition(incident.state, action, "allowed: comment")
    if action is Action.COMMENT:
        return []
    steps = [(s, to) for s in signals if (to := _next(s, action)) is not None]
    if not steps:
        raise IllegalTransition(
            incident.state, action, "allowed: " + ", ".join(allowed(signals, incident=incident))
        )
    return steps


def allowed(signals: Sequence[Signal], *, incident: View) -> list[str]:
    """The operator actions the incident takes now, for a 409's message and the console."""
    if incident.state is State.RESOLVED:
        return [Action.COMMENT.value]
    out = {Action.COMMENT.value, Action.CLAIM.value}
    for action in OPERATOR_ACTIONS:
        if action is Action.SHELVE and incident.alert_class == AlertClass.FIRE:
            continue
        if any(_next(s, action) is not None for s in signals):
            out.add(action.value)
    return sorted(out)


def _next(signal: Signal, action: Action) -> State | None:
    if signal.state is State.RESOLVED:
        return None
    try:
        return next_state(
            AlertFacts(signal.state, signal.alert_class, signal.condition_active), action
        )
    except IllegalTransition:
        return None
