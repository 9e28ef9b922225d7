"""Thermal-frame analysis on synthetic scenes of the quarter: sky, roofs, people, sun and fire."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from alerts.signals import Condition
from alerts.thermal import CameraState, ThermalConfig, analyse
from contract.alarms import AlertClass, Rule

H, W = 64, 80  # small frames keep long scenes quick; bench/thermal.py times full-size ones
T0 = datetime(2025, 7, 1, 12, 0, tzinfo=UTC)
DEFAULT = ThermalConfig()
HORIZON = 24
Roofs = tuple[float, float, float]
ROOF_XS = ((0, 26), (26, 53), (53, W))  # three roofs below the horizon, left to right
SHADE: Roofs = (32.0, 38.0, 35.0)
SUNLIT: Roofs = (65.0, 68.0, 62.0)  # a Guangzhou summer afternoon


def quarter(seed: int = 0, *, roofs_c: Roofs | None = None) -> np.ndarray:
    """Sky from 10 to 20 °C above the horizon, three roofs (30-40 °C unless told), noise."""
    rng = np.random.default_rng(seed)
    temps = np.empty((H, W), np.float32)
    temps[:HORIZON] = np.linspace(10.0, 20.0, HORIZON, dtype=np.float32)[:, None]
    for (x0, x1), roof_c in zip(ROOF_XS, roofs_c or SHADE, strict=True):
        temps[HORIZON:, x0:x1] = roof_c
    return temps + rng.normal(0.0, 0.3, temps.shape).astype(np.float32)


def inside(detail: dict[str, object], x0: int, y0: int, size: int) -> bool:
    """The detail's hottest pixel lies in the size x size patch at (x0, y0)."""
    x, y = detail["x"], detail["y"]
    assert isinstance(x, int) and isinstance(y, int)
    return x0 <= x < x0 + size and y0 <= y < y0 + size


def with_fire(temps: np.ndarray, cy: int, cx: int, radius: float, peak_c: float) -> np.ndarray:
    """A cone of heat, hottest at its centre, never cooler than what it burns on."""
    yy, xx = np.ogrid[:H, :W]
    distance = np.hypot(yy - cy, xx - cx)
    fire = np.where(distance <= radius, peak_c - 3.0 * distance, -np.inf)
    out: np.ndarray = np.maximum(temps, fire).astype(np.float32)
    return out


def with_patch(temps: np.ndarray, y0: int, x0: int, size: int, temp_c: float) -> np.ndarray:
    out = temps.copy()
    out[y0 : y0 + size, x0 : x0 + size] = temp_c
    return out


class Dome:
    """One camera fed frames at an event time that only moves forward unless told otherwise."""

    def __init__(self, config: ThermalConfig = DEFAULT, camera_id: str = "TC-7") -> None:
        self.state = CameraState()
        self.config = config
        self.camera_id = camera_id
        self.at = T0
        self.log: list[Condition] = []

    def see(
        self,
        temps: np.ndarray,
        *,
        preset: str | None = None,
        after_s: float = 1.0,
        at: datetime | None = None,
    ) -> list[Condition]:
        when = at if at is not None else self.at + timedelta(seconds=after_s)
        self.at = max(self.at, when)
        out = analyse(
            self.state, temps, camera_id=self.camera_id, preset=preset, at=when, config=self.config
        )
        self.log.extend(out)
        return out

    def raised(self, rule: Rule) -> list[Condition]:
        return [c for c in self.log if c.rule is rule and c.active]

    def learn(
        self, frames: int = 10, *, preset: str | None = None, roofs_c: Roofs | None = None
    ) -> None:
        for n in range(frames):
            assert self.see(quarter(n, roofs_c=roofs_c), preset=preset) == []


def rules(conditions: list[Condition]) -> dict[Rule, bool]:
    return {c.rule: c.active for c in conditions}


