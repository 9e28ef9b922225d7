"""The stage a scenario is built on: its devices' timelines in event time, and its ground truth.

A scenario declares what each device goes through (smoke and heat curves, a leak, a silence,
a hot spot in a camera's view) and what the engine must and must not raise. The stage turns
that into messages: each device reports on its own schedule, faster while something is
happening to it (as detectors do when a value moves), sends its heartbeats, and numbers its
messages in time order.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from simulators.environment import ZERO, Curve
from simulators.expectations import Expectation, Expected, Forbidden
from simulators.models.camera import REGION, ThermalCamera
from simulators.models.camera_scene import Frame, HotSpot
from simulators.models.electrical import ElectricalMonitor
from simulators.models.smoke import SmokeDetector
from simulators.seeding import rng_for
from simulators.topology import Building, Device, Quarter
from simulators.wire import Message as WireMessage
from simulators.wire import Status, Wire

Build = Callable[[Wire, int], WireMessage | None]
Spots = Callable[[float], tuple[HotSpot, ...]]
Window = tuple[float, float]

DETECTOR_EVERY_S = 300.0  # a quiet detector reports its values every 5 min
MONITOR_EVERY_S = 60.0
CAMERA_FRAME_EVERY_S = 10.0
CAMERA_REGION_EVERY_S = 10.0
FAST_EVERY_S = 5.0  # while its values move
FAST_FRAME_EVERY_S = 2.0
HALL = "B-001"  # the community hall's sensors are the FSRI replay's targets; leave them be


@dataclass(frozen=True, slots=True)
class Message:
    """A message at ``t`` seconds (event time) after the scenario's start."""

    t: float
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class ScenarioRun:
    name: str
    messages: tuple[Message, ...]
    expectation: Expectation
    final_seq: dict[str, int]


