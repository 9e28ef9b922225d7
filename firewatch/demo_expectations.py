"""What the demo tells its watcher to expect from a scenario, and by when on the site's clock:
the ground truth's deadlines, so each alert can be looked for on the console as it comes."""

from __future__ import annotations

from datetime import datetime, timedelta, tzinfo

from api.local_time import utc_offset
from simulators.expectations import Expectation, Expected, Forbidden


def clock(at: datetime, tz: tzinfo) -> str:
    """``14:03:00``: the time of day on ``tz``'s wall clock."""
    return f"{at.astimezone(tz):%H:%M:%S}"


def _what(item: Expected | Forbidden) -> str:
    if item.rule is not None:
        return f"{item.rule} ({item.alert_class})" if item.alert_class else str(item.rule)
    return f"{item.alert_class} alert" if item.alert_class else "any alert"


def scenario_lines(
    name: str, expectation: Expectation, *, title: str, onset_s: float, tz: tzinfo
) -> list[str]:
    """A heading with when the incident begins, then each expected alert with its deadline
    and the ground truth's reason (whose ``+N s`` count from the onset), then what must not
    come. Times are ``expectation.start`` plus the ground truth's seconds."""
    start = expectation.start

    def at(seconds: float) -> str:
        return clock(start + timedelta(seconds=seconds), tz)

    onset = start + timedelta(seconds=onset_s)
    lines = [
        f"scenario {name} ({title}) begins at {clock(onset, tz)} "
        f"(in {onset_s:.0f} s; site clock, UTC{utc_offset(onset.astimezone(tz))}); expect:"
    ]
    lines += [
        f"  by {at(e.deadline_s)}: {_what(e)} on {e.subject} ({e.why})"
        for e in sorted(expectation.expected, key=lambda e: (e.deadline_s, e.subject))
    ]
    if not expectation.expected:
        lines.append("  no alert")
    for f in expectation.forbidden:
        where = ", ".join(f.subjects) if f.subjects else "any of its devices"
        until = f" before {at(f.until_s)}" if f.until_s is not None else ""
        how_many = "never" if f.max_count == 0 else f"at most {f.max_count}"
        lines.append(f"  {how_many}{until}: {_what(f)} on {where} ({f.why})")
    return lines
