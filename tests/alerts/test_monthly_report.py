"""Properties of the monthly report's arithmetic (alerts/monthly_report.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from statistics import median
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alerts.monthly_report import (
    FIELD_VERDICTS,
    VERDICTS,
    check_month,
    month_window,
    monthly_report,
    verdict_of,
)
from alerts.shift_report import INCIDENT_CLASS_ORDER

BEIJING = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 1, tzinfo=BEIJING)
OPERATOR_CAUSES = ["real_fire", "false_alarm", "test", "maintenance", "other"]
FIELD_CAUSES = {"real_fire": ["ebike_charging", "electrical"], "false_alarm": ["cooking_fumes"]}
MODELS = [("smoke", "smoke"), ("smoke", "heat"), ("electrical", "electrical"), ("smoke", None)]
BUILDINGS = ["B-001", "B-002", "B-003", None]

LATER = st.none() | st.integers(0, 7200).map(lambda s: timedelta(seconds=s))


@st.composite
def incident_rows(draw: st.DrawFn, ident: int) -> dict[str, Any]:
    created = T0 + timedelta(seconds=draw(st.integers(0, 86_400 * 29)))

    def after() -> datetime | None:
        delay = draw(LATER)
        return None if delay is None else created + delay

    field = draw(st.none() | st.sampled_from(FIELD_VERDICTS))
    building = draw(st.sampled_from(BUILDINGS))
    return {
        "id": ident,
        "class": draw(st.sampled_from(INCIDENT_CLASS_ORDER)),
        "building": building,
        "building_name": None if building is None else f"{building} 号楼",
        "origin": "TC-01" if building is None else None,
        "created_at": created,
        "confirmed_at": draw(st.none() | st.just(created)),
        "cause": draw(st.none() | st.sampled_from(OPERATOR_CAUSES)),
        "resolved_by": draw(st.none() | st.sampled_from(["op", "engine", "migration"])),
        "field_verdict": field,
        "field_cause": draw(st.sampled_from([None, *FIELD_CAUSES.get(field or "", [])])),
        "call_119_confirmed": draw(st.none() | st.booleans()),
        "acked_at": after(),
        "dispatched_at": after(),
        "arrived_at": after(),
        "devices": [
            {"kind": k, "model": m}
            for k, m in draw(st.lists(st.sampled_from(MODELS), max_size=3, unique=True))
        ],
    }


INCIDENTS = st.integers(0, 25).flatmap(
    lambda n: st.tuples(*(incident_rows(i + 1) for i in range(n))).map(list)
)


@st.composite
def dispatch_rows(draw: st.DrawFn) -> dict[str, Any]:
    verdict = draw(st.none() | st.sampled_from(FIELD_VERDICTS))
    accepted = draw(st.none() | st.just(T0))
    return {
        "automatic": draw(st.booleans()),
        "escalated": draw(st.booleans()),
        "accepted_at": accepted,
        "arrived_at": draw(st.none() | st.just(T0)) if accepted else None,
        "exhausted_at": None if accepted else draw(st.none() | st.just(T0)),
        "revoked_at": draw(st.none() | st.just(T0)),
        "verdict": verdict,
        "cause": draw(st.sampled_from([None, *FIELD_CAUSES.get(verdict or "", [])])),
    }


def _report(
    incidents: list[dict[str, Any]], dispatches: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    start, end = month_window("2026-11", BEIJING)
    return monthly_report(
        site="zilai",
        month="2026-11",
        start=start,
        end=end,
        incidents=incidents,
        dispatches=dispatches or [],
    )


def _final(incident: dict[str, Any]) -> str:
    """The verdict told the long way: a person's resolution, else the field's, else none."""
    if incident["resolved_by"] == "op" and incident["cause"] is not None:
        return str(incident["cause"])
    return str(incident["field_verdict"] or "unjudged")


def _is_judged(incident: dict[str, Any]) -> bool:
    return incident["class"] in ("fire", "prealarm") and _final(incident) in (
        "real_fire",
        "false_alarm",
    )


@given(INCIDENTS)
def test_every_incident_is_counted_once_by_class_and_once_by_verdict(
    incidents: list[dict[str, Any]],
) -> None:
    found = _report(incidents)["incidents"]
    assert found["total"] == len(incidents) == sum(found["by_class"].values())
    for c, row in found["by_class_and_verdict"].items():
        assert list(row) == list(VERDICTS)
        assert sum(row.values()) == found["by_class"][c]
        for verdict, n in row.items():
            assert n == sum(1 for i in incidents if i["class"] == c and _final(i) == verdict)
    assert found["confirmed"] == sum(1 for i in incidents if i["confirmed_at"] is not None)


@given(INCIDENTS)
def test_the_false_alarm_ratio_adds_up_overall_by_building_and_by_model(
    incidents: list[dict[str, Any]],
) -> None:
    found = _report(incidents)["false_alarms"]
    judged = [i for i in incidents if _is_judged(i)]
    false = [i for i in judged if _final(i) == "false_alarm"]
    assert (found["judged"], found["false_alarms"]) == (len(judged), len(false))
    if judged:
        assert found["false_alarm_ratio"] == round(len(false) / len(judged), 3)
    else:
        assert found["false_alarm_ratio"] is None
    # Each incident has one place: the buildings' figures add up to the whole.
    places = found["by_building"]
    assert sum(b["incidents"] for b in places) == len(incidents)
    assert sum(b["judged"] for b in places) == len(judged)
    assert sum(b["false_alarms"] for b in places) == len(false)
    # A model counts each judged incident it took part in once.
    for m in found["by_model"]:
        with_model = [
            i for i in incidents if {"kind": m["kind"], "model": m["model"]} in i["devices"]
        ]
        assert m["incidents"] == len(with_model)
        assert m["judged"] == sum(1 for i in with_model if _is_judged(i))
        assert m["false_alarms"] == sum(
            1 for i in with_model if _is_judged(i) and _final(i) == "false_alarm"
        )
    for row in (*places, *found["by_model"]):
        assert 0 <= row["false_alarms"] <= row["judged"] <= row["incidents"]
    order = [(-r["false_alarms"], -r["judged"]) for r in places]
    assert order == sorted(order), "most false alarms first"


@given(INCIDENTS)
def test_response_times_are_the_median_and_worst_of_those_that_happened(
    incidents: list[dict[str, Any]],
) -> None:
    times = _report(incidents)["response_times"]
    for name, column in (
        ("acknowledge", "acked_at"),
        ("dispatch", "dispatched_at"),
        ("arrive", "arrived_at"),
    ):
        seconds = [
            (i[column] - i["created_at"]).total_seconds()
            for i in incidents
            if i[column] is not None
        ]
        assert times[name]["count"] == len(seconds)
        if seconds:
            assert times[name]["median_s"] == round(median(seconds), 1)
            assert times[name]["worst_s"] == round(max(seconds), 1)
        else:
            assert times[name]["median_s"] is times[name]["worst_s"] is None


@given(INCIDENTS)
def test_real_fires_are_the_incidents_judged_real_fires_with_times_on_the_site_clock(
    incidents: list[dict[str, Any]],
) -> None:
    found = _report(incidents)["real_fires"]
    fires = [i for i in incidents if _final(i) == "real_fire"]
    assert found["count"] == len(fires)
    assert [f["id"] for f in found["incidents"]] == sorted(i["id"] for i in fires)
    assert found["called_119"] == sum(1 for i in fires if i["call_119_confirmed"])
    for f in found["incidents"]:
        assert f["created_at"].utcoffset() == timedelta(hours=8)
        assert f["judged_by"] in ("operator", "field")


@given(st.lists(dispatch_rows(), max_size=30))
def test_dispatches_are_counted_by_who_sent_them_and_what_came_back(
    dispatches: list[dict[str, Any]],
) -> None:
    found = _report([], dispatches)["dispatches"]
    assert found["total"] == len(dispatches) == found["automatic"] + found["by_operator"]
    assert found["arrived"] <= found["accepted"] <= found["total"]
    assert found["unanswered"] + found["accepted"] <= found["total"]
    assert sum(found["verdicts"].values()) == sum(1 for d in dispatches if d["verdict"])
    for verdict, causes in found["causes"].items():
        assert sum(causes.values()) == found["verdicts"][verdict]


def test_an_operators_verdict_outweighs_the_fields_and_the_engines_counts_for_nothing() -> None:
    base = {"field_verdict": "false_alarm", "field_cause": "cooking_fumes"}
    assert verdict_of({**base, "cause": "real_fire", "resolved_by": "op"}).verdict == "real_fire"
    # The field's cause goes with its own verdict only.
    assert verdict_of({**base, "cause": "real_fire", "resolved_by": "op"}).cause is None
    engine = verdict_of({**base, "cause": "other", "resolved_by": "engine"})
    assert (engine.verdict, engine.cause, engine.by) == ("false_alarm", "cooking_fumes", "field")
    agreed = verdict_of({**base, "cause": "false_alarm", "resolved_by": "op"})
    assert (agreed.verdict, agreed.cause, agreed.by) == ("false_alarm", "cooking_fumes", "operator")
    none = verdict_of(
        {"field_verdict": None, "field_cause": None, "cause": None, "resolved_by": None}
    )
    assert (none.verdict, none.by) == ("unjudged", None)


def test_an_empty_month_is_all_zeros() -> None:
    found = _report([])
    assert found["incidents"]["total"] == found["dispatches"]["total"] == 0
    assert all(
        n == 0 for row in found["incidents"]["by_class_and_verdict"].values() for n in row.values()
    )
    assert found["false_alarms"]["false_alarm_ratio"] is None
    assert found["false_alarms"]["by_model"] == found["false_alarms"]["by_building"] == []
    assert found["real_fires"] == {"count": 0, "called_119": 0, "incidents": []}
    assert all(t["count"] == 0 for t in found["response_times"].values())


@given(st.integers(2000, 2099), st.integers(1, 12))
def test_months_are_whole_days_on_the_site_clock_and_follow_each_other(
    year: int, number: int
) -> None:
    start, end = month_window(f"{year}-{number:02d}", BEIJING)
    assert (start.day, start.hour, start.minute) == (1, 0, 0)
    assert start.utcoffset() == timedelta(hours=8)
    assert 28 <= (end - start).days <= 31
    after = f"{year + 1}-01" if number == 12 else f"{year}-{number + 1:02d}"
    if year < 2099 or number < 12:
        assert month_window(after, BEIJING)[0] == end
    # Beijing's month starts eight hours before UTC's.
    assert start.astimezone(UTC) == datetime(year, number, 1, tzinfo=UTC) - timedelta(hours=8)


@pytest.mark.parametrize(
    "month",
    [
        "2026-13",
        "2026-00",
        "26-11",
        "2026-1",
        "1999-12",
        "2100-01",
        "",
        "2026-11-01",
        "\uff12\uff10\uff12\uff16-11",  # full-width digits
    ],
)
def test_a_month_not_yyyy_mm_is_refused_saying_what_works(month: str) -> None:
    with pytest.raises(ValueError, match="YYYY-MM"):
        check_month(month)
