"""Information objects to contract messages: flag changes as events, a repeat makes the same
messages, an unmapped address gets an id of the gateway's making, and each message passes
ingest's own codec."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.codec import Limits, decode
from contract.messages import Decoded
from gateways.gb26875 import data_units
from gateways.gb26875.frames import Frame, FrameReader
from gateways.gb26875.translate import (
    Address,
    Context,
    StateMemory,
    States,
    addresses,
    heard,
    synthetic_id,
    translate,
)
from ingest.pipeline import Inbound
from tests.gateways import gb26875_wire as wire

HEX = "00000000abcd"
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
MAPPED: dict[Address, str] = {
    (HEX, None, None): "T-1",
    (HEX, 1, wire.component_id(10, 2)): "P-1",
    (HEX, 1, None): "S-1",
}


def _ctx(memory: States | None = None) -> Context:
    return Context(
        site="zilai",
        tz=wire.TZ,
        lookup=MAPPED.get,
        memory=memory or StateMemory(),
        received_at=datetime.now(UTC),
    )


def _frame(*objects: bytes, kind: int = 2, serial: int = 1) -> tuple[Frame, data_units.DataUnit]:
    raw = wire.frame(
        serial=serial,
        command=2,
        source=wire.address(HEX),
        adu=wire.unit(kind, *objects),
        at=AT,
    )
    (got,) = FrameReader().feed(raw)
    assert isinstance(got, Frame)
    return got, data_units.parse(got.adu)


def _state(state: int, *, zone: int = 10, position: int = 2, at: datetime = AT) -> bytes:
    return wire.component(system=1, zone=zone, position=position, state=state, at=at)


def _decoded(items: list[Inbound]) -> list[Decoded]:
    out = []
    for item in items:
        got = decode(item.topic, item.payload, now=datetime.now(UTC), limits=Limits())
        assert isinstance(got, Decoded), got
        out.append(got)
    return out


def _events(items: list[Inbound]) -> list[tuple[str, str | None]]:
    return [(m.device_id, m.event_type) for m in _decoded(items)]


def test_a_first_report_says_every_flag_and_later_ones_changes_and_any_fire() -> None:
    memory = StateMemory()
    frame, unit = _frame(_state(0x0003))  # normal running + fire
    first = translate(frame, unit, _ctx(memory))
    assert _events(first.items) == [
        ("P-1", "alarm"),
        ("P-1", "supervisory_cleared"),
        ("P-1", "fault_cleared"),
        ("P-1", "disabled_cleared"),
    ]
    assert memory.get((HEX, 1, wire.component_id(10, 2))) == 0x0003
    frame, unit = _frame(_state(0x0007, at=AT + timedelta(seconds=1)))  # and a fault
    # The fire is said again (a fire is never taken for no change), the fault as it is new.
    assert _events(translate(frame, unit, _ctx(memory)).items) == [
        ("P-1", "alarm"),
        ("P-1", "fault"),
    ]
    frame, unit = _frame(_state(0x0001, at=AT + timedelta(seconds=2)))  # back to normal
    assert _events(translate(frame, unit, _ctx(memory)).items) == [
        ("P-1", "fault_cleared"),
        ("P-1", "alarm_cleared"),
    ]


def test_states_a_hand_over_said_are_remembered_only_once_it_is_committed() -> None:
    """A fault clears; before that hand-over commits, the device reconnects and sends the
    report again. The repeat must say the clearing too (same seq, stored once): if the first
    hand-over is never committed, the repeat is all ingest gets."""
    memory = StateMemory()
    address = (HEX, 1, wire.component_id(10, 2))
    frame, unit = _frame(_state(0x0005))  # a fault
    committed = memory.pending()
    translate(frame, unit, _ctx(committed))
    assert memory.get(address) is None  # not committed yet
    committed.commit()
    assert memory.get(address) == 0x0005
    frame, unit = _frame(_state(0x0001, at=AT + timedelta(seconds=1)))  # the fault cleared
    first, repeat = memory.pending(), memory.pending()
    said = _decoded(translate(frame, unit, _ctx(first)).items)
    said_again = _decoded(translate(frame, unit, _ctx(repeat)).items)
    assert [(m.event_type, m.seq, m.ts) for m in said] == [
        (m.event_type, m.seq, m.ts) for m in said_again
    ]
    assert ("P-1", "fault_cleared") in [(m.device_id, m.event_type) for m in said_again]
    repeat.commit()  # the first is never committed
    assert memory.get(address) == 0x0001


def test_a_fire_after_a_panel_reset_that_said_no_return_to_normal_is_a_fire() -> None:
    """Many panels send no per-component return to normal when they are reset: the next fire
    of that detector, a day later, must still be an alarm."""
    memory = StateMemory()
    frame, unit = _frame(_state(0x0003, at=AT - timedelta(days=1)))
    translate(frame, unit, _ctx(memory))
    frame, unit = _frame(_state(0x0003))
    assert ("P-1", "alarm") in _events(translate(frame, unit, _ctx(memory)).items)
    again = translate(frame, unit, _ctx(memory)).items  # its retransmission: the same message
    assert [(m.seq, m.ts) for m in _decoded(again) if m.event_type == "alarm"] == [
        (m.seq, m.ts)
        for m in _decoded(translate(frame, unit, _ctx(memory)).items)
        if m.event_type == "alarm"
    ]


def test_a_report_that_changes_no_flag_we_judge_is_kept_as_a_status() -> None:
    memory = StateMemory()
    frame, unit = _frame(_state(0x0001))
    translate(frame, unit, _ctx(memory))
    frame, unit = _frame(_state(0x0021, at=AT + timedelta(seconds=1)))  # a module started
    (status,) = _decoded(translate(frame, unit, _ctx(memory)).items)
    assert (status.device_id, status.channel.value, status.ts) == (
        "P-1",
        "status",
        AT + timedelta(seconds=1),
    )


def test_shield_comes_first_and_is_lifted_last() -> None:
    memory = StateMemory()
    frame, unit = _frame(_state(0x000D))  # shield + fault
    assert [e for _, e in _events(translate(frame, unit, _ctx(memory)).items)][:2] == [
        "disabled",
        "fault",
    ]
    frame, unit = _frame(_state(0x0001, at=AT + timedelta(seconds=1)))
    assert [e for _, e in _events(translate(frame, unit, _ctx(memory)).items)] == [
        "fault_cleared",
        "disabled_cleared",
    ]


def test_a_repeat_makes_the_same_messages_whatever_its_serial() -> None:
    """The store's unique keys are (device, ts, seq): the same report, the same keys."""
    frame, unit = _frame(_state(0x0012), serial=1)
    again_frame, again_unit = _frame(_state(0x0012), serial=999)
    first = _decoded(translate(frame, unit, _ctx()).items)
    again = _decoded(translate(again_frame, again_unit, _ctx()).items)
    assert [(m.ts, m.seq, m.event_type) for m in first] == [
        (m.ts, m.seq, m.event_type) for m in again
    ]
    assert first[0].ts == AT and first[0].event_type == "alarm"
    assert len({(m.ts, m.seq) for m in first}) == len(first)


