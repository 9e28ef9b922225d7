"""Ground truth of a scenario, and the pure checker that holds alerts against it.

Times are event time: seconds from the scenario's start, as the devices' clocks saw them. A
replay that shifts device time shifts the start with it (``Expectation.shifted``), so the
same expectation checks a replay run at any moment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from contract.alarms import AlertClass, Rule
from contract.families import family, rank


@dataclass(kw_only=True, frozen=True, slots=True)
class Expected:
    """An alert that must be raised on ``subject`` between the onset and the deadline."""

    subject: str
    onset_s: float
    within_s: float
    why: str
    rule: Rule | None = None
    alert_class: AlertClass | None = None

    def __post_init__(self) -> None:
        if self.rule is None and self.alert_class is None:
            raise ValueError("an expected alert names its rule, its class, or both")

    @property
    def deadline_s(self) -> float:
        return self.onset_s + self.within_s


@dataclass(kw_only=True, frozen=True, slots=True)
class Forbidden:
    """Alerts that must not be raised: on ``subjects`` (empty: any subject of the scenario),
    matching ``rule`` and/or ``alert_class`` (neither: any alert), before ``until_s`` (None:
    ever); ``max_count`` of them are tolerated."""

    why: str
    subjects: tuple[str, ...] = ()
    rule: Rule | None = None
    alert_class: AlertClass | None = None
    until_s: float | None = None
    max_count: int = 0


@dataclass(frozen=True, slots=True)
class SeenAlert:
    """An alert as the store or the API reports it; ``raised_at`` is device time."""

    subject: str
    rule: str
    alert_class: str
    raised_at: datetime


@dataclass(kw_only=True, frozen=True, slots=True)
class Expectation:
    scenario: str
    start: datetime
    duration_s: float
    subjects: tuple[str, ...]
    expected: tuple[Expected, ...] = ()
    forbidden: tuple[Forbidden, ...] = ()

    def shifted(self, start: datetime) -> Expectation:
        """The same ground truth for a replay whose device time starts at ``start``."""
        return replace(self, start=start)

    def document(self) -> dict[str, Any]:
        def clean(obj: Expected | Forbidden) -> dict[str, Any]:
            out = {name: getattr(obj, name) for name in obj.__dataclass_fields__}
            return {k: v for k, v in out.items() if v is not None and v != ()}

        return {
            "scenario": self.scenario,
            "start": self.start.isoformat(),
            "duration_s": self.duration_s,
            "subjects": list(self.subjects),
            "expected": [clean(e) for e in self.expected],
            "forbidden": [clean(f) for f in self.forbidden],
        }

    def write(self, path: Path) -> None:
        path.write_bytes(orjson.dumps(self.document(), option=orjson.OPT_INDENT_2) + b"\n")

    @classmethod
    def read(cls, path: Path) -> Expectation:
        doc = orjson.loads(path.read_bytes())

        def enums(item: dict[str, Any]) -> dict[str, Any]:
            out = dict(item)
            if "rule" in out:
                out["rule"] = Rule(out["rule"])
            if "alert_class" in out:
                out["alert_class"] = AlertClass(out["alert_class"])
            if "subjects" in out:
                out["subjects"] = tuple(out["subjects"])
            return out

        return cls(
            scenario=doc["scenario"],
            start=datetime.fromisoformat(doc["start"]),
            duration_s=doc["duration_s"],
            subjects=tuple(doc["subjects"]),
            expected=tuple(Expected(**enums(e)) for e in doc["expected"]),
            forbidden=tuple(Forbidden(**enums(f)) for f in doc["forbidden"]),
        )


def _matches(alert: SeenAlert, rule: Rule | None, alert_class: AlertClass | None) -> bool:
    return (rule is None or _reaches(alert.rule, rule)) and (
        alert_class is None or alert.alert_class == alert_class.value
    )


def _reaches(seen: str, rule: Rule) -> bool:
    """A rule is seen when its family's alert reached it or a rule above it: the alert moves up
    in place and a lower rule that starts to hold meanwhile leaves no trace (contract.families).
    """
    try:
        found = Rule(seen)
    except ValueError:
        return False
    return found is rule or (family(found) == family(rule) and rank(found) > rank(rule))


def _what(rule: Rule | None, alert_class: AlertClass | None) -> str:
    if rule is not None and alert_class is not None:
        return f"{rule.value} ({alert_class.value})"
    if rule is not None:
        return rule.value
    return f"any {alert_class.value if alert_class else ''} alert".replace("  ", " ")


def violations(expectation: Expectation, alerts: Iterable[SeenAlert]) -> list[str]:
    """Every way ``alerts`` break the ground truth, as sentences; empty means it passed.

    Alerts on subjects outside the scenario are ignored, so a live system's other traffic
    does not count against it; so are alerts raised before the scenario started.
    """
    start = expectation.start
    in_scope = set(expectation.subjects)
    seen = [
        (a, (a.raised_at - start).total_seconds())
        for a in alerts
        if a.subject in in_scope and a.raised_at >= start
    ]
    problems: list[str] = []
    for e in expectation.expected:
        what = f"{_what(e.rule, e.alert_class)} on {e.subject}"
        times = sorted(
            t for a, t in seen if a.subject == e.subject and _matches(a, e.rule, e.alert_class)
        )
        on_time = [t for t in times if e.onset_s <= t <= e.deadline_s]
        if on_time:
            continue
        if not times:
            problems.append(
                f"missing: {what}, expected by t={e.deadline_s:g} s "
                f"({e.within_s:g} s after the onset at t={e.onset_s:g} s): {e.why}"
            )
        elif times[0] < e.onset_s:
            problems.append(
                f"too early: {what} raised at t={times[0]:g} s, before its onset at "
                f"t={e.onset_s:g} s: {e.why}"
            )
        else:
            problems.append(
                f"late: {what} raised at t={times[0]:g} s, {times[0] - e.onset_s:g} s after "
                f"the onset; the deadline was {e.within_s:g} s: {e.why}"
            )
    for f in expectation.forbidden:
        subjects = set(f.subjects) or in_scope
        hits = sorted(
            (
                (t, a)
                for a, t in seen
                if a.subject in subjects
                and _matches(a, f.rule, f.alert_class)
                and (f.until_s is None or t < f.until_s)
            ),
            key=lambda hit: hit[0],
        )
        if len(hits) <= f.max_count:
            continue
        listed = ", ".join(
            f"{a.rule} ({a.alert_class}) on {a.subject} at t={t:g} s" for t, a in hits[:5]
        )
        more = f" and {len(hits) - 5} more" if len(hits) > 5 else ""
        window = f" before t={f.until_s:g} s" if f.until_s is not None else ""
        allowed = f" (at most {f.max_count} allowed)" if f.max_count else ""
        problems.append(
            f"forbidden: {_what(f.rule, f.alert_class)}{window}{allowed}: {listed}{more}: {f.why}"
        )
    return problems
