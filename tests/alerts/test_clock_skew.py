"""The engine on events re-stamped for a wrong device clock: the alarm is judged at its arrival
and flagged, and the device gets a clock_skew trouble that clears once its clock is back in the
window. Pure: no database, no broker."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel
from tests.alerts.test_rules import SITE, Batch, device, edges, engine_with, reading, run, ts
from tests.alerts.test_rules import status as status_message

HOUR = 3600.0
_seq = iter(range(10**9, 2 * 10**9))


def skewed(
    device_id: str,
    t: float,
    event_type: str = "alarm",
    *,
    skew_s: float = HOUR,
    detail: dict[str, Any] | None = None,
) -> tuple[Decoded, datetime]:
    """An event that arrived at ``t`` from a device whose clock says ``t + skew_s``."""
    at = ts(t)
    message = Decoded(
        SITE,
        device_id,
        Channel.EVENT,
        at,
        next(_seq),
        event_type=event_type,
        detail=detail,
        device_ts=at + timedelta(seconds=skew_s),
    )
    return message, at


def clock(decisions: list[Decision]) -> list[tuple[Change, datetime]]:
    return [(d.change, d.at) for d in decisions if d.rule is Rule.CLOCK_SKEW]


@pytest.mark.parametrize("skew_s", [HOUR, -8 * 86400.0])
def test_a_skewed_alarm_raises_fire_at_its_arrival_with_the_flag_and_a_clock_trouble(
    skew_s: float,
) -> None:
    engine = engine_with(device("S1"))
    decisions = run(engine, [skewed("S1", 100, skew_s=skew_s, detail={"chamber": "optical"})])
    flag = {"device_ts": (ts(100) + timedelta(seconds=skew_s)).isoformat(), "skew_s": skew_s}
    (fire,) = edges(decisions, Rule.SMOKE_ALARM)
    assert (fire.alert_class, fire.at, fire.received_at) == (AlertClass.FIRE, ts(100), ts(100))
    assert fire.detail == {"event": "alarm", "chamber": "optical", "clock_skew": flag}
    (trouble,) = edges(decisions, Rule.CLOCK_SKEW)
    assert (trouble.alert_class, trouble.subject, trouble.at) == (AlertClass.TROUBLE, "S1", ts(100))
    assert trouble.value == abs(skew_s) and trouble.detail == flag


@pytest.mark.parametrize(
    ("kind", "event_type", "rule", "alert_class"),
    [
        (Kind.ELECTRICAL, "alarm", Rule.ELECTRICAL_ALARM, AlertClass.PREALARM),
        (Kind.THERMAL_CAMERA, "fire_detected", Rule.CAMERA_FIRE, AlertClass.FIRE),
        (Kind.THERMAL_CAMERA, "smoke_detected", Rule.CAMERA_SMOKE, AlertClass.PREALARM),
        (Kind.SMOKE, "tamper", Rule.TAMPER, AlertClass.SUPERVISORY),
    ],
)
def test_every_fire_and_tamper_event_is_judged_and_flagged(
    kind: Kind, event_type: str, rule: Rule, alert_class: AlertClass
) -> None:
    engine = engine_with(device("D1", kind))
    decisions = run(engine, [skewed("D1", 0, event_type)])
    (alert,) = edges(decisions, rule)
    assert alert.alert_class is alert_class and alert.detail["clock_skew"]["skew_s"] == HOUR
    assert clock(decisions) == [(Change.RAISE, ts(0))]


def test_the_clock_trouble_repeats_then_clears_at_the_first_message_in_the_window() -> None:
    engine = engine_with(device("S1"), device("S2"))
    assert clock(run(engine, [skewed("S1", 0)])) == [(Change.RAISE, ts(0))]
    assert clock(run(engine, [skewed("S1", 30, skew_s=2 * HOUR)])) == [(Change.REPEAT, ts(30))]
    assert clock(run(engine, [reading("S2", 40, temperature_c=20.0)])) == []  # another device
    back = run(engine, [status_message("S1", 60, 90.0), reading("S1", 61, temperature_c=20.0)])
    assert clock(back) == [(Change.CLEAR, ts(60))]
    assert not edges(back, Rule.SMOKE_ALARM, Change.CLEAR)  # the fire alarm itself latches
    assert clock(run(engine, [reading("S1", 70, temperature_c=20.0)])) == []


def test_within_a_batch_the_order_of_arrival_decides() -> None:
    engine = engine_with(device("S1"))
    fixed = run(engine, [skewed("S1", 0), reading("S1", 1, temperature_c=20.0)])
    assert clock(fixed) == [(Change.RAISE, ts(0)), (Change.CLEAR, ts(1))]
    broke = run(engine, [reading("S1", 2, temperature_c=20.0), skewed("S1", 3)])
    assert clock(broke) == [(Change.RAISE, ts(3))]


def test_a_device_cannot_forge_or_hide_the_flag() -> None:
    engine = engine_with(device("S1"), device("S2"))
    forged = {"clock_skew": {"device_ts": "2030-01-01T00:00:00+00:00", "skew_s": 1}}
    in_window = Decoded(SITE, "S1", Channel.EVENT, ts(1), 1, event_type="tamper", detail=forged)
    decisions = run(engine, [(in_window, ts(1)), skewed("S2", 2, detail=forged)])
    (tamper,) = edges(decisions, Rule.TAMPER)
    assert "clock_skew" not in tamper.detail
    (fire,) = edges(decisions, Rule.SMOKE_ALARM)
    assert fire.detail["clock_skew"]["skew_s"] == HOUR
    assert [d.subject for d in edges(decisions, Rule.CLOCK_SKEW)] == ["S2"]


def test_a_device_in_maintenance_gets_its_clock_trouble_suppressed() -> None:
    engine = engine_with(device("S1", status="maintenance"))
    (trouble,) = edges(run(engine, [skewed("S1", 0)]), Rule.CLOCK_SKEW)
    assert trouble.suppressed == "maintenance"


def test_a_rolled_back_batch_is_judged_again_the_same() -> None:
    engine = engine_with(device("S1"))
    batch = [skewed("S1", 0), reading("S1", 1, temperature_c=20.0), skewed("S1", 2)]
    first = engine.evaluate(batch)
    engine.rollback()
    assert engine.evaluate(batch) == first
    engine.commit()
    assert clock(first) == [(Change.RAISE, ts(0)), (Change.CLEAR, ts(1)), (Change.RAISE, ts(2))]


def test_after_a_restart_an_open_clock_trouble_still_clears() -> None:
    engine = engine_with(device("S1"))
    engine.remember_open([("S1", Rule.CLOCK_SKEW.value)])
    assert clock(run(engine, [reading("S1", 0, temperature_c=20.0)])) == [(Change.CLEAR, ts(0))]


# -- properties ----------------------------------------------------------------------------


@st.composite
def clock_streams(draw: st.DrawFn) -> tuple[list[bool], list[int]]:
    """Which of a device's messages arrive re-stamped, and where the stream is cut in batches."""
    flags = draw(st.lists(st.booleans(), min_size=1, max_size=30))
    cuts = sorted(draw(st.sets(st.integers(1, max(1, len(flags) - 1)), max_size=6)))
    return flags, cuts


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(stream=clock_streams())
def test_the_clock_trouble_follows_the_messages_whatever_the_batches(
    stream: tuple[list[bool], list[int]],
) -> None:
    flags, cuts = stream
    gap = 61.0  # beyond the chatter window: chattering is its own test (test_rules.py)
    messages: Batch = [
        skewed("S1", i * gap) if flag else reading("S1", i * gap, temperature_c=20.0)
        for i, flag in enumerate(flags)
    ]
    whole = clock(run(engine_with(device("S1")), messages))
    engine: Engine = engine_with(device("S1"))
    parts: list[tuple[Change, datetime]] = []
    for start, stop in zip([0, *cuts], [*cuts, len(messages)], strict=True):
        parts += clock(run(engine, messages[start:stop]))
    assert parts == whole
    # Raises and clears alternate, starting with a raise; a skewed message while raised
    # repeats; the last message says whether the trouble is still open.
    expected: list[tuple[Change, datetime]] = []
    active = False
    for i, flag in enumerate(flags):
        if flag:
            expected.append((Change.REPEAT if active else Change.RAISE, ts(i * gap)))
        elif active:
            expected.append((Change.CLEAR, ts(i * gap)))
        active = flag
    assert whole == expected
