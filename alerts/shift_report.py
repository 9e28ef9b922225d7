"""The shift report's arithmetic, pure: incidents (what operators worked) and signals (the alerts
inside them, and the technicians' single alerts) counted apart, each by class with times to
acknowledge and resolve (count, median, worst), verdicts and the false-alarm ratio; then the
noisiest subjects and what the next shift inherits. ``store.shift_report`` loads the rows.

Times to acknowledge and resolve run from when the incident or alert was stored (the server's
clock, the moment an operator could first have seen it) to the person's action. The false-alarm
ratio counts operators' verdicts on fire and pre-alarm items: false alarms over real fires plus
false alarms; tests and maintenance are neither, so they are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from alerts.incidents import INCIDENT_CLASSES
from contract.alarms import AlertClass

CLASS_ORDER = tuple(c.value for c in AlertClass)
INCIDENT_CLASS_ORDER = tuple(c for c in CLASS_ORDER if c in INCIDENT_CLASSES)
JUDGED_CLASSES = (AlertClass.FIRE.value, AlertClass.PREALARM.value)
DEVICES_LISTED = 100

Row = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Rows:
    """One kind of item in a shift: raised in it (``created_at``, ``acked_at``), resolved by a
    person in it whenever raised (``cause``, ``resolved_at``), and still open at its end."""

    raised: Sequence[Row]
    resolved: Sequence[Row]
    handover: Sequence[Row]


def durations(pairs: Sequence[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    """How many of the (start, done) pairs are done, and their median and worst seconds."""
    seconds = [(done - start).total_seconds() for start, done in pairs if done is not None]
    return {
        "count": len(seconds),
        "median_s": round(median(seconds), 1) if seconds else None,
        "worst_s": round(max(seconds), 1) if seconds else None,
    }


def tally(rows: Rows, *, classes: Sequence[str]) -> dict[str, Any]:
    """Counts by class, times to acknowledge and resolve by class, verdicts and the false-alarm
    ratio, and the hand-over: the same shape for incidents and for signals."""
    by_class = {c: [r for r in rows.raised if r["class"] == c] for c in classes}
    verdicts = [r["cause"] for r in rows.resolved if r["class"] in JUDGED_CLASSES]
    judged = verdicts.count("false_alarm") + verdicts.count("real_fire")
    return {
        "total": len(rows.raised),
        "by_class": {c: len(v) for c, v in by_class.items()},
        "time_to_ack": {
            c: durations([(r["created_at"], r["acked_at"]) for r in v]) for c, v in by_class.items()
        },
        "time_to_resolve": {
            c: durations(
                [(r["created_at"], r["resolved_at"]) for r in rows.resolved if r["class"] == c]
            )
            for c in classes
        },
        "verdicts": {cause: verdicts.count(cause) for cause in sorted(set(verdicts))},
        "false_alarm_ratio": round(verdicts.count("false_alarm") / judged, 3) if judged else None,
        "handover": list(rows.handover),
    }


def shift_report(
    *,
    site: str,
    start: datetime,
    end: datetime,
    incidents: Rows,
    signals: Rows,
    devices: Sequence[Row],
    noisy: int,
) -> dict[str, Any]:
    """The report from the shift's incidents and signals and the devices' states."""
    noise: dict[str, int] = {}
    for a in signals.raised:
        noise[a["subject"]] = noise.get(a["subject"], 0) + a["count"]
    offline = [d for d in devices if d["state"] == "offline"]
    noisiest = sorted(noise.items(), key=lambda kv: (-kv[1], kv[0]))[:noisy]
    return {
        "site": site,
        "from": start,
        "to": end,
        "incidents": {
            **tally(incidents, classes=INCIDENT_CLASS_ORDER),
            "confirmed": sum(1 for i in incidents.raised if i["confirmed_at"] is not None),
        },
        "signals": {
            **tally(signals, classes=CLASS_ORDER),
            "escalated": sum(1 for a in signals.raised if a["escalation_level"] > 0),
        },
        "devices_offline": {
            "count": len(offline),
            "devices": [
                {
                    "device_id": d["id"],
                    "kind": d["kind"],
                    "building": d["building"],
                    "last_heard": d["last_received_at"],
                }
                for d in offline[:DEVICES_LISTED]
            ],
        },
        "noisiest": [{"subject": s, "alerts": n} for s, n in noisiest],
    }
