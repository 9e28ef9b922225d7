"""Events, status and frames, judged one by one (they are few), and what every message says
by arriving at all: its device is back if it was offline, and its clock is right or wrong."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt

from alerts.device_table import DeviceTable
from alerts.devices import DeviceInfo
from alerts.recorder import Batch, Recorder
from alerts.signals import Change, Condition, Decision
from alerts.thermal import CameraState, analyse
from alerts.tracks import Tracks
from alerts.undo import UndoLog
from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel

I64 = npt.NDArray[np.int64]
BATTERY_CLEAR_MARGIN = 5.0

_EVENT_RULES: dict[tuple[Kind, str], tuple[Rule, AlertClass]] = {
    (Kind.SMOKE, "alarm"): (Rule.SMOKE_ALARM, AlertClass.FIRE),
    (Kind.ELECTRICAL, "alarm"): (Rule.ELECTRICAL_ALARM, AlertClass.PREALARM),
    (Kind.THERMAL_CAMERA, "fire_detected"): (Rule.CAMERA_FIRE, AlertClass.FIRE),
    (Kind.THERMAL_CAMERA, "smoke_detected"): (Rule.CAMERA_SMOKE, AlertClass.PREALARM),
    # The camera's own thermometry rule (ISAPI TMA, TMPA): judged by the camera against the
    # limits its installer set, so it holds even for a camera that posts only while alarming.
    (Kind.THERMAL_CAMERA, "temperature_alarm"): (Rule.CAMERA_HOTSPOT, AlertClass.FIRE),
    (Kind.THERMAL_CAMERA, "temperature_prealarm"): (Rule.CAMERA_PREALARM, AlertClass.PREALARM),
    (Kind.PANEL, "alarm"): (Rule.PANEL_FIRE, AlertClass.FIRE),
    (Kind.TRANSMITTER, "alarm"): (Rule.PANEL_FIRE, AlertClass.FIRE),
    (Kind.PANEL, "supervisory"): (Rule.PANEL_SUPERVISORY, AlertClass.SUPERVISORY),
}
_EVENT_CLASS = {rule: cls for rule, cls in _EVENT_RULES.values()} | {Rule.FAULT: AlertClass.TROUBLE}
# What a component's panel reports that its shield holds back.
_SHIELDED_RULES = (Rule.PANEL_FIRE, Rule.PANEL_SUPERVISORY)
_CLEARED_BY = {
    "alarm_cleared": (
        Rule.SMOKE_ALARM,
        Rule.ELECTRICAL_ALARM,
        Rule.CAMERA_FIRE,
        Rule.CAMERA_SMOKE,
        Rule.PANEL_FIRE,
    ),
    "fault_cleared": (Rule.FAULT,),
    "supervisory_cleared": (Rule.PANEL_SUPERVISORY,),
    "temperature_alarm_cleared": (Rule.CAMERA_HOTSPOT, Rule.CAMERA_PREALARM),
}


class MessageRules:
    def __init__(
        self, *, table: DeviceTable, tracks: Tracks, recorder: Recorder, undo: UndoLog
    ) -> None:
        self.table, self.tracks, self.recorder, self.undo = table, tracks, recorder, undo
        self.cameras: dict[str, CameraState] = {}

    def _track_at(self, scope: str, rule: Rule, slot: int) -> bool:
        """Whether the rule is active for the slot."""
        track = self.tracks[(scope, rule)]
        track.ensure(len(self.table))
        return bool(track.active[slot])

    def _switch(self, scope: str, rule: Rule, slot: int, active: bool) -> None:
        track = self.tracks[(scope, rule)]
        self.undo.save_rows(track, np.array([slot]))
        track.set(slot, active)

    def evaluate(self, message: Decoded, received_at: datetime, out: Batch) -> None:  # noqa: C901, PLR0912 - one branch per message kind (event, status, frame, back online, clock): the dispatch is the function
        device = self.table.devices[message.device_id]
        slot = self.table.slot[device.id]

        def record(
            rule: Rule,
            cls: AlertClass,
            active: bool,
            value: float | None,
            detail: dict[str, Any],
            *,
            again: bool = False,
        ) -> None:
            """``again``: raise an active rule anew (a shield lifted over a live alarm)."""
            was = self._track_at("event", rule, slot)
            if not active and not was:
                return
            self._switch("event", rule, slot, active)
            change = (
                Change.CLEAR if not active else Change.RAISE if again or not was else Change.REPEAT
            )
            decision = Decision(
                subject=device.id,
                rule=rule,
                alert_class=cls,
                change=change,
                at=message.ts,
                value=value,
                received_at=received_at,
                site=device.site,
                building=device.building,
                detail=detail,
            )
            self.recorder.record(decision, device, out)

        if message.channel is Channel.EVENT:
            kind_rule = _EVENT_RULES.get((device.kind, message.event_type or ""))
            detail = {"event": message.event_type, **(message.detail or {})}
            skew = message.clock_skew()  # only ingest may say so, never the device's detail
            if skew is None:
                detail.pop("clock_skew", None)
            else:
                detail["clock_skew"] = skew
            if kind_rule is not None:
                record(kind_rule[0], kind_rule[1], True, None, detail)
            elif message.event_type == "tamper":
                record(Rule.TAMPER, AlertClass.SUPERVISORY, True, None, detail)
            elif message.event_type == "fault":
                record(Rule.FAULT, AlertClass.TROUBLE, True, None, detail)
            elif message.event_type in ("disabled", "disabled_cleared"):
                for rule in self._shield(device.id, slot, message):
                    record(rule, _EVENT_CLASS[rule], True, None, detail, again=True)
            elif message.event_type == "test":
                test_until = self.recorder.test_until
                self.undo.save_item(test_until, device.id, test_until.get(device.id))
                test_until[device.id] = message.ts.timestamp() + device.rules.test_mode_s
            for rule in _CLEARED_BY.get(message.event_type or "", ()):
                record(rule, _EVENT_CLASS[rule], False, None, detail)
        elif message.channel is Channel.STATUS:
            battery = message.values.get("battery_pct")
            if battery is not None:
                low = device.rules.low_battery_pct
                was = self._track_at("event", Rule.LOW_BATTERY, slot)
                if battery <= low or (was and battery < low + BATTERY_CLEAR_MARGIN):
                    record(
                        Rule.LOW_BATTERY,
                        AlertClass.TROUBLE,
                        True,
                        battery,
                        {"battery_pct": battery, "threshold_pct": low},
                    )
                elif was:
                    record(
                        Rule.LOW_BATTERY,
                        AlertClass.TROUBLE,
                        False,
                        battery,
                        {"battery_pct": battery},
                    )
        elif message.channel is Channel.FRAME and message.frame is not None:
            state = self.cameras.get(device.id)
            self.undo.save_item(self.cameras, device.id, copy.deepcopy(state))
            if state is None:
                state = self.cameras[device.id] = CameraState()
            conditions = analyse(
                state,
                message.frame,
                camera_id=device.id,
                preset=message.preset,
                at=message.ts,
                config=device.thermal,
            )
            for condition in conditions:
                self._frame_condition(condition, device, slot, received_at, out)

    def _shield(self, device_id: str, slot: int, message: Decoded) -> tuple[Rule, ...]:
        """A panel's shield (屏蔽) on a component, or its end, in the order of their times: a
        late copy of an older one changes nothing. Returns the component's rules still active
        when its shield is lifted: they are live alarms now, raised again to be dispatched."""
        shields = self.recorder.shields
        current = shields.get(device_id)
        at = message.ts.timestamp()
        if current is not None and at < current[1]:
            return ()
        self.undo.save_item(shields, device_id, current)
        on = message.event_type == "disabled"
        shields[device_id] = (on, at)
        if on or current is None or not current[0]:
            return ()
        return tuple(r for r in _SHIELDED_RULES if self._track_at("event", r, slot))

    def _frame_condition(
        self,
        condition: Condition,
        device: DeviceInfo,
        slot: int,
        received_at: datetime,
        out: Batch,
    ) -> None:
        was = self._track_at("frame", condition.rule, slot)
        if not condition.active and not was:
            return
        self._switch("frame", condition.rule, slot, condition.active)
        change = Change.CLEAR if not condition.active else Change.HOLD if was else Change.RAISE
        decision = Decision(
            subject=device.id,
            rule=condition.rule,
            alert_class=condition.alert_class,
            change=change,
            at=condition.at,
            value=condition.value,
            received_at=received_at,
            site=device.site,
            building=device.building,
            detail=dict(condition.detail),
        )
        self.recorder.record(decision, device, out)

    def heard_from(
        self,
        heard: list[tuple[int, int]],
        arrivals: list[datetime],
        sent: list[datetime],
        out: Batch,
    ) -> I64:
        """Remembers when each device was last heard (server clock) and clears the offline
        alerts of those that are back. Arrivals are in order: a device's last is its latest.
        Returns the slots of the devices heard."""
        table = self.table
        latest = dict(heard)
        slots = np.fromiter(latest, dtype=np.int64, count=len(latest))
        received = np.array([arrivals[i].timestamp() for i in latest.values()])
        self.undo.save_rows(table, slots)
        table.heard[slots] = np.fmax(table.heard[slots], received)
        track = self.tracks[("tick", Rule.OFFLINE)]
        track.ensure(len(table))
        back = slots[track.active[slots]]
        if not len(back):
            return slots
        self.undo.save_rows(track, back)
        for slot in back:
            track.set(int(slot), False)
            device = table.devices[table.ids[slot]]
            index = latest[int(slot)]
            received_at = arrivals[index]
            decision = Decision(
                subject=device.id,
                rule=Rule.OFFLINE,
                alert_class=AlertClass.TROUBLE,
                change=Change.CLEAR,
                at=sent[index],
                received_at=received_at,
                site=device.site,
                building=device.building,
                detail={"back_at": received_at.isoformat()},
            )
            out.add(decision)
        return slots

    def clock(
        self,
        messages: Sequence[tuple[Decoded, datetime]],
        slots: I64,
        others: list[tuple[Decoded, datetime]],
        out: Batch,
    ) -> None:
        """A message re-stamped for its device's wrong clock raises (then repeats) the device's
        clock_skew trouble; its next message within the window clears it. In arrival order,
        and only for devices with a skewed message or an active alert, so it costs nothing
        while every clock is right."""
        table = self.table
        track = self.tracks[("event", Rule.CLOCK_SKEW)]
        track.ensure(len(table))
        watch = {table.ids[int(s)] for s in slots[track.active[slots]]}
        watch.update(m.device_id for m, _ in others if m.device_ts is not None)
        if not watch:
            return
        for message, received_at in messages:
            if message.device_id not in watch:
                continue
            slot = table.slot[message.device_id]
            skew = message.clock_skew()
            was = bool(track.active[slot])
            if skew is None and not was:
                continue
            self._switch("event", Rule.CLOCK_SKEW, slot, skew is not None)
            change = Change.CLEAR if skew is None else Change.REPEAT if was else Change.RAISE
            device = table.devices[message.device_id]
            decision = Decision(
                subject=device.id,
                rule=Rule.CLOCK_SKEW,
                alert_class=AlertClass.TROUBLE,
                change=change,
                at=message.ts,
                value=None if skew is None else abs(skew["skew_s"]),
                received_at=received_at,
                site=device.site,
                building=device.building,
                detail=skew or {"in_window_at": message.ts.isoformat()},
            )
            self.recorder.record(decision, device, out)
