"""The demo's devices that speak their vendors' protocols (docs/gateways.md): two fire alarm
panels reporting through GB/T 26875.3 transmission devices to the server beside ingest, and
NB-IoT smoke detectors pushing through OneNET to the api. They report normally from the start;
once the first minute's scripted steps are done, a panel's detector goes into fire alarm, and
later an NB-IoT detector alarms."""

from __future__ import annotations

import asyncio
import random
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from contract.kinds import Kind
from firewatch.demo_expectations import clock
from settings import Settings
from simulators.gb26875_transmitter import FIRE, NORMAL, Transmitter
from simulators.nbiot_platform import NbDevice, OneNet, Poster
from simulators.topology import Building, Quarter

DEMO_ONENET_TOKEN = "firewatchdemo"  # noqa: S105 - the demo's own platform, on this machine
PANEL_FIRE_S = 45.0  # after the first half minute's script
NB_ALARM_S = 75.0
REPORT_EVERY_S = 60.0
COMPONENTS = 4


@dataclass(frozen=True, slots=True)
class Panel:
    transmitter_id: str
    address: str  # the transmission device's 6-byte address, 12 hex digits
    building: Building


@dataclass(frozen=True, slots=True)
class NbDetector:
    device_id: str
    dev_id: str  # its OneNET device id
    building: Building


def with_gateways(settings: Settings) -> Settings:
    """The demo's own gateway settings where the user set none: a free port for the panels'
    server beside ingest, and a OneNET token for the detectors' platform."""
    update: dict[str, Any] = {}
    if not settings.gb26875_port:
        update |= {"gb26875_port": _free_port(), "gb26875_host": "127.0.0.1"}
    if not settings.onenet_token:
        update["onenet_token"] = DEMO_ONENET_TOKEN
    return settings.model_copy(update=update) if update else settings


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass(frozen=True, slots=True)
class DemoGateways:
    panels: tuple[Panel, ...]
    detectors: tuple[NbDetector, ...]

    @classmethod
    def of(cls, quarter: Quarter) -> DemoGateways:
        """The quarter's last buildings, where no scenario plays."""
        first, second, third = quarter.buildings[-3:]
        panels = tuple(
            Panel(f"GB-T{n:02d}", f"a1b2c3d400{n:02d}", b)
            for n, b in enumerate((first, second), start=1)
        )
        detectors = tuple(
            NbDetector(f"NB-SD-{n:02d}", str(612_000_000 + n), third) for n in range(1, 5)
        )
        return cls(panels, detectors)

    def document(self, site: str) -> dict[str, Any]:
        """The devices in the registry's import format, with their gateway mappings."""
        devices: list[dict[str, Any]] = []
        for panel in self.panels:
            devices.append(
                _row(panel.transmitter_id, "transmitter", site, panel.building, "消控室传输装置")
                | {"config": {"gb26875": {"transmitter": panel.address}}}
            )
            for n in range(1, COMPONENTS + 1):
                name = f"{n}号探测器"
                devices.append(
                    _row(f"{panel.transmitter_id}-D{n}", "panel", site, panel.building, name)
                    | {
                        "config": {
                            "gb26875": {"transmitter": panel.address, "system": 1, "component": n}
                        }
                    }
                )
        for detector in self.detectors:
            mapping = {"smoke_state": "alarm", "battery_value": "battery_pct"}
            devices.append(
                _row(detector.device_id, "smoke", site, detector.building, "NB-IoT 烟感")
                | {"config": {"onenet": {"dev_id": detector.dev_id, "streams": mapping}}}
            )
        return {"devices": devices}

    def summary(self) -> str:
        return (
            f"{len(self.panels)} fire alarm panels through GB/T 26875.3 transmission devices "
            f"({', '.join(p.transmitter_id for p in self.panels)}) and {len(self.detectors)} "
            f"NB-IoT smoke detectors through OneNET ({self.detectors[0].device_id} …)"
        )

    def run(self, settings: Settings, stop: threading.Event, *, say: Callable[[str], None]) -> None:
        """Until ``stop``: the panels over TCP and the platform's pushes, in this thread."""
        asyncio.run(self._run(settings, stop, say=say))

    async def _run(
        self, settings: Settings, stop: threading.Event, *, say: Callable[[str], None]
    ) -> None:
        started = time.monotonic()
        base = f"http://127.0.0.1:{settings.api_port}"
        onenet = OneNet(base, token=settings.onenet_token, poster=Poster(attempts=5))
        rng = random.Random(7)
        async with (
            Transmitter(
                self.panels[0].address, host="127.0.0.1", port=settings.gb26875_port
            ) as one,
            Transmitter(
                self.panels[1].address, host="127.0.0.1", port=settings.gb26875_port
            ) as two,
        ):
            for transmitter in (one, two):
                await transmitter.transmitter_state(NORMAL)
            fired = alarmed = False
            next_report = started
            while not stop.is_set():
                elapsed = time.monotonic() - started
                if time.monotonic() >= next_report:
                    next_report += REPORT_EVERY_S
                    await asyncio.gather(one.heartbeat(), two.heartbeat())
                    await asyncio.to_thread(self._report, onenet, rng, alarm=None)
                if not fired and elapsed >= PANEL_FIRE_S:
                    fired = True
                    await one.component(system=1, component=2, state=NORMAL | FIRE)
                    say(
                        f"{self.panels[0].transmitter_id}-D2 goes into fire alarm on its panel "
                        f"(GB/T 26875.3; expect by {_soon(settings.tz)}: panel_fire (fire) on it, "
                        f"in a fire incident for building {self.panels[0].building.id})"
                    )
                if not alarmed and elapsed >= NB_ALARM_S:
                    alarmed = True
                    await asyncio.to_thread(self._report, onenet, rng, alarm=self.detectors[0])
                    say(
                        f"{self.detectors[0].device_id} alarms through OneNET (expect by "
                        f"{_soon(settings.tz)}: smoke_alarm (fire) on it, in a fire incident for "
                        f"building {self.detectors[0].building.id})"
                    )
                await asyncio.sleep(0.2)

    def _report(self, onenet: OneNet, rng: random.Random, *, alarm: NbDetector | None) -> None:
        """One push per detector: its battery and smoke state (the alarming one's only)."""
        now_ms = int(time.time() * 1000)
        for detector in self.detectors if alarm is None else (alarm,):
            values = {"smoke_state": int(detector is alarm), "battery_value": rng.randint(70, 100)}
            device = NbDevice(detector.device_id, Kind.SMOKE, "onenet", detector.dev_id)
            onenet.report(device, values, at_ms=now_ms, nonce=f"{rng.getrandbits(32):08x}")


def _row(device_id: str, kind: str, site: str, building: Building, name: str) -> dict[str, Any]:
    return {
        "id": device_id,
        "kind": kind,
        "site": site,
        "name": name,
        "building": building.id,
        "floor": 1,
        "room": "消控室" if kind == "transmitter" else "走廊",
        "lat": building.lat,
        "lon": building.lon,
        "zone": building.zone,
    }


def _soon(tz: tzinfo) -> str:
    return clock(datetime.now(UTC) + timedelta(seconds=5), tz)