def test_an_unmapped_address_gets_the_gateways_own_id() -> None:
    frame, unit = _frame(_state(0x0003, zone=4, position=5))
    ids = {device for device, _ in _events(translate(frame, unit, _ctx()).items)}
    assert ids == {f"gb26875-{HEX}-1-{wire.component_id(4, 5)}"}
    assert synthetic_id((HEX, None, None)) == f"gb26875-{HEX}"
    assert addresses(frame, unit) == {(HEX, None, None), (HEX, 1, wire.component_id(4, 5))}


def test_the_transmitter_state_and_its_operations() -> None:
    frame, unit = _frame(bytes([0x09]) + wire.time_label(AT), kind=21)  # main power fault
    events = _decoded(translate(frame, unit, _ctx()).items)
    assert [(m.device_id, m.event_type) for m in events] == [
        ("T-1", "fault"),
        ("T-1", "alarm_cleared"),
    ]
    assert events[0].detail is not None and events[0].detail["main_power_fault"] is True
    # An inspection answered (bit 5) and a test (bit 6): a status and a test event.
    frame, unit = _frame(bytes([0x60, 3]) + wire.time_label(AT), kind=24)
    got = _decoded(translate(frame, unit, _ctx()).items)
    assert [(m.channel.value, m.event_type) for m in got] == [("event", "test"), ("status", None)]


