"""Properties of the shift report's arithmetic (alerts/shift_report.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from alerts.shift_report import CLASS_ORDER, durations, shift_report

T0 = datetime(2026, 1, 1, tzinfo=UTC)
PAIRS = st.lists(
    st.tuples(st.integers(0, 10_000), st.none() | st.integers(0, 10_000)).map(
        lambda p: (
            T0 + timedelta(seconds=p[0]),
            None if p[1] is None else T0 + timedelta(seconds=p[0] + p[1]),
        )
    )
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
    st.lists(
        st.tuples(
            st.sampled_from(CLASS_ORDER),
            st.sampled_from(["real_fire", "false_alarm", "test", "maintenance", "other"]),
        )
    )
)
def test_the_false_alarm_ratio_counts_only_verdicts_on_fires_and_prealarms(
    verdicts: list[tuple[str, str]],
) -> None:
    resolved = [
        {"class": c, "cause": cause, "created_at": T0, "resolved_at": T0} for c, cause in verdicts
    ]
    got = shift_report(
        site="s", start=T0, end=T0, raised=[], resolved=resolved, handover=[], devices=[], noisy=10
    )["false_alarm_ratio"]
    judged = [
        cause
        for c, cause in verdicts
        if c in ("fire", "prealarm") and cause in ("real_fire", "false_alarm")
    ]
    if not judged:
        assert got is None
    else:
        assert got == round(judged.count("false_alarm") / len(judged), 3)
