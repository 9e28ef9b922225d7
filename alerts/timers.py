"""Timers on the server clock: offline devices (rolled up per building when many go silent
together), chattering alerts that went quiet, and alarm floods per site."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime

import numpy as np

from alerts.device_table import DeviceTable
from alerts.devices import SUPPRESSING_STATUSES, DeviceInfo
from alerts.recorder import Batch, Recorder
from alerts.signals import Change, Decision
from alerts.tracks import Tracks
from alerts.undo import UndoLog
from contract.alarms import AlertClass, Rule

MASS_OFFLINE_MIN = 5  # devices of one building silent together: a power cut, not five faults
MASS_OFFLINE_SHARE = 0.5
# EEMUA 191 / ISA-18.2: more than 10 new alarms in 10 minutes per operator is a flood. What
# an operator must act on is an incident, so floods count incidents: one fire, however many
# signals its detectors and cameras raise, never floods the operator, and 3 simultaneous fires
# in 3 buildings are 3, well under it.
FLOOD_INCIDENTS = 10


class Timers:
    def __init__(
        self, *, table: DeviceTable, tracks: Tracks, recorder: Recorder, undo: UndoLog
    ) -> None:
        self.table, self.tracks, self.recorder, self.undo = table, tracks, recorder, undo
        self.offline_buildings: set[str] = set()
        self.flooding: set[str] = set()

    def snapshot(self) -> tuple[set[str], set[str]]:
        return set(self.offline_buildings), set(self.flooding)

    def restore_snapshot(self, saved: tuple[set[str], set[str]]) -> None:
        self.offline_buildings, self.flooding = saved

    def tick(self, now: datetime, *, opened_last_10min: Mapping[str, int] | None) -> Batch:
        """``opened_last_10min``: incidents opened per site in the last 10 minutes
        (``store.incidents.opened_since``); None on a worker that does not judge site-wide
        rules."""
        out = Batch()
        now_s = now.timestamp()
        table = self.table
        track = self.tracks[("tick", Rule.OFFLINE)]
        track.ensure(len(table))
        self.undo.save_rows(track, np.arange(len(table)))
        silent_by_building: dict[str, list[DeviceInfo]] = defaultdict(list)
        newly: list[tuple[DeviceInfo, float]] = []
        count = len(table)
        with np.errstate(invalid="ignore"):  # never heard: NaN, not silent
            quiet = now_s - table.heard[:count] > table.silent_after[:count]
        for slot in np.flatnonzero(quiet):
            device = table.devices[table.ids[slot]]
            if device.building:
                silent_by_building[device.building].append(device)
            if not track.active[slot]:
                newly.append((device, float(table.heard[slot])))
        rolled_up = self._mass_offline(silent_by_building, now, out)
        for device, heard in newly:
            track.set(table.slot[device.id], True)
            if device.building in rolled_up:
                continue  # counted in the building's communication fault
            decision = Decision(
                subject=device.id,
                rule=Rule.OFFLINE,
                alert_class=AlertClass.TROUBLE,
                change=Change.RAISE,
                at=now,
                site=device.site,
                building=device.building,
                detail={
                    "last_heard": datetime.fromtimestamp(heard, UTC).isoformat(),
                    "heartbeat_s": device.heartbeat,
                },
            )
            if device.status in SUPPRESSING_STATUSES:
                decision.suppressed = device.status
            out.add(decision)
        self.recorder.release_deferred(table.devices, out, until=now_s)
        if opened_last_10min is not None:
            self._floods(opened_last_10min, now, out)
        return out

    def _mass_offline(
        self, silent_by_building: dict[str, list[DeviceInfo]], now: datetime, out: Batch
    ) -> set[str]:
        """Raises, holds and clears the buildings' communication faults; returns the buildings
        rolled up now."""
        rolled_up: set[str] = set()
        for building, silent in silent_by_building.items():
            size = self.table.building_size.get(building, len(silent))
            if len(silent) >= MASS_OFFLINE_MIN and len(silent) >= MASS_OFFLINE_SHARE * size:
                rolled_up.add(building)
                change = Change.HOLD if building in self.offline_buildings else Change.RAISE
                out.add(
                    Decision(
                        subject=f"building:{building}",
                        rule=Rule.COMM_FAULT,
                        alert_class=AlertClass.TROUBLE,
                        change=change,
                        at=now,
                        value=float(len(silent)),
                        site=silent[0].site,
                        building=building,
                        detail={
                            "silent": len(silent),
                            "devices_in_building": size,
                            "devices": sorted(d.id for d in silent)[:200],
                        },
                    )
                )
        devices = self.table.devices.values()
        for building in self.offline_buildings - rolled_up:
            site = next((d.site for d in devices if d.building == building), None)
            out.add(
                Decision(
                    subject=f"building:{building}",
                    rule=Rule.COMM_FAULT,
                    alert_class=AlertClass.TROUBLE,
                    change=Change.CLEAR,
                    at=now,
                    site=site,
                    building=building,
                )
            )
        self.offline_buildings = rolled_up
        return rolled_up

    def _floods(self, rates: Mapping[str, int], now: datetime, out: Batch) -> None:
        """Raises, holds and clears each site's ``alert_flood`` (the rule keeps its name: it
        is part of the API) from the incidents it opened in the last 10 minutes."""
        for site in sorted(set(rates) | self.flooding):
            opened = rates.get(site, 0)
            flooding = opened > FLOOD_INCIDENTS
            if flooding or site in self.flooding:
                change = (
                    Change.CLEAR
                    if not flooding
                    else Change.HOLD
                    if site in self.flooding
                    else Change.RAISE
                )
                out.add(
                    Decision(
                        subject=f"site:{site}",
                        rule=Rule.ALERT_FLOOD,
                        alert_class=AlertClass.SUPERVISORY,
                        change=change,
                        at=now,
                        value=float(opened),
                        site=site,
                        detail={"opened_last_10_min": opened, "threshold": FLOOD_INCIDENTS},
                    )
                )
            if flooding:
                self.flooding.add(site)
            else:
                self.flooding.discard(site)
