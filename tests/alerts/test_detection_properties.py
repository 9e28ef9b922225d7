"""Properties of the heat detection (issue 19) on generated streams: a slow monotone drift never
raises a fire, a quiet neighbour never delays one, and where a stream of several neighbours
and a multi-sensor is cut into batches changes nothing."""

from __future__ import annotations

import itertools
import random
from datetime import datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from alerts.config import RuleConfig
from alerts.devices import DeviceInfo, device_info
from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.alarms import AlertClass
from contract.kinds import Kind
from tests.alerts.test_rules import SITE, Batch, reading, run

PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
DEFAULTS = RuleConfig()
# The lowest rate of rise any heat rule calls a fire (the early rise's; the classic is 8.3).
LOWEST_FIRE_RATE = min(DEFAULTS.early_ror_c_per_min, DEFAULTS.ror_c_per_min)


def neighbour(device_id: str, *, floor: int = 3) -> DeviceInfo:
    return device_info(device_id=device_id, kind=Kind.SMOKE, site=SITE, building="B1", floor=floor)


def engine_of(*ids: str) -> Engine:
    engine = Engine()
    engine.configure(neighbour(i) for i in ids)
    return engine


def fires(decisions: list[Decision]) -> list[Decision]:
    return [d for d in decisions if d.change is Change.RAISE and d.alert_class is AlertClass.FIRE]


def first_fire(decisions: list[Decision]) -> datetime | None:
    found = fires(decisions)
    return min(d.at for d in found) if found else None


# -- a slow drift ---------------------------------------------------------------------------


@st.composite
def drifting_room(draw: st.DrawFn) -> Batch:
    """Up to three neighbours warming monotonically, each never faster than ``rate`` between
    any two samples, from a room's temperature to short of the fixed threshold."""
    rate = draw(st.floats(0.0, 0.98 * LOWEST_FIRE_RATE))
    step = draw(st.sampled_from([1.0, 2.0, 5.0, 10.0, 60.0]))
    n = draw(st.integers(20, 160))
    out: Batch = []
    for k in range(draw(st.integers(1, 3))):
        level = draw(st.floats(10.0, 35.0))
        t = draw(st.floats(0.0, step))
        for _ in range(n):
            # Each step at most the rate allows, sometimes a pause: monotone, never faster.
            level = min(level + draw(st.floats(0.0, 1.0)) * rate * step / 60.0, 56.0)
            out.append(reading(f"D{k}", t, temperature_c=level))
            t += step * draw(st.sampled_from([1.0, 1.0, 1.0, 3.0]))
    out.sort(key=lambda m: m[0].ts)
    return out


@PROPERTY
@given(batch=drifting_room(), size=st.sampled_from([1, 7, 50, 10_000]))
def test_a_slow_monotone_drift_never_raises_a_fire(batch: Batch, size: int) -> None:
    engine = engine_of("D0", "D1", "D2")
    decisions = []
    for start in range(0, len(batch), size):
        decisions += run(engine, batch[start : start + size])
    assert fires(decisions) == []


# -- a fire, with and without a quiet neighbour ---------------------------------------------


@st.composite
def fire_in_room(draw: st.DrawFn) -> tuple[Batch, Batch]:
    """Two detectors on a floor, quiet and then under a growing fire (the second later and
    weaker), and a third, quiet throughout; time-ordered, 1 s apart."""
    seed = draw(st.integers(0, 2**32 - 1))
    rng = random.Random(seed)
    quiet_s = draw(st.integers(30, 150))
    growth = draw(st.floats(0.004, 0.2))  # °C/s²: a chair's first minute to a burner's
    lag = draw(st.floats(0.0, 20.0))
    share = draw(st.floats(0.3, 1.0))
    noise = draw(st.floats(0.02, 0.4))
    rooms = {d: draw(st.floats(15.0, 32.0)) for d in ("F1", "F2", "Q")}
    fire: Batch = []
    quiet: Batch = []
    for second in range(quiet_s + 120):
        burning = max(0.0, second - quiet_s)
        rises = {"F1": growth * burning**2, "F2": share * growth * max(0.0, burning - lag) ** 2}
        for d, rise in rises.items():
            value = min(rooms[d] + rise + rng.gauss(0.0, noise), 500.0)
            fire.append(reading(d, float(second), temperature_c=value))
        value = rooms["Q"] + rng.gauss(0.0, noise)
        quiet.append(reading("Q", second + 0.5, temperature_c=value))
    return fire, quiet