def test_a_temperature_is_a_reading_and_other_analog_values_are_not_stored() -> None:
    addr = wire.component_id(10, 2).to_bytes(4, "little")
    temp = bytes([1, 1, 30]) + addr + bytes([3]) + (253).to_bytes(2, "little", signed=True)
    pressure = bytes([1, 1, 99]) + addr + bytes([4]) + (12).to_bytes(2, "little")
    frame, unit = _frame(temp + wire.time_label(AT), pressure + wire.time_label(AT), kind=3)
    (reading,) = _decoded(translate(frame, unit, _ctx()).items)
    assert (reading.device_id, reading.values) == ("P-1", {"temperature_c": 25.3})


def test_a_system_state_and_a_manual_alarm_at_the_panel() -> None:
    system = bytes([1, 1]) + (0x0103).to_bytes(2, "little")  # fire + main power fault
    frame, unit = _frame(system + wire.time_label(AT), kind=1)
    got = _decoded(translate(frame, unit, _ctx()).items)
    assert ("S-1", "alarm") in [(m.device_id, m.event_type) for m in got]
    assert ("S-1", "fault") in [(m.device_id, m.event_type) for m in got]  # main power fault
    frame, unit = _frame(bytes([1, 1, 0x04, 7]) + wire.time_label(AT), kind=4)
    (alarm,) = _decoded(translate(frame, unit, _ctx()).items)
    assert (alarm.device_id, alarm.event_type) == ("S-1", "alarm")


def test_the_transmitter_is_heard_at_the_packets_time() -> None:
    frame, _ = _frame(_state(1), serial=42)
    (status,) = _decoded([heard(frame, _ctx())])
    assert (status.device_id, status.seq, status.ts) == ("T-1", 42, AT)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=10))
def test_the_events_always_end_in_the_last_state(states: list[int]) -> None:
    """Whatever the order of snapshots, the events replayed give the last snapshot's flags."""
    memory, flags = StateMemory(), {}
    for n, state in enumerate(states):
        frame, unit = _frame(_state(state, at=AT + timedelta(seconds=n)))
        for item in translate(frame, unit, _ctx(memory)).items:
            event = orjson.loads(item.payload).get("type")
            if event is not None:  # else a status: nothing we judge changed
                flags[event.removesuffix("_cleared")] = not event.endswith("_cleared")
    last = states[-1]
    assert flags == {
        "alarm": bool(last & 0x02),
        "fault": bool(last & 0x104),
        "disabled": bool(last & 0x08),
        "supervisory": bool(last & 0x10),
    }


def test_a_label_naming_no_moment_is_a_fixed_one_outside_any_window_and_the_fire_kept() -> None:
    """A device whose clock was never set (all zeros): its fire alarm is not lost, and ingest
    re-stamps it with its arrival, as for any wrong clock."""
    memory = StateMemory()
    unset = _state(0x0003)[:-6] + bytes(6)  # the object's time label all zeros
    frame, unit = _frame(unset)
    now = datetime.now(UTC)
    results = [
        decode(i.topic, i.payload, now=now, limits=Limits(), arrived=i.received_at)
        for i in translate(frame, unit, _ctx(memory)).items
    ]
    alarms = [m for m in results if isinstance(m, Decoded) and m.event_type == "alarm"]
    assert len(alarms) == 1 and alarms[0].device_ts is not None  # re-stamped, not refused
    assert all(isinstance(m, Decoded) or m.reason.value == "stale" for m in results)
