"""The shift report's arithmetic, pure: counts per class, times to acknowledge and resolve
(count, median, worst), the false-alarm ratio, the noisiest subjects and what the next shift
inherits. ``store.shift_report`` loads the rows.

Times to acknowledge and resolve run from when the alert was stored (the server's clock, the
moment an operator could first have seen it) to the person's action. The false-alarm ratio
counts operators' verdicts on fire and pre-alarm alerts: false alarms over real fires plus
false alarms; tests and maintenance are neither, so they are left out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from statistics import median
from typing import Any

from contract.alarms import AlertClass

CLASS_ORDER = tuple(c.value for c in AlertClass)
DEVICES_LISTED = 100

Row = Mapping[str, Any]


def durations(pairs: Sequence[tuple[datetime, datetime | None]]) -> dict[str, Any]:
    """How many of the (start, done) pairs are done, and their median and worst seconds."""
    seconds = [(done - start).total_seconds() for start, done in pairs if done is not None]
    return {
        "count": len(seconds),
        "median_s": round(median(seconds), 1) if seconds else None,
        "worst_s": round(max(seconds), 1) if seconds else None,
    }


def shift_report(
    *,
    site: str,
    start: datetime,
    end: datetime,
    raised: Sequence[Row],
    resolved: Sequence[Row],
    handover: Sequence[Row],
    devices: Sequence[Row],
    noisy: int,
) -> dict[str, Any]:
    """The report from the alerts raised and resolved in the shift, those still open at its
    end (``handover``) and the devices' states."""
    by_class = {c: [a for a in raised if a["class"] == c] for c in CLASS_ORDER}
    verdicts = [r["cause"] for r in resolved if r["class"] in ("fire", "prealarm")]
    judged = verdicts.count("false_alarm") + verdicts.count("real_fire")
    noise: dict[str, int] = {}
    for a in raised:
        noise[a["subject"]] = noise.get(a["subject"], 0) + a["count"]
    offline = [d for d in devices if d["state"] == "offline"]
    noisiest = sorted(noise.items(), key=lambda kv: (-kv[1], kv[0]))[:noisy]
    return {
        "site": site,
        "from": start,
        "to": end,
        "alerts": {
            "total": len(raised),
            "by_class": {c: len(v) for c, v in by_class.items()},
            "escalated": sum(1 for a in raised if a["escalation_level"] > 0),
        },
        "time_to_ack": {
            c: durations([(a["created_at"], a["acked_at"]) for a in v]) for c, v in by_class.items()
        },
        "time_to_resolve": {
            c: durations([(r["created_at"], r["resolved_at"]) for r in resolved if r["class"] == c])
            for c in CLASS_ORDER
        },
        "verdicts": {cause: verdicts.count(cause) for cause in sorted(set(verdicts))},
        "false_alarm_ratio": round(verdicts.count("false_alarm") / judged, 3) if judged else None,
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
        "handover": list(handover),
    }