@PROPERTY
@given(streams=fire_in_room(), size=st.sampled_from([4, 20, 10_000]))
def test_a_quiet_neighbour_never_delays_a_fire_alarm(
    streams: tuple[Batch, Batch], size: int
) -> None:
    fire, quiet = streams
    alone = engine_of("F1", "F2")
    without = first_fire(
        [d for s in range(0, len(fire), size) for d in run(alone, fire[s : s + size])]
    )
    together = sorted(fire + quiet, key=lambda m: m[0].ts)
    crowd = engine_of("F1", "F2", "Q")
    with_quiet = first_fire(
        [
            d
            for s in range(0, len(together), size)
            for d in run(crowd, together[s : s + size])
            if d.subject != "Q"
        ]
    )
    assert without is not None, "a fire that grows to tens of degrees is always found"
    assert with_quiet is not None and with_quiet <= without


# -- batch boundaries, with neighbours and a multi-sensor -----------------------------------


@st.composite
def neighbours_stream(draw: st.DrawFn) -> Batch:
    """Three neighbours, one a multi-sensor with smoke; each warms up, then maybe rises with
    the room's fire, a little later than the first; the devices interleaved in arrival order."""
    per_device: dict[str, Batch] = {}
    fire_at = draw(st.integers(60, 80))  # past the warm-up, so the early rise can judge
    growth = draw(st.sampled_from([0.01, 0.02, 0.05, 0.3, 0.0]))  # °C/s²
    for k, device_id in enumerate(("N1", "N2", "N3")):
        rng = random.Random(draw(st.integers(0, 2**32 - 1)))
        n = draw(st.integers(90 if device_id == "N1" else 0, 130))
        onset = fire_at + draw(st.integers(0, 8))  # the plume reaches each a little later
        share = draw(st.sampled_from([0.0, 0.5, 1.0]))
        room, t, stream = 20.0 + 3 * k, draw(st.sampled_from([0.0, 0.5])), []
        for _ in range(n):
            rise = share * growth * max(0.0, t - onset) ** 2
            values = {"temperature_c": room + rise + rng.gauss(0.0, 0.05)}
            if device_id == "N1":
                values["obscuration_pct_per_m"] = max(0.0, min(0.08 * rise, 20.0))
            stream.append(reading(device_id, t, **values))
            t += draw(st.sampled_from([1.0, 1.0, 1.0, 2.0]))
        per_device[device_id] = stream
    # Arrival order: by time, each message late by up to ``late`` seconds (a gateway's
    # buffer); a device's own messages keep their order.
    late = draw(st.sampled_from([0.0, 3.0, 30.0, 1e6]))
    arrival = {
        id(m): m[0].ts.timestamp() + draw(st.floats(0.0, late))
        for stream in per_device.values()
        for m in stream
    }
    for stream in per_device.values():
        running = float("-inf")
        for m in stream:
            running = arrival[id(m)] = max(running, arrival[id(m)])
    return sorted((m for s in per_device.values() for m in s), key=lambda m: arrival[id(m)])


def decisions_cut(batch: Batch, cuts: list[int]) -> list[tuple[str, str, str, datetime]]:
    engine = engine_of("N1", "N2", "N3")
    out: list[tuple[str, str, str, datetime]] = []
    bounds = [0, *sorted(set(cuts)), len(batch)]
    for start, end in itertools.pairwise(bounds):
        if end > start:
            out += [
                (d.subject, d.rule.value, d.change.value, d.at)
                for d in run(engine, batch[start:end])
                if d.change in (Change.RAISE, Change.CLEAR)
            ]
    return sorted(out)


@settings(PROPERTY, max_examples=100)
@given(data=st.data())
def test_cutting_a_room_s_stream_into_batches_anywhere_changes_nothing(
    data: st.DataObject,
) -> None:
    batch = data.draw(neighbours_stream())
    cuts = data.draw(st.lists(st.integers(0, len(batch)), max_size=20))
    assert decisions_cut(batch, cuts) == decisions_cut(batch, [])
