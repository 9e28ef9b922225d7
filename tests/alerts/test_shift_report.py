"""Properties of the shift report's arithmetic (alerts/shift_report.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from alerts.shift_report import (
    CLASS_ORDER,
    INCIDENT_CLASS_ORDER,
    Rows,
    durations,
    shift_report,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CAUSES = ["real_fire", "false_alarm", "test", "maintenance", "other"]
PAIRS = st.lists(
    st.tuples(st.integers(0, 10_000), st.none() | st.integers(0, 10_000)).map(
        lambda p: (
            T0 + timedelta(seconds=p[0]),
            None if p[1] is None else T0 + timedelta(seconds=p[0] + p[1]),
        )
    )
)
NOTHING = Rows(raised=[], resolved=[], handover=[])


def _report(*, incidents: Rows = NOTHING, signals: Rows = NOTHING) -> dict[str, Any]:
    return shift_report(
        site="s", start=T0, end=T0, incidents=incidents, signals=signals, devices=[], noisy=10
    )


@given(PAIRS)
def test_durations_count_the_done_and_the_median_is_no_worse_than_the_worst(
    pairs: list[tuple[datetime, datetime | None]],
) -> None:
    found = durations(pairs)
    assert found["count"] == sum(1 for _, done in pairs if done is not None)
    if found["count"]:
        assert 0 <= found["median_s"] <= found["worst_s"]
    else:
        assert found["median_s"] is found["worst_s"] is None


@given(
    st.lists(st.tuples(st.sampled_from(CLASS_ORDER), st.sampled_from(CAUSES))),
    st.lists(st.tuples(st.sampled_from(INCIDENT_CLASS_ORDER), st.sampled_from(CAUSES))),
)
def test_the_false_alarm_ratio_counts_only_verdicts_on_fires_and_prealarms_each_kind_apart(
    signal_verdicts: list[tuple[str, str]], incident_verdicts: list[tuple[str, str]]
) -> None:
    def resolved(verdicts: list[tuple[str, str]]) -> Rows:
        rows = [
            {"class": c, "cause": cause, "created_at": T0, "resolved_at": T0}
            for c, cause in verdicts
        ]
        return Rows(raised=[], resolved=rows, handover=[])

    report = _report(incidents=resolved(incident_verdicts), signals=resolved(signal_verdicts))
    for kind, verdicts in (("signals", signal_verdicts), ("incidents", incident_verdicts)):
        got = report[kind]["false_alarm_ratio"]
        judged = [
            cause
            for c, cause in verdicts
            if c in ("fire", "prealarm") and cause in ("real_fire", "false_alarm")
        ]
        if not judged:
            assert got is None
        else:
            assert got == round(judged.count("false_alarm") / len(judged), 3)
        on_fires = [cause for c, cause in verdicts if c in ("fire", "prealarm")]
        assert sum(report[kind]["verdicts"].values()) == len(on_fires)


INCIDENT = st.fixed_dictionaries(
    {
        "class": st.sampled_from(INCIDENT_CLASS_ORDER),
        "confirmed": st.booleans(),
        "ack_s": st.none() | st.integers(0, 3_600),
    }
)


@given(st.lists(INCIDENT), st.lists(st.sampled_from(CLASS_ORDER)))
def test_incidents_and_signals_are_counted_apart(
    incidents: list[dict[str, Any]], signal_classes: list[str]
) -> None:
    raised = [
        {
            "class": i["class"],
            "confirmed_at": T0 if i["confirmed"] else None,
            "created_at": T0,
            "acked_at": None if i["ack_s"] is None else T0 + timedelta(seconds=i["ack_s"]),
        }
        for i in incidents
    ]
    signals = [
        {
            "class": c,
            "subject": "d",
            "count": 1,
            "escalation_level": 0,
            "created_at": T0,
            "acked_at": None,
        }
        for c in signal_classes
    ]
    report = _report(
        incidents=Rows(raised=raised, resolved=[], handover=[]),
        signals=Rows(raised=signals, resolved=[], handover=[]),
    )
    found = report["incidents"]
    assert found["total"] == len(incidents) == sum(found["by_class"].values())
    assert list(found["by_class"]) == ["fire", "prealarm", "supervisory"]  # no trouble incidents
    assert found["confirmed"] == sum(1 for i in incidents if i["confirmed"])
    for c in INCIDENT_CLASS_ORDER:
        acks = [i["ack_s"] for i in incidents if i["class"] == c and i["ack_s"] is not None]
        assert found["time_to_ack"][c]["count"] == len(acks)
        assert found["time_to_ack"][c]["worst_s"] == (max(acks) if acks else None)
    assert report["signals"]["total"] == len(signal_classes)
    assert report["signals"]["by_class"] == {c: signal_classes.count(c) for c in CLASS_ORDER}
    assert report["noisiest"] == ([{"subject": "d", "alerts": len(signals)}] if signals else [])
