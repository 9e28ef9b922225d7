"""Thermal-frame analysis for the dual-spectrum domes: one decoded frame in, rule changes out.

Pure and vectorised: the caller keeps one `CameraState` per camera and hands over each frame
with its event time, so a replay gives the same answers as the live run, and a 640x512 frame
costs a fraction of a millisecond when nothing is hot.

Why every level is gated by ΔT. Sun-heated roofs in a Guangzhou summer reach 60-70 °C, above
the 55 °C alarm level, for the whole afternoon. So a pixel counts towards a level only if it is
also `delta_c` above its own learnt background (an exponential average in event time, from
which hot pixels are left out): a roof that heats over hours is learnt and stays quiet, a fire
on that roof is not. ΔT alone is not enough either: a person (about 34 °C) stands out from a
cold sky by more than `delta_c`. Hence every rule, the pre-alarm too, needs both a level and
ΔT; the levels remain settable per camera and preset.

Why one level that no background can hide. A smoulder that warms more slowly than the
background learns would be learnt away. The background is therefore never learnt above
`absolute_c - delta_c`, so a pixel at `absolute_c` (90 °C, which no sunlit surface here
reaches) is always `delta_c` above it and counts for every rule, whatever happened before.

Cold starts. The first frame of a preset, and the first after a new frame size or a gap of
`relearn_after_s` (the sun has moved on meanwhile: comparing with the old background would
alarm on every roof), only learns the background, capped as above. Only spots at `absolute_c`
can therefore raise from a cold start, which is safe because nothing normal is that hot; the
hotspot still waits for its dwell. Rules already active stay so, and are judged again against
the new background.

Conditions are changes. ``active=True`` when a rule starts to hold, and again while it holds,
at most once per rule and call, whenever its value passes the highest one reported for it
(the alert's peak). ``active=False`` when it stops holding. A rule starts on a stricter test
than the one it holds on: once active, its level and the ΔT gate both drop by the alarm's
hysteresis band (`alarm_c - clear_c`), so a value near either does not chatter.

Presets. Each preset has its own background, history and rule state, but the subject is the
camera: a preset's return to normal is not reported while another preset of the camera still
has the rule active. A preset the dome never comes back to keeps its rules active.

Where. ``detail`` names the hottest hot pixel and the bounding box of the hot pixels chained
to it: pixels up to `cluster_gap_px` from the box join it and the box grows until nothing more
joins. That avoids labelling components (numpy only), at a price: a concave region's box can
swallow a separate spot in its hollow. The rules count hot pixels over the whole frame, not
per spot.

Frames from one preset must be finite °C (as `contract.frames.decode_frame` gives them). Frames
that are not newer than the preset's last one are ignored. A `CameraState` is not for sharing
between threads.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any, NamedTuple

import numpy as np
import numpy.typing as npt

from alerts.signals import Condition
from contract.alarms import AlertClass, Rule

Temps = npt.NDArray[np.float32]
Mask = npt.NDArray[np.bool_]
Pixels = npt.NDArray[np.intp]


@dataclass(kw_only=True, frozen=True, slots=True)
class ThermalConfig:
    """Thresholds for one camera or preset: a dome over an old quarter's roofs, ~500 m away."""

    # DESIGN.md: alarm at 55 °C, clear below 52 °C. The same 3 °C band serves the pre-alarm
    # level and the ΔT gate.
    alarm_c: float = 55.0
    clear_c: float = 52.0
    # Well above any person (skin at most ~37 °C), well below the alarm: an early look.
    prealarm_c: float = 45.0
    # The sun moves a surface a few °C an hour; the background trails that by well under 1 °C.
    delta_c: float = 15.0
    # No sunlit surface reaches it (roofs 60-70 °C, dark metal ~80 °C); inf turns it off.
    absolute_c: float = 90.0
    # A 2x2 block: a single hot pixel is more often a dead pixel or a glint than a fire.
    min_area_px: int = 4
    # Window glints and passing exhausts last a second or two; a fire does not go away.
    dwell_s: float = 3.0
    # 60 °C/min, seven times a heat detector's 8.3 °C/min: flaming ignition, never the sun.
    rise_c: float = 10.0
    rise_window_s: float = 10.0
    # Growing on each of 3 frames running and doubling: flames spreading; flicker shrinks too.
    growth_frames: int = 3
    growth_factor: float = 2.0
    # The background trails a ramp by rate x tau, so anything heating faster than
    # delta_c / tau = 7.5 °C/min (a heat detector's rate of rise) stands out; sun and clouds
    # are slower. A time constant, not a per-frame alpha, so the frame rate does not matter.
    background_tau_s: float = 120.0
    # A dome parked on another preset for 10 minutes comes back to a scene the sun has changed.
    relearn_after_s: float = 600.0
    # Flames flicker and leave holes: pixels up to 2 px from the spot's box still belong to it.
    cluster_gap_px: int = 2

    def __post_init__(self) -> None:
        finite = math.isfinite
        checks = (
            ("prealarm_c", finite(self.prealarm_c), "a finite temperature"),
            (
                "alarm_c",
                finite(self.alarm_c) and self.alarm_c > self.prealarm_c,
                f"finite and above prealarm_c ({self.prealarm_c})",
            ),
            (
                "clear_c",
                finite(self.clear_c) and self.clear_c < self.alarm_c,
                f"finite and below alarm_c ({self.alarm_c})",
            ),
            (
                "absolute_c",
                self.absolute_c > self.alarm_c,
                f"above alarm_c ({self.alarm_c}), or inf",
            ),
            (
                "delta_c",
                finite(self.delta_c) and self.delta_c > self.alarm_c - self.clear_c,
                f"finite and above alarm_c - clear_c ({self.alarm_c - self.clear_c})",
            ),
            ("min_area_px", _count(self.min_area_px, 1), "an integer >= 1"),
            ("dwell_s", finite(self.dwell_s) and self.dwell_s >= 0, "finite and >= 0"),
            ("rise_c", finite(self.rise_c) and self.rise_c > 0, "finite and > 0"),
            (
                "rise_window_s",
                finite(self.rise_window_s) and self.rise_window_s > 0,
                "finite and > 0",
            ),
            ("growth_frames", _count(self.growth_frames, 1), "an integer >= 1"),
            (
                "growth_factor",
                finite(self.growth_factor) and self.growth_factor > 1,
                "finite and > 1",
            ),
            (
                "background_tau_s",
                finite(self.background_tau_s) and self.background_tau_s > 0,
                "finite and > 0",
            ),
            ("relearn_after_s", self.relearn_after_s > 0, "> 0, or inf"),
            ("cluster_gap_px", _count(self.cluster_gap_px, 1), "an integer >= 1"),
        )
        for name, ok, allowed in checks:
            if not ok:
                raise ValueError(f"{name} must be {allowed}, got {getattr(self, name)!r}")