class Stage:
    def __init__(
        self,
        *,
        name: str,
        quarter: Quarter,
        seed: int,
        start: datetime,
        preroll_s: float,
        duration_s: float,
        seq_base: Mapping[str, int],
    ) -> None:
        self.name, self.quarter, self.seed = name, quarter, seed
        # Device clocks travel in whole milliseconds: so does the scenario's start.
        self.start = start.replace(microsecond=start.microsecond // 1000 * 1000)
        self.onset = preroll_s
        self.end = preroll_s + duration_s
        self.rng = rng_for(seed, name)
        self._t0 = self.start.timestamp()
        self._seq_base = seq_base
        self._drafts: list[tuple[float, int, str, Build]] = []
        self._wires: dict[str, Wire] = {}
        self._expected: list[Expected] = []
        self._forbidden: list[Forbidden] = []
        self._watched: set[str] = set()
        self._absent: dict[str, Window] = {}  # a device taken down for a while says nothing

    # -- choosing where it happens ---------------------------------------------------------
    def pick_building(self, where: Callable[[Building, tuple[Device, ...]], bool]) -> Building:
        found = [
            b
            for b in self.quarter.buildings
            if b.id != HALL and where(b, self.quarter.in_building(b.id))
        ]
        if not found:
            raise ValueError(
                f"scenario {self.name}: no building in this quarter fits; use the "
                "full quarter (build_quarter) rather than a cut-down one"
            )
        return self.rng.choice(found)

    def devices(self, building: Building, model: str) -> list[Device]:
        return [d for d in self.quarter.in_building(building.id) if d.model == model]

    def camera_for(self, building: Building) -> Device:
        return self.quarter.cameras_covering(building.id)[0]

    def in_view(self, camera: Device, target: str) -> tuple[float, float]:
        """The pixel where the camera sees a target (a building's id: its roof)."""
        return ThermalCamera(camera.id, self.seed).scene.spot_for(target)

    # -- time --------------------------------------------------------------------------------
    def _ts(self, t: float) -> int:
        return round((self._t0 + t) * 1000)

    def _schedule(
        self, *, every: float, fast: Window | None, step: float, phase: float, until: float
    ) -> list[float]:
        times, t = [], phase
        while t < until:
            times.append(round(t, 3))
            in_fast = fast is not None and fast[0] <= t < fast[1]
            nxt = t + (step if in_fast else every)
            if fast is not None and t < fast[0] < nxt:
                nxt = fast[0]
            t = nxt
        return times

    # -- devices ------------------------------------------------------------------------------
    def _add(self, t: float, device: Device, build: Build) -> None:
        gone = self._absent.get(device.id)
        if gone is not None and gone[0] <= t < gone[1]:
            return
        if device.id not in self._wires:
            self._wires[device.id] = Wire(
                device.site, device.id, seq=self._seq_base.get(device.id, 0)
            )
        self._drafts.append((t, len(self._drafts), device.id, build))

    def involves(self, device: Device) -> bool:
        return device.id in self._wires

    def _heartbeats(
        self,
        device: Device,
        status: Callable[[float, random.Random], Status],
        rng: random.Random,
        until: float,
    ) -> None:
        """One on joining, then every heartbeat interval while the device is heard."""
        t = rng.uniform(0.0, 10.0)
        while t < until:

            def build(wire: Wire, ts: int, at: float = t) -> WireMessage:
                return wire.status(ts, status(self._t0 + at, rng))

            self._add(t, device, build)
            t += device.heartbeat_s

    def _readings(
        self,
        device: Device,
        values: Callable[[float, random.Random], dict[str, float]],
        *,
        every: float,
        fast: Window | None,
        step: float,
        until: float,
        loss: float,
        rng: random.Random,
        region: str | None = None,
    ) -> None:
        for t in self._schedule(
            every=every, fast=fast, step=step, phase=rng.uniform(1.0, min(every, 30.0)), until=until
        ):

            def build(wire: Wire, ts: int, at: float = t) -> WireMessage | None:
                sample = values(self._t0 + at, rng)
                if loss and rng.random() < loss:
                    wire.skip()
                    return None
                return wire.reading(ts, sample, region=region) if sample else None

            self._add(t, device, build)

    def detector(
        self,
        device: Device,
        *,
        smoke: Curve = ZERO,
        heat: Curve = ZERO,
        dust: Curve = ZERO,
        fast: Window | None = None,
        silent_from: float | None = None,
        loss: float = 0.0,
        absent: Window | None = None,
    ) -> None:
        """A ceiling detector; the curves are what the incident adds, over time since onset.
        ``absent``: stage times when it is taken down and says nothing at all."""
        if absent is not None:
            self._absent[device.id] = absent
        model = SmokeDetector.for_device(device.id, device.model, self.seed)
        rng = rng_for(self.seed, self.name, device.id)
        until = self.end if silent_from is None else silent_from
        onset = self.onset

        def values(at: float, r: random.Random) -> dict[str, float]:
            tau = at - self._t0 - onset
            return model.values(at, r, smoke=smoke(tau), heat=heat(tau), dust=dust(tau))

        self._heartbeats(device, model.status, rng, until)
        if model.model != "call_point":
            self._readings(
                device,
                values,
                every=DETECTOR_EVERY_S,
                fast=fast,
                step=FAST_EVERY_S,
                until=until,
                loss=loss,
                rng=rng,
            )

    def monitor(
        self,
        device: Device,
        *,
        leak: Curve = ZERO,
        cable: Curve = ZERO,
        fast: Window | None = None,
        silent_from: float | None = None,
        loss: float = 0.0,
    ) -> None:
        """An electrical-fire monitor; ``leak`` (mA) and ``cable`` (°C) over time since onset."""
        model = ElectricalMonitor.for_device(device.id, self.seed)
        rng = rng_for(self.seed, self.name, device.id)
        until = self.end if silent_from is None else silent_from
        onset = self.onset

        def values(at: float, r: random.Random) -> dict[str, float]:
            tau = at - self._t0 - onset
            return model.values(at, r, leak=leak(tau), cable=cable(tau))

        self._heartbeats(device, model.status, rng, until)
        self._readings(
            device,
            values,
            every=MONITOR_EVERY_S,
            fast=fast,
            step=FAST_EVERY_S,
            until=until,
            loss=loss,
            rng=rng,
        )

    def camera(
        self,
        device: Device,
        *,
        spots: Spots | None = None,
        fast: Window | None = None,
        cover_from: float | None = None,
    ) -> None:
        """A thermal camera; ``spots`` gives the hot spots at a time since onset."""
        model = ThermalCamera(device.id, self.seed)
        rng = rng_for(self.seed, self.name, device.id)
        onset = self.onset

        def render(at: float) -> Frame:
            tau = at - self._t0 - onset
            covered = cover_from is not None and at - self._t0 >= cover_from
            return model.frame(
                at,
                spots=spots(tau) if spots else (),
                cover_c=model.cover_c(at) if covered else None,
            )

        self._heartbeats(device, model.status, rng, self.end)
        for t in self._schedule(
            every=CAMERA_FRAME_EVERY_S,
            fast=fast,
            step=FAST_FRAME_EVERY_S,
            phase=rng.uniform(0.0, 2.0),
            until=self.end,
        ):

            def frame(wire: Wire, ts: int, at: float = t) -> WireMessage:
                return wire.frame(ts, render(self._t0 + at), preset="P1")

            self._add(t, device, frame)
        self._readings(
            device,
            lambda at, _r: model.region_values(render(at)),
            every=CAMERA_REGION_EVERY_S,
            fast=None,
            step=CAMERA_REGION_EVERY_S,
            until=self.end,
            loss=0.0,
            rng=rng,
            region=REGION,
        )

    def event(
        self, t: float, device: Device, event_type: str, detail: dict[str, object] | None = None
    ) -> None:
        self._add(t, device, lambda wire, ts: wire.event(ts, event_type, detail))

    def bystanders(
        self, building: Building, *, silent_from: float | None = None, loss: float = 0.0
    ) -> None:
        """Every device of the building not yet on stage, going about its day: a building is
        judged whole (correlation, mass offline), so none of it may be silent by omission."""
        for device in self.quarter.in_building(building.id):
            if self.involves(device):
                continue
            if device.kind is Kind.ELECTRICAL:
                self.monitor(device, silent_from=silent_from, loss=loss)
            elif device.kind is Kind.SMOKE:
                self.detector(device, silent_from=silent_from, loss=loss)
            else:
                self.camera(device)

    # -- ground truth -------------------------------------------------------------------------
    def watch(self, subject: str) -> None:
        """Count alerts on a subject that sends nothing itself, e.g. a building in view."""
        self._watched.add(subject)

    def expect(
        self,
        subject: str,
        *,
        within: float,
        why: str,
        rule: Rule | None = None,
        alert_class: AlertClass | None = None,
        onset: float | None = None,
    ) -> None:
        self._expected.append(
            Expected(
                subject=subject,
                onset_s=self.onset if onset is None else onset,
                within_s=within,
                why=why,
                rule=rule,
                alert_class=alert_class,
            )
        )

    def forbid(
        self,
        why: str,
        *,
        subjects: tuple[str, ...] = (),
        rule: Rule | None = None,
        alert_class: AlertClass | None = None,
        until: float | None = None,
        max_count: int = 0,
    ) -> None:
        self._forbidden.append(
            Forbidden(
                why=why,
                subjects=subjects,
                rule=rule,
                alert_class=alert_class,
                until_s=until,
                max_count=max_count,
            )
        )

    def forbid_trouble(self) -> None:
        self.forbid(
            "every device is healthy and sends its heartbeats throughout",
            alert_class=AlertClass.TROUBLE,
        )

    def run(self) -> ScenarioRun:
        messages: list[Message] = []
        for t, _, device_id, build in sorted(self._drafts, key=lambda d: (d[0], d[1])):
            built = build(self._wires[device_id], self._ts(t))
            if built is not None:
                messages.append(Message(t, built[0], built[1]))
        buildings = {f"building:{self.quarter.device(d).building}" for d in self._wires}
        subjects = (*sorted(self._wires), *sorted(buildings | self._watched))
        expectation = Expectation(
            scenario=self.name,
            start=self.start,
            duration_s=self.end,
            subjects=subjects,
            expected=tuple(self._expected),
            forbidden=tuple(self._forbidden),
        )
        return ScenarioRun(
            self.name,
            tuple(messages),
            expectation,
            {device_id: wire.seq for device_id, wire in self._wires.items()},
        )
