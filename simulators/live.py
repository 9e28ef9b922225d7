"""The quarter reporting in real time: each device's next message, stamped now.

The demo and load mode ask for messages at whatever rate they publish; the devices take
turns, and each sends its heartbeat when it is due and readings (or, for cameras, frames and
region readings) otherwise.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

from contract.kinds import Kind
from simulators.models.camera import REGION, ThermalCamera
from simulators.models.camera_scene import Frame
from simulators.models.electrical import ElectricalMonitor
from simulators.models.smoke import SmokeDetector
from simulators.seeding import rng_for
from simulators.topology import Device
from simulators.wire import Message, Status, Wire

FRAME_EVERY_TURNS = 5  # a camera's other turns are region readings


class LiveDevice:
    __slots__ = (
        "_camera",
        "_electrical",
        "_frame",
        "_next_status",
        "_smoke",
        "_turn",
        "device",
        "wire",
    )

    def __init__(self, device: Device, *, seed: int) -> None:
        self.device = device
        self.wire = Wire(device.site, device.id)
        self._next_status = 0.0
        self._turn = 0
        self._frame: Frame | None = None
        self._smoke: SmokeDetector | None = None
        self._electrical: ElectricalMonitor | None = None
        self._camera: ThermalCamera | None = None
        if device.kind is Kind.SMOKE:
            self._smoke = SmokeDetector.for_device(device.id, device.model, seed)
        elif device.kind is Kind.ELECTRICAL:
            self._electrical = ElectricalMonitor.for_device(device.id, seed)
        else:
            self._camera = ThermalCamera(device.id, seed)

    def message(self, now: float, rng: random.Random) -> Message:
        ts = int(now * 1000)
        self._turn += 1
        if now >= self._next_status:
            self._next_status = now + self.device.heartbeat_s
            return self.wire.status(ts, self._status(now, rng))
        if self._smoke is not None:
            values = self._smoke.values(now, rng)
            return (
                self.wire.reading(ts, values)
                if values
                else self.wire.status(ts, self._smoke.status(now, rng))
            )
        if self._electrical is not None:
            return self.wire.reading(ts, self._electrical.values(now, rng))
        assert self._camera is not None
        if self._frame is None or self._turn % FRAME_EVERY_TURNS == 0:
            self._frame = self._camera.frame(now)
            return self.wire.frame(ts, self._frame, preset="P1")
        return self.wire.reading(ts, self._camera.region_values(self._frame), region=REGION)

    def _status(self, now: float, rng: random.Random) -> Status:
        model = self._smoke or self._electrical or self._camera
        assert model is not None
        return model.status(now, rng)


class LiveTraffic:
    """Round robin over the devices; ``muted`` ones are skipped (a scenario speaks for them)."""

    def __init__(self, devices: Iterable[Device], *, seed: int) -> None:
        self._devices = [LiveDevice(d, seed=seed) for d in devices]
        if not self._devices:
            raise ValueError("live traffic needs at least one device")
        self._by_id = {d.device.id: d for d in self._devices}
        self._index = 0
        self._rng = rng_for(seed, "live")
        self.muted: set[str] = set()

    def next_message(self, now: float) -> Message:
        for _ in range(len(self._devices)):
            device = self._devices[self._index]
            self._index = (self._index + 1) % len(self._devices)
            if device.device.id not in self.muted:
                return device.message(now, self._rng)
        raise ValueError("every device is muted")

    def wire(self, device_id: str) -> Wire:
        """For a message of one's own on a device's behalf, numbered in its sequence."""
        return self._by_id[device_id].wire

    def seq(self, device_id: str) -> int:
        return self._by_id[device_id].wire.seq

    def resume(self, device_id: str, *, seq: int) -> None:
        """Back to live traffic after a scenario, carrying on from the scenario's numbers."""
        self._by_id[device_id].wire.seq = seq
        self.muted.discard(device_id)
