"""A deliberately simple reading of the engine's default rules, for checking ground truth.

It is not the engine: it answers "does the data of this scenario meet rule R on subject S,
and when?", so the tests can show that every expected alert is earned by the data before
its deadline and that nothing forbidden is in the data at all. Rules whose judgement is the
engine's own (roll-ups with tolerances, growth) are left out and listed in UNCHECKED.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta

import numpy as np

from contract.alarms import AlertClass, Rule
from contract.codec import Limits, check_kind, decode
from contract.frames import decode_frame
from contract.kinds import KIND_SPECS, STATUS_METRICS, Kind
from contract.messages import Decoded
from contract.topics import Channel
from simulators.scenarios import ScenarioRun
from simulators.topology import Quarter

UNCHECKED = {Rule.CAMERA_PREALARM, Rule.CAMERA_GROWTH}
CLASS_RULES = {
    AlertClass.FIRE: {
        Rule.SMOKE_ALARM,
        Rule.SMOKE_OBSCURATION,
        Rule.HEAT_FIXED,
        Rule.HEAT_ROR,
        Rule.CABLE_FIRE,
        Rule.CAMERA_HOTSPOT,
        Rule.CAMERA_FIRE,
        Rule.CONFIRMED_FIRE,
    },
    AlertClass.TROUBLE: {Rule.OFFLINE, Rule.COMM_FAULT, Rule.SENSOR_STUCK, Rule.LOW_BATTERY},
    AlertClass.SUPERVISORY: {Rule.TAMPER},
}
SIGNALS = {
    Rule.SMOKE_ALARM,
    Rule.SMOKE_PREALARM,
    Rule.SMOKE_OBSCURATION,
    Rule.HEAT_FIXED,
    Rule.HEAT_ROR,
    Rule.HEAT_ANOMALY,
    Rule.CABLE_FIRE,
    Rule.CABLE_TEMP,
    Rule.LEAKAGE,
    Rule.ELECTRICAL_ALARM,
    Rule.CAMERA_FIRE,
    Rule.CAMERA_HOTSPOT,
}


@dataclass
class _Device:
    kind: Kind
    heard: list[float] = field(default_factory=list)
    values: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    events: list[tuple[float, str]] = field(default_factory=list)
    frames: list[tuple[float, np.ndarray]] = field(default_factory=list)


def decoded_messages(run: ScenarioRun, quarter: Quarter) -> list[tuple[float, Decoded]]:
    """Every message through the real codec and kind check; raises on the first rejection."""
    start = run.expectation.start
    out = []
    for m in run.messages:
        now = start + timedelta(seconds=m.t)
        message = decode(m.topic, m.payload, now=now, limits=Limits())
        assert isinstance(message, Decoded), (m.topic, message)
        rejected = check_kind(message, quarter.device(message.device_id).kind)
        assert rejected is None, (m.topic, rejected)
        out.append((m.t, message))
    return out


def _first_sustained(series: list[tuple[float, float]], ok: object, hold: float) -> float | None:
    since = None
    for t, value in series:
        if ok(value):  # type: ignore[operator]
            since = t if since is None else since
            if t - since >= hold:
                return t
        else:
            since = None
    return None


def _rate(series: list[tuple[float, float]], *, window: float, per_min: float) -> float | None:
    for i, (t, value) in enumerate(series):
        earlier = [(s, v) for s, v in series[:i] if t - s >= window]
        if earlier:
            s, v = earlier[-1]
            if (value - v) / (t - s) * 60 >= per_min:
                return t
    return None


def triggers(run: ScenarioRun, quarter: Quarter) -> dict[tuple[str, Rule], float]:  # noqa: C901 - the reference reads docs/rules.md rule by rule, flat on purpose: independent of the engine's structure
    """First time (s from the start) each subject meets each rule."""
    devices: dict[str, _Device] = {}
    decoded = decoded_messages(run, quarter)
    for raw, (t, m) in zip(run.messages, decoded, strict=True):
        d = devices.setdefault(m.device_id, _Device(quarter.device(m.device_id).kind))
        d.heard.append(t)
        if m.channel is Channel.FRAME:
            d.frames.append((t, decode_frame(raw.payload)[1]))
        elif m.event_type:
            d.events.append((t, m.event_type))
        else:
            for name, value in m.values.items():
                d.values[name].append((t, value))
    found: dict[tuple[str, Rule], float] = {}

    def hit(subject: str, rule: Rule, t: float | None) -> None:
        if t is not None and (subject, rule) not in found:
            found[(subject, rule)] = t

    end = run.expectation.duration_s
    for device_id, d in devices.items():
        for t, event in d.events:
            alarm = Rule.ELECTRICAL_ALARM if d.kind is Kind.ELECTRICAL else Rule.SMOKE_ALARM
            rule = {
                "alarm": alarm,
                "tamper": Rule.TAMPER,
                "fire_detected": Rule.CAMERA_FIRE,
                "smoke_detected": Rule.CAMERA_SMOKE,
                "fault": Rule.FAULT,
            }.get(event)
            if rule is not None:
                hit(device_id, rule, t)
        v = d.values
        obscuration, temperature = v["obscuration_pct_per_m"], v["temperature_c"]
        hit(device_id, Rule.SMOKE_PREALARM, _first_sustained(obscuration, lambda x: x >= 1.5, 0))
        hit(
            device_id, Rule.SMOKE_OBSCURATION, _first_sustained(obscuration, lambda x: x >= 3.0, 20)
        )
        hit(device_id, Rule.HEAT_FIXED, _first_sustained(temperature, lambda x: x >= 57, 0))
        hit(device_id, Rule.HEAT_ROR, _rate(temperature, window=30, per_min=8.3))
        if temperature:
            anomalous = statistics.median(x for t, x in temperature[:12]) + 4
            hit(device_id, Rule.HEAT_ANOMALY, _first_sustained(temperature, anomalous.__le__, 60))
        hit(
            device_id,
            Rule.LEAKAGE,
            _first_sustained(v["residual_current_ma"], lambda x: x >= 300, 0),
        )
        hit(device_id, Rule.LEAKAGE_TREND, _trend(v["residual_current_ma"]))
        hit(device_id, Rule.CABLE_TEMP, _first_sustained(v["cable_temp_c"], lambda x: x >= 70, 0))
        hit(device_id, Rule.CABLE_TEMP_ROR, _rate(v["cable_temp_c"], window=60, per_min=5))
        hit(device_id, Rule.CABLE_FIRE, _first_sustained(v["cable_temp_c"], lambda x: x >= 90, 0))
        for name, series in v.items():
            if name == "battery_pct":
                hit(device_id, Rule.LOW_BATTERY, _first_sustained(series, lambda x: x <= 20, 0))
            elif name not in STATUS_METRICS:  # a battery reads the same for days: health
                hit(device_id, Rule.SENSOR_STUCK, _stuck(series))
        if d.frames:
            hit(device_id, Rule.CAMERA_HOTSPOT, _hotspot(d.frames))
            hit(device_id, Rule.CAMERA_SUDDEN_RISE, _sudden_rise(d.frames))
        silence = 2 * KIND_SPECS[d.kind].heartbeat_s
        last = d.heard[-1]
        if end - last > silence:
            hit(device_id, Rule.OFFLINE, last + silence)
    _building_rules(run, quarter, devices, found)
    return found


def _trend(series: list[tuple[float, float]]) -> float | None:
    """Up by 100 mA or more over two hours, as a least-squares slope over that window."""
    for i, (t, _) in enumerate(series):
        window = [(s, x) for s, x in series[: i + 1] if t - s <= 7200]
        if window[0][0] > t - 7000:
            continue
        times = np.array([s for s, _ in window])
        slope = np.polyfit(times, np.array([x for _, x in window]), 1)[0]
        if slope * 7200 >= 100:
            return t
    return None


def _stuck(series: list[tuple[float, float]]) -> float | None:
    run_start, count = None, 0
    for i, (t, x) in enumerate(series):
        if i and x == series[i - 1][1]:
            count += 1
            if count >= 10 and t - (run_start or t) >= 3600:
                return t
        else:
            run_start, count = t, 0
    return None


def _hotspot(frames: list[tuple[float, np.ndarray]]) -> float | None:
    background = np.mean([f for _, f in frames[:5]], axis=0)
    since = None
    for t, frame in frames:
        if bool(((frame >= 55) & (frame - background >= 15)).any()):
            since = t if since is None else since
            if t - since >= 3:
                return t
        else:
            since = None
    return None


def _sudden_rise(frames: list[tuple[float, np.ndarray]]) -> float | None:
    """The frame's maximum up by 30 °C or more within 10 s."""
    peaks = [(t, float(f.max())) for t, f in frames]
    for i, (t, peak) in enumerate(peaks):
        if any(peak - p >= 30 for s, p in peaks[:i] if t - s <= 10):
            return t
    return None