def test_a_growing_fire_raises_the_hotspot_within_the_dwell_where_it_burns() -> None:
    dome = Dome()
    dome.learn()
    cy, cx, onset_at = 40, 50, None
    for n in range(20):
        frame = with_fire(quarter(100 + n), cy, cx, radius=1.0 + 0.5 * n, peak_c=40.0 + 15.0 * n)
        conditions = dome.see(frame)
        if onset_at is None and np.count_nonzero(frame >= DEFAULT.alarm_c) >= 4:
            onset_at = dome.at
        if Rule.CAMERA_HOTSPOT in rules(conditions):
            break
    assert onset_at is not None
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert hotspot.at - onset_at == timedelta(seconds=DEFAULT.dwell_s)
    assert hotspot.alert_class is AlertClass.FIRE
    assert hotspot.subject == "TC-7"
    assert hotspot.value is not None and hotspot.value >= 100.0
    detail = hotspot.detail
    assert (detail["x"], detail["y"]) == (cx, cy)
    x0, y0, x1, y1 = detail["bbox"]
    assert x0 < cx < x1 and y0 < cy < y1
    assert x1 - x0 <= 2 * 6 + 1 and y1 - y0 <= 2 * 6 + 1  # the fire, not the roof around it
    assert detail["area_px"] >= DEFAULT.min_area_px
    assert detail["max_c"] == hotspot.value
    assert detail["delta_c"] >= DEFAULT.delta_c
    assert detail["preset"] is None
    # It grew frame after frame, so the growth rule raised a fire alarm before the dwell ended.
    (growth,) = dome.raised(Rule.CAMERA_GROWTH)[:1]
    assert growth.alert_class is AlertClass.FIRE and growth.at < hotspot.at


