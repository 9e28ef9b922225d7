"""The monthly report's arithmetic, pure: the figures the street's own report quotes (incidents
by class and cause, dispatches, response times, real fires handled, the false-alarm ratio by
device model and by building). ``store.monthly_report`` loads the rows.

- **A month** is a calendar month on the site's wall clock (Beijing time by default): an
  incident belongs to the month it was stored in, a dispatch to the month it was sent in.
- **An incident's verdict** is its operator's, the cause a person resolved it with; else the
  field's, the last verdict a grid worker gave (an operator may leave open an incident the
  field has judged); else it is unjudged. Its cause in detail (cooking fumes, an e-bike) is the
  field's, when the field gave that verdict.
- **The false-alarm ratio** counts fire and pre-alarm incidents judged a real fire or a false
  alarm: false alarms over both. Tests, maintenance, "other" and "could not get in" are
  neither, so they are left out. By device model, a judged incident counts once for each model
  among its signals' devices; by building, once for its building (or, outside every building,
  for the camera that saw it).
- **Response times** run from when the incident was stored (the server's clock: the moment an
  operator could first see it) to a person's first acknowledgement, the first dispatch and the
  first arrival on site, as median and worst.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from alerts.lifecycle import Cause
from alerts.shift_report import INCIDENT_CLASS_ORDER, JUDGED_CLASSES, durations

# Who is not a person: a verdict of theirs is no one's judgement.
NOT_PEOPLE = frozenset({"engine", "migration"})
REAL_FIRE, FALSE_ALARM, NO_ACCESS = Cause.REAL_FIRE.value, Cause.FALSE_ALARM.value, "no_access"
UNJUDGED = "unjudged"
# Every verdict an incident may have, in the report's order: the operators' causes, then the
# field's "could not get in", then none.
VERDICTS = (*(c.value for c in Cause), NO_ACCESS, UNJUDGED)
FIELD_VERDICTS = (REAL_FIRE, FALSE_ALARM, NO_ACCESS)
UNSPECIFIED = "unspecified"
EARLIEST_YEAR, LATEST_YEAR = 2000, 2099
_MONTH = re.compile(r"^([0-9]{4})-([0-9]{2})$")

Row = Mapping[str, Any]
Key = tuple[str | None, ...]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What an incident was found to be (one of VERDICTS), its cause in detail when the field
    gave that verdict, and whose word it is (operator, field, or None when unjudged)."""

    verdict: str
    cause: str | None
    by: str | None


def check_month(month: str) -> str:
    """``month`` if it is a month ``YYYY-MM`` the report can cover; ValueError saying what
    works otherwise."""
    found = _MONTH.match(month)
    year, number = (int(found[1]), int(found[2])) if found else (0, 0)
    if not (EARLIEST_YEAR <= year <= LATEST_YEAR and 1 <= number <= 12):
        raise ValueError(
            f"month must be YYYY-MM between {EARLIEST_YEAR}-01 and {LATEST_YEAR}-12, "
            f"e.g. 2026-11; not {month!r}"
        )
    return month


def month_window(month: str, tz: tzinfo) -> tuple[datetime, datetime]:
    """The month ``YYYY-MM`` as [its first midnight, the next month's) on ``tz``'s wall clock."""
    year, number = map(int, check_month(month).split("-"))
    after = (year + 1, 1) if number == 12 else (year, number + 1)
    return datetime(year, number, 1, tzinfo=tz), datetime(*after, 1, tzinfo=tz)


def verdict_of(incident: Row) -> Verdict:
    """The operator's verdict, else the field's (see the module's docstring)."""
    field = incident["field_verdict"]
    by = incident["resolved_by"]
    if incident["cause"] is not None and by is not None and by not in NOT_PEOPLE:
        verdict, source = incident["cause"], "operator"
    elif field is not None:
        verdict, source = field, "field"
    else:
        return Verdict(UNJUDGED, None, None)
    return Verdict(verdict, incident["field_cause"] if field == verdict else None, source)


def ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def _judged(incidents: Sequence[Row]) -> list[tuple[Row, bool]]:
    """The fire and pre-alarm incidents judged a real fire or a false alarm, each with whether
    it was a false alarm."""
    found = []
    for incident in incidents:
        verdict = verdict_of(incident).verdict
        if incident["class"] in JUDGED_CLASSES and verdict in (REAL_FIRE, FALSE_ALARM):
            found.append((incident, verdict == FALSE_ALARM))
    return found


def _ratios(
    incidents: Sequence[Row],
    keys: Callable[[Row], Sequence[Key]],
    fields: tuple[str, ...],
) -> list[dict[str, Any]]:
    """Per key (its parts named by ``fields``): incidents, judged, false alarms and their
    ratio; most false alarms first."""
    seen: Counter[Key] = Counter(k for i in incidents for k in set(keys(i)))
    judged: Counter[Key] = Counter()
    false: Counter[Key] = Counter()
    for incident, is_false in _judged(incidents):
        for key in set(keys(incident)):
            judged[key] += 1
            false[key] += is_false
    order = sorted(
        seen,
        key=lambda k: (-false[k], -judged[k], -seen[k], tuple(p or "" for p in k)),
    )
    return [
        {
            **dict(zip(fields, key, strict=True)),
            "incidents": seen[key],
            "judged": judged[key],
            "false_alarms": false[key],
            "false_alarm_ratio": ratio(false[key], judged[key]),
        }
        for key in order
    ]


