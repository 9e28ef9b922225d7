"""The engine's view of the registry: every device's slot, thresholds and timers' limits, as
arrays indexed by slot, so a round reads them without a loop per device."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields

import numpy as np
import numpy.typing as npt

from alerts.config import RuleConfig
from alerts.devices import DeviceInfo
from contract.kinds import KIND_SPECS, Kind

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# Metrics the engine keeps history for; the rest are stored but not evaluated.
RING_METRICS = (
    "temperature_c",
    "cable_temp_c",
    "obscuration_pct_per_m",
    "residual_current_ma",
    "max_temp_c",
)
# The metric whose frozen value means a dead sensor, per kind (a kind without one is never stuck).
STUCK_METRIC = {
    Kind.SMOKE: "temperature_c",
    Kind.ELECTRICAL: "cable_temp_c",
    Kind.THERMAL_CAMERA: "max_temp_c",
}
METRIC_CODE = {metric: code for code, metric in enumerate(RING_METRICS)}
_RULE_FIELDS = tuple(f.name for f in fields(RuleConfig))
_REGION_FIELDS = ("alarm_c", "clear_c", "delta_c")
CONFIG_FIELDS = (*_RULE_FIELDS, *(f"camera_{n}" for n in _REGION_FIELDS))


class DeviceTable:
    def __init__(self) -> None:
        self.devices: dict[str, DeviceInfo] = {}
        self.slot: dict[str, int] = {}
        self.ids: list[str] = []
        self.heard: F64 = np.full(64, np.nan)  # server time of each device's newest message
        # Every device's thresholds: a table with one column per distinct configuration (a
        # city's devices share a handful) and each device's column by slot. A row per device
        # and threshold cost a city 23 MB.
        self.config_of: npt.NDArray[np.int32] = np.zeros(64, dtype=np.int32)
        self._config_ids: dict[tuple[float, ...], int] = {}
        self.config_table: dict[str, F64] = {name: np.zeros(0) for name in CONFIG_FIELDS}
        # Which metric's ring judges a device stuck, as an index into RING_METRICS (-1: none).
        self.stuck_metric: npt.NDArray[np.int8] = np.full(64, -1, dtype=np.int8)
        # Seconds of silence after which a device is offline (inf: never, e.g. decommissioned or
        # a video camera, which sends nothing).
        self.silent_after: F64 = np.full(64, np.inf)
        self.building_size: dict[str, int] = {}
        # Neighbours (DeviceInfo.place): each device's place and each place's devices' slots.
        self.place_of: dict[int, tuple[str, ...]] = {}
        self.members: dict[tuple[str, ...], list[int]] = {}

    def __len__(self) -> int:
        return len(self.ids)

    def configure(self, devices: Iterable[DeviceInfo]) -> None:
        """Adds or updates devices; thresholds take effect from the next sample."""
        for device in devices:
            self._count_in_building(self.devices.get(device.id), -1)
            self._count_in_building(device, +1)
            self.devices[device.id] = device
            slot = self.slot_of(device.id)
            self._place(slot, device.place)
            self.config_of[slot] = self._config_id(device)
            stuck = STUCK_METRIC.get(device.kind)
            self.stuck_metric[slot] = -1 if stuck is None else METRIC_CODE[stuck]
            self.silent_after[slot] = (
                np.inf
                if device.status == "decommissioned"
                or not KIND_SPECS[device.kind].telemetry
                or KIND_SPECS[device.kind].reports_on_change
                else 2 * device.heartbeat + device.rules.offline_margin_s
            )

    def _place(self, slot: int, place: tuple[str, ...] | None) -> None:
        old = self.place_of.get(slot)
        if old == place:
            return
        if old is not None:
            self.members[old].remove(slot)
            if not self.members[old]:
                del self.members[old]
            del self.place_of[slot]
        if place is not None:
            self.place_of[slot] = place
            self.members.setdefault(place, []).append(slot)

    def neighbours(self, slot: int) -> list[int]:
        """The other devices of this device's place."""
        place = self.place_of.get(slot)
        return [] if place is None else [s for s in self.members[place] if s != slot]

    def cfg(self, name: str, slots: I64) -> F64:
        """One threshold of each of these devices."""
        return self.config_table[name][self.config_of[slots]]

    def _config_id(self, device: DeviceInfo) -> int:
        # A camera's region summaries are judged with its frames' levels.
        values = (
            *(getattr(device.rules, n) for n in _RULE_FIELDS),
            *(getattr(device.thermal, n) for n in _REGION_FIELDS),
        )
        found = self._config_ids.get(values)
        if found is None:
            found = self._config_ids[values] = len(self._config_ids)
            for name, value in zip(CONFIG_FIELDS, values, strict=True):
                self.config_table[name] = np.append(self.config_table[name], value)
        return found

    def _count_in_building(self, device: DeviceInfo | None, step: int) -> None:
        """Devices per building that can fall silent, for the mass-offline roll-up, kept as
        devices come and go."""
        if (
            device is not None
            and device.building
            and device.status != "decommissioned"
            and KIND_SPECS[device.kind].telemetry
            and not KIND_SPECS[device.kind].reports_on_change
        ):
            self.building_size[device.building] = self.building_size.get(device.building, 0) + step

    def slot_of(self, device_id: str) -> int:
        slot = self.slot.get(device_id)
        if slot is None:
            slot = self.slot[device_id] = len(self.ids)
            self.ids.append(device_id)
            if slot >= self.heard.shape[0]:
                grow = max(64, self.heard.shape[0] // 4)
                self.heard = np.concatenate([self.heard, np.full(grow, np.nan)])
                self.config_of = np.concatenate([self.config_of, np.zeros(grow, np.int32)])
                self.silent_after = np.concatenate([self.silent_after, np.full(grow, np.inf)])
                self.stuck_metric = np.concatenate(
                    [self.stuck_metric, np.full(grow, -1, dtype=np.int8)]
                )
        return slot

    # The heard times are what a batch changes here; the rest changes only with the registry.
    def rows(self, slots: I64) -> F64:
        return self.heard[slots].copy()

    def restore(self, slots: I64, saved: F64) -> None:
        self.heard[slots] = saved