def test_a_roof_heating_all_afternoon_and_a_walking_person_raise_nothing() -> None:
    dome = Dome()
    steps = 4 * 360  # four hours, a frame every 10 s
    person_over_sky = 0.0
    for n in range(steps):
        roof_c = 35.0 + 30.0 * n / (steps - 1)  # the middle roof, from 35 to 65 °C
        frame = quarter(n % 50, roofs_c=(32.0, roof_c, 35.0))
        x = n % (W - 2)  # a person (34 °C, 2x5 px) walking along the skyline
        sky_c = float(frame[4:9, x : x + 2].mean())
        frame[4:9, x : x + 2] = 34.0
        person_over_sky = max(person_over_sky, 34.0 - sky_c)
        y, x = HORIZON + 10 + (n // 30) % 20, (n * 3) % (W - 2)  # another crossing the roofs
        frame[y : y + 5, x : x + 2] = 34.0
        dome.see(frame, after_s=10.0)
    assert dome.log == []
    assert len(dome.state.presets[None].history) <= DEFAULT.growth_frames + 1  # memory bounded
    # The scene did test the gates: ΔT alone would flag the person, the level alone the roof.
    assert person_over_sky >= DEFAULT.delta_c
    assert roof_c >= 65.0 > DEFAULT.alarm_c
    # And a fire on that hot roof still stands out: 85 °C is 20 °C above what it learnt.
    for _ in range(5):
        dome.see(with_patch(quarter(7, roofs_c=(32.0, 65.0, 35.0)), 40, 36, 4, 85.0))
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert inside(hotspot.detail, 36, 40, 4)


def test_a_person_walking_into_a_cold_night_scene_is_no_sudden_rise() -> None:
    night: Roofs = (20.0, 22.0, 21.0)
    dome = Dome()
    dome.learn(roofs_c=night)
    for n in range(30):
        frame = quarter(n, roofs_c=night)
        frame[4:9, 2 * n : 2 * n + 2] = 34.0  # on the skyline, against a 12 °C sky
        dome.see(frame)
    # 12 °C above the frame's earlier maximum within a second, and ΔT above delta_c: only
    # the pre-alarm level in the sudden-rise rule keeps this from being one.
    assert 34.0 - float(quarter(0, roofs_c=night).max()) >= DEFAULT.rise_c
    assert dome.log == []


def test_the_background_learns_in_event_time_whatever_the_frame_rate() -> None:
    raised_at_c = {}
    for fps in (10.0, 0.5):
        dome = Dome()
        dome.learn()
        for n in range(1, int(20 * fps) + 1):  # a spot heating 3 °C a second from 35 °C
            temp_c = 35.0 + 3.0 * n / fps
            dome.see(with_patch(quarter(n % 9), 50, 60, 3, temp_c), after_s=1 / fps)
            if dome.raised(Rule.CAMERA_PREALARM):
                raised_at_c[fps] = temp_c
                break
    # Seen at 10 frames a second it stands out as early as at one frame every 2 s.
    assert raised_at_c.keys() == {10.0, 0.5}
    assert all(50.0 <= temp_c <= 53.0 for temp_c in raised_at_c.values())


def test_hysteresis_holds_the_alarm_at_54_and_clears_it_below_52() -> None:
    dome = Dome()
    dome.learn()
    for _ in range(4):
        dome.see(with_patch(quarter(1), 40, 10, 5, 60.0))
    assert [c.active for c in dome.raised(Rule.CAMERA_HOTSPOT)] == [True]
    for temp_c in (54.0, 53.0, 52.0):
        conditions = dome.see(with_patch(quarter(2), 40, 10, 5, temp_c))
        assert Rule.CAMERA_HOTSPOT not in rules(conditions)  # neither cleared nor repeated
    conditions = dome.see(with_patch(quarter(3), 40, 10, 5, 51.0))
    assert rules(conditions).get(Rule.CAMERA_HOTSPOT) is False
    (cleared,) = [c for c in conditions if c.rule is Rule.CAMERA_HOTSPOT]
    assert cleared.alert_class is AlertClass.FIRE and cleared.value == 51.0
    assert inside(cleared.detail, 10, 40, 5)
    # 51 °C is still a pre-alarm. Its level and the ΔT gate have the same 3 °C band: 44.5 °C on
    # this 32 °C roof could not start one (under 45 °C, and ΔT under 15) but holds it.
    assert Rule.CAMERA_PREALARM not in rules(conditions)
    assert Rule.CAMERA_PREALARM not in rules(dome.see(with_patch(quarter(4), 40, 10, 5, 44.5)))
    conditions = dome.see(with_patch(quarter(5), 40, 10, 5, 41.0))
    assert rules(conditions) == {Rule.CAMERA_PREALARM: False, Rule.CAMERA_SUDDEN_RISE: False}


@pytest.mark.parametrize("frames", [1, 2])
def test_a_glint_shorter_than_the_dwell_raises_no_hotspot(frames: int) -> None:
    dome = Dome()
    dome.learn()
    for _ in range(frames):
        dome.see(with_patch(quarter(1), 30, 60, 3, 120.0))  # sun off a window
    for n in range(10):
        dome.see(quarter(20 + n))
    assert dome.raised(Rule.CAMERA_HOTSPOT) == []
    assert dome.raised(Rule.CAMERA_GROWTH) == []
    # It was seen (a pre-alarm, a sudden rise), and both returned to normal when it went.
    assert [(c.rule, c.active) for c in dome.log] == [
        (Rule.CAMERA_PREALARM, True),
        (Rule.CAMERA_SUDDEN_RISE, True),
        (Rule.CAMERA_PREALARM, False),
        (Rule.CAMERA_SUDDEN_RISE, False),
    ]


def test_a_sudden_rise_is_a_prealarm_and_a_slow_one_is_not() -> None:
    dome = Dome()
    dome.learn()
    dome.see(with_patch(quarter(1), 50, 5, 3, 40.0))
    conditions = dome.see(with_patch(quarter(2), 50, 5, 3, 52.0), after_s=2.0)
    (rise,) = [c for c in conditions if c.rule is Rule.CAMERA_SUDDEN_RISE]
    assert rise.active and rise.alert_class is AlertClass.PREALARM
    assert rise.value == 52.0 and inside(rise.detail, 5, 50, 3)

    slow = Dome()
    slow.learn()
    for n in range(121):  # the same 3x3 spot, 38 -> 56 °C over two minutes
        slow.see(with_patch(quarter(n % 7), 50, 5, 3, 38.0 + 0.15 * n))
    assert slow.raised(Rule.CAMERA_SUDDEN_RISE) == []

    patrol = Dome()  # the same jump, but seen 20 s apart: not within the 10 s window
    patrol.learn()
    patrol.see(with_patch(quarter(1), 50, 5, 3, 40.0), after_s=20.0)
    patrol.see(with_patch(quarter(2), 50, 5, 3, 52.0), after_s=20.0)
    assert patrol.raised(Rule.CAMERA_SUDDEN_RISE) == []
    assert patrol.raised(Rule.CAMERA_PREALARM) != []  # it is hot, just not suddenly so


def test_a_spreading_hot_area_raises_growth_and_a_steady_one_does_not() -> None:
    dome = Dome(replace(DEFAULT, dwell_s=60.0))
    dome.learn()
    for side in (2, 3, 4, 5):  # 4, 9, 16, 25 px at 70 °C
        conditions = dome.see(with_patch(quarter(side), 40, 8, side, 70.0))
        assert rules(conditions).get(Rule.CAMERA_GROWTH) is (True if side >= 4 else None)
    first, again = dome.raised(Rule.CAMERA_GROWTH)
    assert first.alert_class is AlertClass.FIRE
    assert (first.value, again.value) == (16.0, 25.0)  # pixels, and the repeat's new peak
    assert first.detail["bbox"] == [8, 40, 11, 43] and first.detail["area_px"] == 16

    steady = Dome()
    steady.learn()
    for n in range(10):
        steady.see(with_patch(quarter(n), 40, 8, 4, 70.0))
    assert steady.raised(Rule.CAMERA_GROWTH) == []
    assert len(steady.raised(Rule.CAMERA_HOTSPOT)) == 1
    for extra in (1, 2, 3):  # then creeping, a pixel a frame: growing, but far from doubling
        frame = with_patch(quarter(20 + extra), 40, 8, 4, 70.0)
        frame[44, 8 : 8 + extra] = 70.0
        steady.see(frame)
    assert [s.alarm_px for s in steady.state.presets[None].history][-4:] == [16, 17, 18, 19]
    assert steady.raised(Rule.CAMERA_GROWTH) == []


def test_while_active_a_rule_repeats_only_when_its_peak_rises() -> None:
    dome = Dome()
    dome.learn()
    for _ in range(4):
        dome.see(with_patch(quarter(1), 40, 10, 5, 60.0))
    assert dome.see(with_patch(quarter(2), 40, 10, 5, 60.0)) == []
    conditions = dome.see(with_patch(quarter(3), 40, 10, 5, 70.0))
    assert [c.rule for c in conditions] == [
        Rule.CAMERA_HOTSPOT,
        Rule.CAMERA_PREALARM,
        Rule.CAMERA_SUDDEN_RISE,  # a 60 °C patch out of nowhere was a sudden rise too
    ]
    assert all(c.active and c.value == 70.0 for c in conditions)
    assert dome.see(with_patch(quarter(4), 40, 10, 5, 65.0)) == []


def test_each_preset_learns_its_own_scene_and_the_camera_clears_when_all_have() -> None:
    scenes = {"east": SHADE, "west": SUNLIT}  # the dome patrols two sides of the quarter
    dome = Dome()
    for n in range(40):
        name = "east" if n % 2 == 0 else "west"
        dome.see(quarter(n, roofs_c=scenes[name]), preset=name, after_s=5.0)
    assert dome.log == []
    assert set(dome.state.presets) == {"east", "west"}

    # One background for both scenes would have flagged the sunlit roofs at once.
    single = Dome()
    for n in range(4):
        single.see(quarter(n, roofs_c=SHADE if n % 2 == 0 else SUNLIT), after_s=5.0)
    assert single.raised(Rule.CAMERA_PREALARM) != []

    for _ in range(3):
        dome.see(with_fire(quarter(1), 40, 20, 3.0, 150.0), preset="east", after_s=2.0)
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert hotspot.detail["preset"] == "east" and hotspot.detail["x"] == 20
    # The dome turns west, where a second fire burns for a while and then goes out...
    for _ in range(4):  # 3 s: its dwell
        dome.see(with_fire(quarter(2, roofs_c=SUNLIT), 50, 70, 3.0, 150.0), preset="west")
    assert dome.state.presets["west"].active.keys() >= {Rule.CAMERA_HOTSPOT}
    assert dome.see(quarter(3, roofs_c=SUNLIT), preset="west") == []
    assert Rule.CAMERA_HOTSPOT not in dome.state.presets["west"].active
    # ...but the camera's alarm is not cleared until it looks east and that fire is out too.
    conditions = dome.see(quarter(4), preset="east")
    assert rules(conditions)[Rule.CAMERA_HOTSPOT] is False
    assert all(not c.active and c.detail["preset"] == "east" for c in conditions)


def test_frames_older_than_the_last_are_ignored() -> None:
    dome = Dome()
    dome.learn()
    scene = dome.state.presets[None]
    background, last_at, history = scene.background.copy(), scene.last_at, list(scene.history)
    burning = with_fire(quarter(1), 40, 20, 4.0, 300.0)
    for at in (last_at - timedelta(seconds=5), last_at):  # late, and a repeat of the last time
        assert dome.see(burning, at=at) == []
    assert np.array_equal(scene.background, background)
    assert (scene.last_at, list(scene.history), scene.dwell_since) == (last_at, history, None)
    assert dome.see(quarter(2)) == []


def test_a_new_frame_size_relearns_that_preset() -> None:
    dome = Dome()
    dome.learn(preset="p1")
    assert dome.see(quarter(1)[:48, :60], preset="p1") == []
    assert dome.state.presets["p1"].background.shape == (48, 60)
    for _ in range(5):
        dome.see(with_patch(quarter(2), 30, 30, 4, 80.0)[:48, :60], preset="p1")
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert inside(hotspot.detail, 30, 30, 4)


def test_after_a_long_gap_the_preset_relearns_instead_of_alarming_on_sunlit_roofs() -> None:
    for relearn_after_s, alarms in ((DEFAULT.relearn_after_s, False), (float("inf"), True)):
        dome = Dome(replace(DEFAULT, relearn_after_s=relearn_after_s))
        dome.learn(roofs_c=SHADE)  # in the morning; the dome then sits on another preset
        dome.see(quarter(1, roofs_c=SUNLIT), after_s=3 * 3600)
        for n in range(5):
            dome.see(quarter(2 + n, roofs_c=SUNLIT))
        assert bool(dome.raised(Rule.CAMERA_HOTSPOT)) is alarms


def test_a_smoulder_too_slow_for_the_background_still_alarms_at_the_absolute_level() -> None:
    dome = Dome()
    dome.learn()
    first_at = None
    for n in range(800):  # a 3x3 spot warming 1 °C a minute, a frame every 5 s
        temp_c = 35.0 + n / 12
        dome.see(with_patch(quarter(n % 9), 50, 60, 3, temp_c), after_s=5.0)
        if dome.log and first_at is None:
            first_at = temp_c
        if dome.raised(Rule.CAMERA_HOTSPOT):
            break
    # Learnt up to 75 °C and no further, so it stands out at exactly 90 °C, and alarms a frame
    # (5 s, past the dwell) later.
    assert first_at == pytest.approx(DEFAULT.absolute_c)
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert hotspot.value == pytest.approx(DEFAULT.absolute_c + 5 / 60, abs=0.01)


def test_a_cold_start_learns_the_scene_but_not_a_spot_above_the_absolute_level() -> None:
    dome = Dome()
    conditions = dome.see(with_fire(quarter(0, roofs_c=SUNLIT), 45, 40, 3.0, 150.0))
    assert rules(conditions) == {Rule.CAMERA_PREALARM: True}
    assert (conditions[0].detail["x"], conditions[0].detail["y"]) == (40, 45)  # not a roof
    for _ in range(3):
        dome.see(with_fire(quarter(1, roofs_c=SUNLIT), 45, 40, 3.0, 150.0))
    (hotspot,) = dome.raised(Rule.CAMERA_HOTSPOT)
    assert hotspot.at - T0 == timedelta(seconds=1 + DEFAULT.dwell_s)
    assert hotspot.detail["x"] == 40

    quiet = Dome()  # the same sunlit roofs without the fire: nothing, then or later
    for n in range(5):
        quiet.see(quarter(n, roofs_c=SUNLIT))
    assert quiet.log == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("alarm_c", 40.0),
        ("clear_c", 55.0),
        ("clear_c", float("nan")),
        ("prealarm_c", float("inf")),
        ("absolute_c", 50.0),
        ("delta_c", 3.0),
        ("min_area_px", 0),
        ("min_area_px", 2.5),
        ("dwell_s", -1.0),
        ("rise_c", 0.0),
        ("rise_window_s", float("inf")),
        ("growth_frames", 0),
        ("growth_factor", 1.0),
        ("background_tau_s", 0.0),
        ("relearn_after_s", 0.0),
        ("cluster_gap_px", 0),
        ("cluster_gap_px", True),
    ],
)
def test_config_rejects_out_of_range_values_naming_the_field(field: str, value: object) -> None:
    override: dict[str, Any] = {field: value}
    with pytest.raises(ValueError, match=rf"^{field} must be .+, got {value!r}$"):
        replace(DEFAULT, **override)