def _count(value: object, low: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= low


class Sample(NamedTuple):
    """One frame as the rise and growth rules remember it."""

    at: datetime
    max_c: float
    alarm_px: int


@dataclass(slots=True)
class PresetState:
    """What one preset's scene has taught us; a new frame size or a long gap starts it again."""

    background: Temps
    last_at: datetime
    history: deque[Sample] = field(default_factory=deque)
    dwell_since: datetime | None = None
    active: dict[Rule, float] = field(default_factory=dict)  # rule -> peak reported


@dataclass(slots=True)
class CameraState:
    """One camera's presets, and scratch arrays reused so that, once a preset's background is
    learnt, a frame allocates nothing full-size."""

    presets: dict[str | None, PresetState] = field(default_factory=dict)
    _delta: Temps = field(
        default_factory=lambda: np.empty((0, 0), np.float32), init=False, repr=False
    )
    _mask: Mask = field(default_factory=lambda: np.empty((0, 0), np.bool_), init=False, repr=False)

    def _scratch(self, shape: tuple[int, ...]) -> tuple[Temps, Mask]:
        if self._delta.shape != shape:
            self._delta = np.empty(shape, np.float32)
            self._mask = np.empty(shape, np.bool_)
        return self._delta, self._mask


def analyse(  # noqa: C901, PLR0912, PLR0915 - the frame's analysis steps in order, a few numpy lines each; split, they would pass a dozen arrays between them
    state: CameraState,
    temps: npt.NDArray[np.floating[Any]],
    *,
    camera_id: str,
    preset: str | None,
    at: datetime,
    config: ThermalConfig,
) -> list[Condition]:
    """One frame of one preset; returns only the rules whose state changed or whose peak rose."""
    frame = np.ascontiguousarray(temps, dtype=np.float32)
    if frame.ndim != 2:
        raise ValueError(f"temps must be a (height, width) array, got shape {frame.shape}")
    scene = state.presets.get(preset)
    if scene is not None and at <= scene.last_at:
        return []
    ceiling = config.absolute_c - config.delta_c
    if (
        scene is None
        or scene.background.shape != frame.shape
        or (at - scene.last_at).total_seconds() >= config.relearn_after_s
    ):
        scene = PresetState(
            np.minimum(frame, np.float32(ceiling)), at, active=scene.active if scene else {}
        )
        state.presets[preset] = scene
        alpha = 0.0  # a fresh background has nothing more to learn from its own frame
    else:
        alpha = -math.expm1(-(at - scene.last_at).total_seconds() / config.background_tau_s)
    background = scene.background

    # Hot pixels: ΔT within the band below delta_c hold a rule and are not learnt; a rule
    # starts only on those at delta_c or more.
    band_c = config.alarm_c - config.clear_c
    delta, mask = state._scratch(frame.shape)
    np.subtract(frame, background, out=delta)
    np.greater_equal(delta, config.delta_c - band_c, out=mask)
    flat: Pixels = np.flatnonzero(mask) if np.count_nonzero(mask) else _NO_PIXELS
    values = frame.ravel()[flat]
    starting = values[delta.ravel()[flat] >= config.delta_c]
    frame_max = float(frame.max())
    spot_max = round(float(values.max()), 2) if values.size else -math.inf
    start_max = float(starting.max()) if starting.size else -math.inf

    def px(level: float, among: Temps = values) -> int:
        return int(np.count_nonzero(among >= level))

    warm_hold_c = config.prealarm_c - band_c
    min_px, active = config.min_area_px, scene.active
    alarm_px = px(config.alarm_c, starting)
    if alarm_px < min_px:
        scene.dwell_since = None
    elif scene.dwell_since is None:
        scene.dwell_since = at
    dwelt = scene.dwell_since is not None and (
        (at - scene.dwell_since).total_seconds() >= config.dwell_s
    )
    baseline_c, grew = _remember(scene.history, Sample(at, frame_max, alarm_px), config)
    hot_holds = px(config.clear_c) >= min_px
    # (rule, class, holds, pixels to locate it by) - each starts strictly, then holds loosely.
    verdicts = (
        (
            Rule.CAMERA_HOTSPOT,
            AlertClass.FIRE,
            hot_holds if Rule.CAMERA_HOTSPOT in active else dwelt,
            config.clear_c,
        ),
        (
            Rule.CAMERA_GROWTH,
            AlertClass.FIRE,
            hot_holds if Rule.CAMERA_GROWTH in active else grew,
            config.clear_c,
        ),
        (
            Rule.CAMERA_PREALARM,
            AlertClass.PREALARM,
            (px(warm_hold_c) if Rule.CAMERA_PREALARM in active else px(config.prealarm_c, starting))
            >= min_px,
            warm_hold_c,
        ),
        (
            Rule.CAMERA_SUDDEN_RISE,
            AlertClass.PREALARM,
            spot_max >= warm_hold_c
            if Rule.CAMERA_SUDDEN_RISE in active
            else start_max >= config.prealarm_c and start_max - baseline_c >= config.rise_c,
            warm_hold_c,
        ),
    )

    out: list[Condition] = []
    for rule, alert_class, holds, level_c in verdicts:
        value = float(alarm_px) if rule is Rule.CAMERA_GROWTH else spot_max
        peak = active.get(rule)
        if holds:
            if peak is not None and value <= peak:
                continue
            active[rule] = value
            where = flat[values >= level_c]
        elif peak is None:
            continue
        else:
            del active[rule]
            if any(rule in other.active for other in state.presets.values()):
                continue
            # A return to normal points at what is left: the hot pixels, else the hottest one.
            where = flat if flat.size else np.array([np.argmax(frame)], np.intp)
        detail = _detail(frame, delta, where, preset, config.cluster_gap_px)
        if rule is not Rule.CAMERA_GROWTH:
            value = detail["max_c"]
        out.append(
            Condition(
                subject=camera_id,
                rule=rule,
                alert_class=alert_class,
                active=holds,
                at=at,
                value=value,
                detail=detail,
            )
        )

    if alpha:
        # Learn all but the hot pixels; zeroing their few steps beats a masked add by far.
        np.multiply(delta, alpha, out=delta)
        delta.ravel()[flat] = 0.0
        np.add(background, delta, out=background)
        if frame_max > ceiling:
            np.minimum(background, np.float32(ceiling), out=background)
    scene.last_at = at
    return out


_NO_PIXELS: Pixels = np.empty(0, np.intp)


def _remember(history: deque[Sample], sample: Sample, config: ThermalConfig) -> tuple[float, bool]:
    """The lowest frame maximum in the rise window before `sample`, and whether the alarm-level
    area grew enough over the last frames; only as many frames are kept as both need."""
    since = sample.at - timedelta(seconds=config.rise_window_s)
    baseline_c = min((s.max_c for s in history if s.at >= since), default=math.inf)
    history.append(sample)
    while len(history) > config.growth_frames + 1 and history[0].at < since:
        history.popleft()
    run = list(history)[-(config.growth_frames + 1) :]
    grew = (
        len(run) == config.growth_frames + 1
        and all(a.alarm_px < b.alarm_px for a, b in pairwise(run))
        and sample.alarm_px
        >= max(config.min_area_px, config.growth_factor * max(run[0].alarm_px, 1))
    )
    return baseline_c, grew


def _detail(
    frame: Temps, delta: Temps, where: Pixels, preset: str | None, gap_px: int
) -> dict[str, Any]:
    """Where the operator should look: the hottest of `where` and the box of its spot."""
    width = frame.shape[1]
    hottest = int(where[np.argmax(frame.ravel()[where])])
    y, x = divmod(hottest, width)
    ys, xs = np.divmod(where, width)
    y0, x0, y1, x1 = y, x, y, x
    while True:
        near = (ys >= y0 - gap_px) & (ys <= y1 + gap_px) & (xs >= x0 - gap_px)
        near &= xs <= x1 + gap_px
        box = (int(ys[near].min()), int(xs[near].min()), int(ys[near].max()), int(xs[near].max()))
        if box == (y0, x0, y1, x1):
            break
        y0, x0, y1, x1 = box
    return {
        "x": x,
        "y": y,
        "bbox": [x0, y0, x1, y1],
        "area_px": int(np.count_nonzero(near)),
        "max_c": round(float(frame[y, x]), 2),
        "delta_c": round(float(delta[y, x]), 2),
        "preset": preset,
    }