def _building_rules(  # noqa: C901 - the building rules as docs/rules.md states them, flat on purpose
    run: ScenarioRun,
    quarter: Quarter,
    devices: dict[str, _Device],
    found: dict[tuple[str, Rule], float],
) -> None:
    by_building: dict[str, list[tuple[float, str]]] = defaultdict(list)
    for (subject, rule), t in found.items():
        if rule not in SIGNALS:
            continue
        device = quarter.device(subject)
        buildings = (
            device.config.get("covers", [])
            if device.kind is Kind.THERMAL_CAMERA
            else [device.building]
        )
        if device.kind is Kind.THERMAL_CAMERA and rule is not Rule.CAMERA_FIRE:
            continue  # a camera's own detection is what correlation counts
        for building in buildings:
            by_building[building].append((t, subject))
    for building, signals in by_building.items():
        signals.sort()
        for i, (t, subject) in enumerate(signals):
            if any(other != subject and t - s <= 120 for s, other in signals[:i]):
                found.setdefault((f"building:{building}", Rule.CONFIRMED_FIRE), t)
                break
    offline: dict[str, list[float]] = defaultdict(list)
    for (subject, rule), t in found.items():
        if rule is Rule.OFFLINE:
            offline[quarter.device(subject).building].append(t)
    for building, times in offline.items():
        if len(times) >= 3:
            found[(f"building:{building}", Rule.COMM_FAULT)] = sorted(times)[2]