def test_thresholds_are_set_per_camera() -> None:
    custom = ThermalConfig(
        alarm_c=70.0,
        clear_c=66.0,
        prealarm_c=60.0,
        absolute_c=float("inf"),
        relearn_after_s=float("inf"),
        min_area_px=1,
        dwell_s=0.0,
    )
    dome = Dome(custom)
    dome.learn()
    conditions = dome.see(with_patch(quarter(1), 40, 40, 1, 72.0))
    assert rules(conditions)[Rule.CAMERA_HOTSPOT] is True  # one pixel, no dwell
    assert dome.see(with_patch(quarter(2), 40, 40, 1, 67.0)) == []  # still above 66 °C


def test_a_frame_must_be_two_dimensional() -> None:
    with pytest.raises(ValueError, match="height, width"):
        Dome().see(np.zeros(10, np.float32))


@settings(max_examples=60, deadline=None)
@given(
    scene=arrays(np.float32, (6, 9), elements=st.floats(-10.0, 40.0, width=32)),
    frames=st.lists(
        st.tuples(
            arrays(np.float32, (6, 9), elements=st.floats(-4.0, 4.0, width=32)),
            st.floats(0.04, 1200.0),
            st.sampled_from([None, "p1", "p2"]),
        ),
        min_size=1,
        max_size=25,
    ),
)
def test_frames_near_their_background_and_below_the_prealarm_never_raise(
    scene: np.ndarray, frames: list[tuple[np.ndarray, float, str | None]]
) -> None:
    dome = Dome()
    dome.see(scene)
    for wobble, after_s, preset in frames:
        frame = np.minimum(scene + wobble, np.float32(DEFAULT.prealarm_c - 0.01))
        dome.see(frame, preset=preset, after_s=after_s)
    assert [c for c in dome.log if c.active] == []


def test_the_benchmark_runs_and_reports_its_target(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench.thermal import main

    monkeypatch.setenv("FIREWATCH_BENCH_RESULTS", str(tmp_path))  # not over `make bench`'s
    main(["--frames", "6", "--repeat", "1"])
    assert (tmp_path / "thermal.json").exists()
    out = capsys.readouterr().out
    assert "640x512" in out and "analyse / baseline" in out
    assert "target: < 10 ms per 640x512 frame: met" in out
