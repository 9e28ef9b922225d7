"""Incidents on the real PostgreSQL: signals placed by building and camera coverage, one alert
per condition family, confirmation, carried acknowledgement, and batch boundaries that change
nothing."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.rows import dict_row

from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from store.alerts import apply_decisions, seen_alerts
from store.incidents import refresh

T0 = datetime(2026, 1, 1, tzinfo=UTC)
WINDOW_S = 120.0


def ts(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@dataclass(frozen=True)
class Place:
    """Devices of one test: detectors in two buildings, and a camera covering the first."""

    site: str
    b1: str
    b2: str
    d1: str  # smoke detector in b1
    d2: str  # smoke detector in b1
    d3: str  # smoke detector in b2
    e1: str  # electrical monitor in b1
    cam: str  # thermal camera on b2, covering b1 and b2


def make_place(db: psycopg.Connection[Any]) -> Place:
    tag = uuid.uuid4().hex[:8]
    site, b1, b2 = f"s{tag}", f"b1-{tag}", f"b2-{tag}"
    p = Place(site, b1, b2, f"d1-{tag}", f"d2-{tag}", f"d3-{tag}", f"e1-{tag}", f"cam-{tag}")
    rows = [
        (p.d1, "smoke", b1, None),
        (p.d2, "smoke", b1, None),
        (p.d3, "smoke", b2, None),
        (p.e1, "electrical", b1, None),
        (p.cam, "thermal_camera", b2, f'{{"covers": ["{b1}", "{b2}"]}}'),
    ]
    # Registered buildings: the camera's covers name them (an export of this shared database
    # must import again).
    for building in (b1, b2):
        db.execute("INSERT INTO buildings (id) VALUES (%s)", (building,))
    for ident, kind, building, config in rows:
        db.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building, config)"
            " VALUES (%s, %s, %s, 3600, %s, coalesce(%s::jsonb, '{}'))",
            (ident, kind, site, building, config),
        )
    return p


@pytest.fixture()
def place(db: psycopg.Connection[Any]) -> Place:
    return make_place(db)


CLASS = {
    Rule.SMOKE_PREALARM: AlertClass.PREALARM,
    Rule.SMOKE_OBSCURATION: AlertClass.FIRE,
    Rule.SMOKE_ALARM: AlertClass.FIRE,
    Rule.HEAT_ANOMALY: AlertClass.PREALARM,
    Rule.HEAT_ROR: AlertClass.FIRE,
    Rule.HEAT_FIXED: AlertClass.FIRE,
    Rule.LEAKAGE: AlertClass.PREALARM,
    Rule.CAMERA_FIRE: AlertClass.FIRE,
    Rule.CAMERA_HOTSPOT: AlertClass.FIRE,
    Rule.LOW_BATTERY: AlertClass.TROUBLE,
}


def signal(
    p: Place,
    device: str,
    rule: Rule,
    at: float,
    change: Change = Change.RAISE,
    **kwargs: Any,
) -> Decision:
    building = {p.d1: p.b1, p.d2: p.b1, p.e1: p.b1, p.d3: p.b2, p.cam: p.b2}[device]
    return Decision(
        subject=device,
        rule=rule,
        alert_class=CLASS[rule],
        change=change,
        at=ts(at),
        value=60.0,
        received_at=ts(at),
        site=p.site,
        building=building,
        covers=(p.b1, p.b2) if device == p.cam else (),
        **kwargs,
    )


def apply(db: psycopg.Connection[Any], *decisions: Decision) -> None:
    with db.transaction():
        apply_decisions(db, decisions, window_s=WINDOW_S)


def incidents(db: psycopg.Connection[Any], p: Place) -> list[dict[str, Any]]:
    with db.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "SELECT i.*, (SELECT array_agg(a.subject || '/' || a.family ORDER BY a.subject,"
            " a.family) FROM alerts a WHERE a.incident_id = i.id) AS members"
            " FROM incidents i WHERE i.site = %s"
            # an incident merged into another is an empty shell (alerts.incidents.mergeable)
            " AND EXISTS (SELECT 1 FROM alerts a WHERE a.incident_id = i.id) ORDER BY i.id",
            (p.site,),
        )
        return cur.fetchall()


def incident_log(db: psycopg.Connection[Any], incident_id: int) -> list[str]:
    rows = db.execute(
        "SELECT action FROM incident_log WHERE incident_id = %s ORDER BY id", (incident_id,)
    ).fetchall()
    return [r[0] for r in rows]


def test_one_fire_is_one_incident_with_one_alert_per_device_and_family(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_PREALARM, 0), signal(p, p.d1, Rule.HEAT_ANOMALY, 5))
    apply(db, signal(p, p.d1, Rule.SMOKE_OBSCURATION, 20), signal(p, p.d1, Rule.HEAT_ROR, 25))
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 40), signal(p, p.d2, Rule.SMOKE_PREALARM, 45))
    apply(db, signal(p, p.d1, Rule.HEAT_FIXED, 60), signal(p, p.d2, Rule.SMOKE_ALARM, 70))
    [incident] = incidents(db, p)
    assert incident["members"] == [f"{p.d1}/heat", f"{p.d1}/smoke", f"{p.d2}/smoke"]
    assert (incident["building"], incident["class"], incident["state"]) == (
        p.b1,
        "fire",
        "active_unack",
    )
    assert incident["confirmed_at"] == ts(45)  # d2's pre-alarm 45 s after d1's
    rules = db.execute(
        "SELECT subject, rule, class FROM alerts WHERE incident_id = %s ORDER BY subject, rule",
        (incident["id"],),
    ).fetchall()
    assert rules == [
        (p.d1, "heat_fixed", "fire"),
        (p.d1, "smoke_alarm", "fire"),
        (p.d2, "smoke_alarm", "fire"),
    ]
    # Every step is still told to the ground truth, each rule at its own time.
    steps = {(s, r, t) for s, r, _, t in seen_alerts(db) if s in (p.d1, p.d2)}
    assert (p.d1, "heat_ror", ts(25)) in steps and (p.d1, "smoke_alarm", ts(40)) in steps
    assert ("building:" + p.b1, "confirmed_fire", "fire", ts(45)) in seen_alerts(db)
    log = incident_log(db, incident["id"])
    assert log[0] == "open" and "rise" in log and "confirm" in log


def test_a_latched_fire_never_moves_down(db: psycopg.Connection[Any], place: Place) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.HEAT_FIXED, 0))
    apply(
        db, signal(p, p.d1, Rule.HEAT_ANOMALY, 5), signal(p, p.d1, Rule.HEAT_FIXED, 9, Change.CLEAR)
    )
    apply(db, signal(p, p.d1, Rule.HEAT_ANOMALY, 30, Change.CLEAR))
    row = db.execute(
        "SELECT rule, class, state, condition_active FROM alerts WHERE subject = %s", (p.d1,)
    ).fetchone()
    assert row == ("heat_fixed", "fire", "active_unack", False)
    [incident] = incidents(db, p)
    assert (incident["class"], incident["state"]) == ("fire", "active_unack")


def test_two_buildings_are_two_incidents(db: psycopg.Connection[Any], place: Place) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 0), signal(p, p.d3, Rule.SMOKE_ALARM, 1))
    found = incidents(db, p)
    assert sorted(i["building"] for i in found) == [p.b1, p.b2]
    assert all(i["confirmed_at"] is None for i in found)  # one device each


def test_camera_first_then_detector_is_one_confirmed_incident(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.cam, Rule.CAMERA_HOTSPOT, 0, detail={"bbox": [1, 2, 3, 4]}))
    [camera] = incidents(db, p)
    assert (camera["building"], camera["origin"], camera["position"]) == (
        None,
        p.cam,
        {"bbox": [1, 2, 3, 4]},
    )
    assert sorted(camera["covers"]) == sorted([p.b1, p.b2])
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 30))
    [incident] = incidents(db, p)
    assert incident["id"] == camera["id"]
    assert incident["building"] == p.b1
    assert incident["confirmed_at"] == ts(30)
    # A second building's detector opens its own: the camera incident has its building now.
    apply(db, signal(p, p.d3, Rule.SMOKE_ALARM, 40))
    assert len(incidents(db, p)) == 2


def test_detector_first_then_camera_joins_its_building(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 0))
    apply(db, signal(p, p.cam, Rule.CAMERA_FIRE, 50))
    [incident] = incidents(db, p)
    assert incident["building"] == p.b1 and incident["confirmed_at"] == ts(50)
    assert incident["members"] == [f"{p.cam}/camera_heat", f"{p.d1}/smoke"]


def test_a_camera_beyond_the_window_opens_its_own(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_PREALARM, 0))
    apply(db, signal(p, p.cam, Rule.CAMERA_FIRE, 600))
    found = incidents(db, p)
    assert [(i["building"], i["origin"]) for i in found] == [(p.b1, None), (None, p.cam)]


def test_trouble_and_suppressed_alerts_make_no_incident(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(
        db,
        signal(p, p.d1, Rule.LOW_BATTERY, 0),
        signal(p, p.d2, Rule.SMOKE_ALARM, 1, suppressed="maintenance"),
    )
    assert incidents(db, p) == []


def ack_all(db: psycopg.Connection[Any], incident_id: int) -> None:
    """What an operator's acknowledgement leaves behind (store.incident_actions does it for
    the API): the signals acknowledged, the incident brought up to date."""
    with db.transaction(), db.cursor(row_factory=dict_row) as cur:
        cur.execute(
            "UPDATE alerts SET state = 'active_ack', acked_by = 'op1', acked_at = now()"
            " WHERE incident_id = %s AND state = 'active_unack'",
            (incident_id,),
        )
        cur.execute("UPDATE incidents SET acked_by = 'op1' WHERE id = %s", (incident_id,))
        done = refresh(cur, [incident_id], actor="op1", window_s=WINDOW_S, action="ack")
        done.write_logs(cur, actor="op1")


def test_a_signal_joining_an_acknowledged_incident_stays_quiet_unless_it_raises_the_class(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.HEAT_ANOMALY, 0))
    [incident] = incidents(db, p)
    ack_all(db, incident["id"])
    assert incidents(db, p)[0]["state"] == "active_ack"
    # Leakage is no fire signal: it neither confirms nor raises the class. It is acknowledged
    # with the incident, naming who.
    apply(db, signal(p, p.e1, Rule.LEAKAGE, 10))
    assert incidents(db, p)[0]["state"] == "active_ack"
    state, detail = db.execute(
        "SELECT a.state, l.detail FROM alerts a JOIN alert_log l ON l.alert_id = a.id"
        " WHERE a.subject = %s AND l.action = 'ack'",
        (p.e1,),
    ).fetchone() or (None, None)
    assert state == "active_ack" and detail == {"incident": incident["id"], "with": "op1"}
    # The detector's heat moving up to a fire raises the incident's class: the operator is
    # called again.
    apply(db, signal(p, p.d1, Rule.HEAT_FIXED, 20))
    [after] = incidents(db, p)
    assert (after["class"], after["state"]) == ("fire", "active_unack")
    assert incident_log(db, incident["id"])[-1] == "rise"


def test_a_fire_long_after_an_acknowledged_fire_calls_the_operator_again(
    db: psycopg.Connection[Any], place: Place
) -> None:
    """An acknowledged fire left open (latched, nobody resolved it): another detector's fire
    in the same building minutes later is the same episode and stays acknowledged; one two
    hours later is a new episode, unconfirmed and of no higher class, and still calls."""
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 0))
    [incident] = incidents(db, p)
    ack_all(db, incident["id"])
    apply(db, signal(p, p.e1, Rule.LEAKAGE, 600))  # ten minutes on: the same episode
    assert incidents(db, p)[0]["state"] == "active_ack"
    apply(db, signal(p, p.d2, Rule.SMOKE_ALARM, 600 + 2 * 3600))
    [after] = incidents(db, p)
    assert (after["id"], after["class"], after["state"]) == (incident["id"], "fire", "active_unack")
    assert after["confirmed_at"] is None
    state = db.execute(
        "SELECT state FROM alerts WHERE subject = %s AND site = %s", (p.d2, p.site)
    ).fetchone()
    assert state == ("active_unack",)


@pytest.mark.parametrize("cut", [True, False], ids=["two batches", "one batch"])
def test_repeats_and_comments_do_not_stretch_an_episode(
    db: psycopg.Connection[Any], place: Place, cut: bool
) -> None:
    """A detector stuck in alarm repeats for 45 min after its acknowledgement, and the operator
    comments: neither is a new step of the fire, so another room's fire at 50 min (more than
    30 min after the last raise) calls again, however the stream is cut."""
    p = place
    minute = 60.0
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 0))
    [incident] = incidents(db, p)
    ack_all(db, incident["id"])
    repeats = [signal(p, p.d1, Rule.SMOKE_ALARM, m * minute, Change.REPEAT) for m in (10, 29, 45)]
    apply(db, *repeats)
    with db.transaction(), db.cursor(row_factory=dict_row) as cur:
        refresh(cur, [incident["id"]], actor="op1", window_s=WINDOW_S, action="comment")
    later = [
        signal(p, p.e1, Rule.LEAKAGE, 20 * minute),  # the same episode: carried
        signal(p, p.d2, Rule.SMOKE_ALARM, 51 * minute),  # 31 min after e1: a new one
    ]
    if cut:
        apply(db, later[0])
        apply(db, later[1])
    else:
        apply(db, *later)
    states = dict(
        db.execute(
            "SELECT subject, state FROM alerts WHERE site = %s AND subject IN (%s, %s)",
            (p.site, p.e1, p.d2),
        ).fetchall()
    )
    assert states == {p.e1: "active_ack", p.d2: "active_unack"}
    assert incidents(db, p)[0]["state"] == "active_unack"


# -- batch boundaries --------------------------------------------------------------------------

STEPS = st.lists(
    st.tuples(
        st.sampled_from(["d1", "d2", "d3", "cam"]),
        st.sampled_from(
            [Rule.SMOKE_PREALARM, Rule.SMOKE_ALARM, Rule.HEAT_ANOMALY, Rule.HEAT_FIXED]
        ),
        st.sampled_from([Change.RAISE, Change.RAISE, Change.CLEAR]),
    ),
    min_size=1,
    max_size=12,
)


def play(
    db: psycopg.Connection[Any], steps: Sequence[tuple[str, Rule, Change]], cuts: set[int]
) -> list[Any]:
    """Plays the steps, 20 s apart, cut into batches after each index in ``cuts``; returns the
    incidents as what they group."""
    p = make_place(db)
    batch: list[Decision] = []
    camera_rule = {Rule.HEAT_FIXED: Rule.CAMERA_FIRE, Rule.SMOKE_ALARM: Rule.CAMERA_HOTSPOT}
    for n, (who, drawn, change) in enumerate(steps):
        device = getattr(p, who)
        rule = camera_rule.get(drawn) if who == "cam" else drawn
        if rule is None:
            continue
        batch.append(signal(p, device, rule, 20.0 * n, change))
        if n in cuts:
            apply(db, *batch)
            batch = []
    if batch:
        apply(db, *batch)
    names = {p.d1: "d1", p.d2: "d2", p.d3: "d3", p.cam: "cam", p.b1: "b1", p.b2: "b2", None: None}
    return [
        (
            names[i["building"]],
            i["class"],
            i["state"],
            i["confirmed_at"],
            i["opened_at"],
            [f"{names[m.split('/')[0]]}/{m.split('/')[1]}" for m in i["members"] or []],
        )
        for i in incidents(db, p)
    ]


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(steps=STEPS, cuts=st.sets(st.integers(0, 11), max_size=6))
def test_cutting_the_stream_into_batches_anywhere_gives_the_same_incidents(
    db: psycopg.Connection[Any], steps: list[tuple[str, Rule, Change]], cuts: set[int]
) -> None:
    assert play(db, steps, cuts) == play(db, steps, set())


def test_a_live_rule_on_an_alert_opened_in_maintenance_is_an_alert_of_its_own(
    db: psycopg.Connection[Any], place: Place
) -> None:
    p = place
    apply(db, signal(p, p.d1, Rule.SMOKE_PREALARM, 0, suppressed="maintenance"))
    assert incidents(db, p) == []
    apply(db, signal(p, p.d1, Rule.SMOKE_ALARM, 30))  # maintenance over, the detector alarms
    rows = db.execute(
        "SELECT rule, state, cause, incident_id IS NOT NULL FROM alerts WHERE subject = %s"
        " ORDER BY id",
        (p.d1,),
    ).fetchall()
    assert rows == [
        ("smoke_prealarm", "resolved", "maintenance", False),
        ("smoke_alarm", "active_unack", None, True),
    ]
    [incident] = incidents(db, p)
    assert (incident["class"], incident["state"]) == ("fire", "active_unack")


def test_a_camera_incident_and_its_buildings_merge_whichever_came_first(
    db: psycopg.Connection[Any], place: Place
) -> None:
    """Two workers may place a camera's early hot spot after the detector's later alarm was
    already placed: the camera opens an incident of its own, and the detector's next step
    brings the two together."""
    p = place
    apply(db, signal(p, p.d3, Rule.SMOKE_PREALARM, 100))  # b2's incident, placed first
    apply(db, signal(p, p.cam, Rule.CAMERA_HOTSPOT, 0))  # the camera saw it 100 s earlier
    [one] = incidents(db, p)
    assert one["members"] == [f"{p.cam}/camera_heat", f"{p.d3}/smoke"]
    # The other order by hand: a camera incident, then a building's own opened beside it
    # (beyond the window), then a rise of the building's signal within the camera's window.
    q = make_place(db)
    apply(db, signal(q, q.cam, Rule.CAMERA_HOTSPOT, 300))
    apply(db, signal(q, q.d3, Rule.SMOKE_PREALARM, 0))
    assert len(incidents(db, q)) == 2
    apply(db, signal(q, q.d3, Rule.SMOKE_ALARM, 250))
    [merged] = incidents(db, q)
    assert merged["building"] == q.b2 and merged["confirmed_at"] is not None
    log = db.execute(
        "SELECT action, detail->>'into' FROM incident_log l JOIN incidents i"
        " ON i.id = l.incident_id WHERE i.site = %s AND i.building IS NULL",
        (q.site,),
    ).fetchall()
    assert log[-1] == ("merge", str(merged["id"]))