def _models(incident: Row) -> list[Key]:
    return [(d["kind"], d["model"]) for d in incident["devices"]]


def _place(incident: Row) -> list[Key]:
    if incident["building"] is not None:
        return [(incident["building"], incident["building_name"], None)]
    return [(None, None, incident["origin"])]


def _by_count(counts: Counter[str]) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def _incidents(incidents: Sequence[Row]) -> dict[str, Any]:
    by_class = {c: [i for i in incidents if i["class"] == c] for c in INCIDENT_CLASS_ORDER}
    causes: dict[str, Counter[str]] = {v: Counter() for v in FIELD_VERDICTS}
    for incident in incidents:
        found = verdict_of(incident)
        if found.verdict in causes:
            causes[found.verdict][found.cause or UNSPECIFIED] += 1
    return {
        "total": len(incidents),
        "confirmed": sum(1 for i in incidents if i["confirmed_at"] is not None),
        "by_class": {c: len(found) for c, found in by_class.items()},
        "by_class_and_verdict": {
            c: {v: sum(1 for i in found if verdict_of(i).verdict == v) for v in VERDICTS}
            for c, found in by_class.items()
        },
        "causes": {v: _by_count(c) for v, c in causes.items()},
    }


def _dispatches(dispatches: Sequence[Row]) -> dict[str, Any]:
    verdicts = Counter(d["verdict"] for d in dispatches if d["verdict"] is not None)
    causes: dict[str, Counter[str]] = {v: Counter() for v in FIELD_VERDICTS}
    for d in dispatches:
        if d["verdict"] is not None:
            causes[d["verdict"]][d["cause"] or UNSPECIFIED] += 1
    return {
        "total": len(dispatches),
        "automatic": sum(1 for d in dispatches if d["automatic"]),
        "by_operator": sum(1 for d in dispatches if not d["automatic"]),
        "escalated": sum(1 for d in dispatches if d["escalated"]),
        "accepted": sum(1 for d in dispatches if d["accepted_at"] is not None),
        "arrived": sum(1 for d in dispatches if d["arrived_at"] is not None),
        "unanswered": sum(
            1 for d in dispatches if d["exhausted_at"] is not None and d["accepted_at"] is None
        ),
        "revoked": sum(1 for d in dispatches if d["revoked_at"] is not None),
        "verdicts": {v: verdicts[v] for v in FIELD_VERDICTS},
        "causes": {v: _by_count(c) for v, c in causes.items()},
    }


def _real_fires(incidents: Sequence[Row], *, tz: tzinfo | None) -> dict[str, Any]:
    """Each incident judged a real fire, its times on the site's clock."""
    judged = [(i, verdict_of(i)) for i in sorted(incidents, key=lambda i: i["id"])]
    fires = [(i, v) for i, v in judged if v.verdict == REAL_FIRE]

    def local(at: datetime | None) -> datetime | None:
        return None if at is None else at.astimezone(tz)

    return {
        "count": len(fires),
        "called_119": sum(1 for i, _ in fires if i["call_119_confirmed"]),
        "incidents": [
            {
                "id": i["id"],
                "class": i["class"],
                "building": i["building"],
                "name": i["building_name"],
                "camera": None if i["building"] is not None else i["origin"],
                "created_at": local(i["created_at"]),
                "cause": v.cause,
                "judged_by": v.by,
                "dispatched_at": local(i["dispatched_at"]),
                "arrived_at": local(i["arrived_at"]),
                "call_119_confirmed": i["call_119_confirmed"],
            }
            for i, v in fires
        ],
    }


def monthly_report(
    *,
    site: str,
    month: str,
    start: datetime,
    end: datetime,
    incidents: Sequence[Row],
    dispatches: Sequence[Row],
) -> dict[str, Any]:
    """The report from the month's incidents (each with its verdicts, first acknowledgement,
    dispatch and arrival, and its signals' devices) and the month's dispatches."""
    judged = _judged(incidents)
    false = sum(1 for _, is_false in judged if is_false)
    return {
        "site": site,
        "month": month,
        "from": start,
        "to": end,
        "timezone": str(start.tzinfo),
        "incidents": _incidents(incidents),
        "dispatches": _dispatches(dispatches),
        "response_times": {
            "acknowledge": durations([(i["created_at"], i["acked_at"]) for i in incidents]),
            "dispatch": durations([(i["created_at"], i["dispatched_at"]) for i in incidents]),
            "arrive": durations([(i["created_at"], i["arrived_at"]) for i in incidents]),
        },
        "real_fires": _real_fires(incidents, tz=start.tzinfo),
        "false_alarms": {
            "judged": len(judged),
            "false_alarms": false,
            "false_alarm_ratio": ratio(false, len(judged)),
            "by_model": _ratios(incidents, _models, ("kind", "model")),
            "by_building": _ratios(incidents, _place, ("building", "name", "camera")),
        },
    }
