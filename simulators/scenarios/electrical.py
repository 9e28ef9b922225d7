"""Electrical faults: an overheating connection that becomes a fire, and a slow leak.

GB 14287 makes the monitors' warnings pre-alarms; only the fire they lead to is a fire.
"""

from __future__ import annotations

from contract.alarms import AlertClass, Rule
from contract.kinds import Kind
from simulators.environment import Curve
from simulators.scenarios.base import Stage


def electrical_fire(stage: Stage) -> None:
    """A loose connection on a rented building's board at the evening peak: the cable heats,
    insulation fails and leaks, and the board catches fire."""
    b = stage.pick_building(
        lambda b, ds: (
            b.rented
            and any(d.kind is Kind.ELECTRICAL for d in ds)
            and any(d.model == "smoke" and d.floor == 1 for d in ds)
        )
    )
    board = next(d for d in stage.quarter.in_building(b.id) if d.kind is Kind.ELECTRICAL)
    nearby = next(d for d in stage.devices(b, "smoke") if d.floor == board.floor)
    on = stage.onset
    cable = Curve(
        [(0, 0), (300, 4), (600, 12), (900, 26), (1020, 38), (1080, 50), (1140, 65), (1500, 80)]
    )
    leak = Curve([(0, 0), (600, 20), (900, 60), (1000, 150), (1100, 300), (1500, 400)])
    stage.monitor(board, cable=cable, leak=leak, fast=(on + 840, stage.end))
    stage.event(on + 1030, board, "alarm", {"cause": "residual_current"})
    # The failing insulation arcs and the board catches fire while the cable is past 70 °C.
    smoke = Curve([(1000, 0), (1030, 1.6), (1050, 3.5), (1080, 8), (1150, 20), (1500, 30)])
    heat = Curve([(1000, 0), (1050, 3), (1110, 15), (1170, 35), (1500, 80)])
    stage.detector(nearby, smoke=smoke, heat=heat, fast=(on + 980, stage.end))
    stage.event(on + 1055, nearby, "alarm", {"chamber": "optical"})
    stage.bystanders(b)

    def why(text: str) -> str:
        return f"electrical fire in {b.id}: {text}"

    stage.expect(
        board.id,
        rule=Rule.CABLE_TEMP,
        alert_class=AlertClass.PREALARM,
        within=1100,
        why=why("the cable passes 70 °C between +880 and +960 s"),
    )
    stage.expect(
        board.id,
        rule=Rule.CABLE_TEMP_ROR,
        within=1150,
        why=why("the cable heats at 6-12 °C/min from +900 s"),
    )
    stage.expect(
        board.id,
        rule=Rule.LEAKAGE,
        alert_class=AlertClass.PREALARM,
        within=1100,
        why=why("residual current passes 300 mA at about +1000 s"),
    )
    stage.expect(
        board.id,
        rule=Rule.ELECTRICAL_ALARM,
        within=1100,
        why=why("the monitor's own alarm at +1030 s"),
    )
    stage.expect(
        board.id,
        rule=Rule.CABLE_FIRE,
        alert_class=AlertClass.FIRE,
        within=1200,
        why=why("the cable passes 90 °C at about +1090 s"),
    )
    stage.expect(
        nearby.id,
        rule=Rule.SMOKE_ALARM,
        within=1150,
        why=why("the board burns from +1000 s; the detector alarms at +1055 s"),
    )
    stage.expect(
        f"building:{b.id}",
        rule=Rule.CONFIRMED_FIRE,
        within=1200,
        why=why(
            "the detector's smoke (+1030 s) within 120 s of the cable's fire "
            "signal (+960 s rising past 70 °C, +1090 s at 90 °C)"
        ),
    )
    stage.forbid(
        "below 70 °C and 300 mA the monitor's warnings are pre-alarms, never fire",
        alert_class=AlertClass.FIRE,
        until=on + 850,
    )
    stage.forbid_trouble()


def leakage_ramp(stage: Stage) -> None:
    """Insulation soaking up the humid night: residual current climbs 62 mA an hour for four
    hours, while the household load is flat, so the trend is the fault's, not the day's."""
    b = stage.pick_building(lambda b, ds: any(d.kind is Kind.ELECTRICAL for d in ds))
    board = next(d for d in stage.quarter.in_building(b.id) if d.kind is Kind.ELECTRICAL)
    stage.monitor(board, leak=Curve([(0, 0), (14400, 250)]))
    stage.bystanders(b)

    def why(text: str) -> str:
        return f"residual current ramp on {board.id}: {text}"

    stage.expect(
        board.id,
        rule=Rule.LEAKAGE_TREND,
        alert_class=AlertClass.PREALARM,
        within=10800,
        why=why("+62 mA/h from 100-140 mA, +190 mA after 3 h"),
    )
    stage.expect(
        board.id,
        rule=Rule.LEAKAGE,
        alert_class=AlertClass.PREALARM,
        within=12600,
        why=why("passes 300 mA between +2.6 h and +3.2 h"),
    )
    stage.forbid("a leak is an electrical pre-alarm, never a fire", alert_class=AlertClass.FIRE)
    stage.forbid_trouble()
