"""Confirmed fire: two independent signals in one building within a window (a positive alarm
sequence). A camera's detection counts for every building it covers; two rules of the same
device are one signal, not two."""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field

from alerts.signals import Change, Decision
from contract.alarms import AlertClass, Rule

# Rules that say "something is burning". Electrical leakage, trends and health do not.
FIRE_SIGNALS = frozenset(
    {
        Rule.SMOKE_ALARM,
        Rule.SMOKE_PREALARM,
        Rule.SMOKE_OBSCURATION,
        Rule.HEAT_FIXED,
        Rule.HEAT_ROR,
        Rule.HEAT_ANOMALY,
        Rule.CABLE_FIRE,
        Rule.CAMERA_HOTSPOT,
        Rule.CAMERA_GROWTH,
        Rule.CAMERA_FIRE,
        Rule.CAMERA_SMOKE,
        Rule.CAMERA_SUDDEN_RISE,
    }
)


@dataclass(slots=True)
class _Signal:
    t: float
    device_id: str
    rule: Rule


@dataclass(slots=True)
class Correlator:
    window_s: float
    _recent: dict[str, deque[_Signal]] = field(default_factory=lambda: defaultdict(deque))
    _confirmed_until: dict[str, float] = field(default_factory=dict)
    # Every signal that took part while a building's confirmation holds: the alert lists them
    # all, so what it says does not depend on the order the signals were judged in.
    _episode: dict[str, dict[tuple[float, str, str], dict[str, object]]] = field(
        default_factory=dict
    )

    def signal(self, decision: Decision, *, covers: tuple[str, ...]) -> list[Decision]:
        """Feeds one rising edge; returns a confirmed-fire decision per building it confirms."""
        if decision.rule not in FIRE_SIGNALS:
            return []
        t = decision.at.timestamp()
        buildings = set(covers) | ({decision.building} if decision.building else set())
        out: list[Decision] = []
        for building in sorted(buildings):
            recent = self._recent[building]
            recent.append(_Signal(t, decision.subject, decision.rule))
            while recent and recent[0].t < t - self.window_s:
                recent.popleft()
            devices = {s.device_id for s in recent if abs(s.t - t) <= self.window_s}
            if len(devices) < 2:
                continue
            held = self._confirmed_until.get(building, float("-inf")) >= t
            self._confirmed_until[building] = max(
                self._confirmed_until.get(building, float("-inf")), t + self.window_s
            )
            episode = self._episode.setdefault(building, {}) if held else {}
            self._episode[building] = episode
            for s in recent:
                if abs(s.t - t) <= self.window_s:
                    episode[(s.t, s.device_id, s.rule.value)] = {
                        "device_id": s.device_id,
                        "rule": s.rule.value,
                        "at": s.t,
                    }
            children = [episode[key] for key in sorted(episode)]
            devices = {device for _, device, _ in episode}
            confirmed = Decision(
                subject=f"building:{building}",
                rule=Rule.CONFIRMED_FIRE,
                alert_class=AlertClass.FIRE,
                change=Change.HOLD if held else Change.RAISE,
                at=decision.at,
                value=float(len(devices)),
                received_at=decision.received_at,
                site=decision.site,
                building=building,
                detail={"children": children, "devices": len(devices), "window_s": self.window_s},
            )
            out.append(confirmed)
        return out
