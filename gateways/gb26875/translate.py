"""Information objects to contract messages (gateways/messages.py), pure but for the state
memory the caller hands in (the server hands in a hand-over's pending states).

A state object (types 1, 2, 21) is a snapshot of flags. Each flag that changed since the
last snapshot of the same address becomes an event: set -> ``alarm``, ``fault``,
``disabled``, ``supervisory``; cleared -> the ``_cleared`` event. For an address this process
has not seen yet every flag counts as changed, so a return to normal missed while the gateway
was away still clears. A snapshot that changes none of them (a module started or stopped, a
state said again) is kept as the device's status message: it was heard, at that time.

Bit 0 (normal running / test) is not read as a test mode: the standard's own example (a
smoke detector's fire alarm) sends it as 0, and a fire must never be taken for a test; a
panel's test comes as an operation (type 4 or 24, bit 6).

``ts`` is the object's own time label (when it happened), ``seq`` is made of what the object
says (its flags and the event), so a transmission device that sends a packet again, even
under a new serial number on a new connection, makes the same messages and the store keeps
them once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any, Protocol

from contract.messages import NO_MOMENT
from gateways import messages
from gateways.gb26875.data_units import (
    AnalogValue,
    ComponentState,
    DataUnit,
    InfoObject,
    Operation,
    SystemState,
    TransmitterOperation,
    TransmitterState,
    TransmitterTime,
)
from gateways.gb26875.frames import Frame, moment_of
from ingest.pipeline import Inbound

# (transmitter as 12 hex digits, system address, component address); None where the address
# names the transmitter itself (system and component None) or a whole system (component None).
Address = tuple[str, int | None, int | None]
Lookup = Callable[[Address], str | None]

FIRE, FAULT, SHIELD, SUPERVISE = 0x0002, 0x0004, 0x0008, 0x0010
# Component (8.2.1.2): bit 8 is a power fault. System (8.2.1.1): bits 8-10 are main power,
# backup power and bus faults. Transmitter (8.2.1.8): bits 2-6 are its own, its main and
# backup power, its channel to the centre and its line to the panel.
COMPONENT_FAULT = FAULT | 0x0100
SYSTEM_FAULT = FAULT | 0x0700
TRANSMITTER_FAULT = 0x7C

# (flag mask, set event, cleared event, code for seq); shield first so that it suppresses
# what comes with it, and is lifted last.
Flags = tuple[tuple[int, str, str, int], ...]
_PANEL_FLAGS: Flags = (
    (SHIELD, "disabled", "disabled_cleared", 1),
    (FIRE, "alarm", "alarm_cleared", 2),
    (COMPONENT_FAULT, "fault", "fault_cleared", 3),
    (SUPERVISE, "supervisory", "supervisory_cleared", 4),
)
_SYSTEM_FLAGS: Flags = tuple(
    (SYSTEM_FAULT if event == "fault" else mask, event, cleared, code)
    for mask, event, cleared, code in _PANEL_FLAGS
)
_TRANSMITTER_FLAGS: Flags = (
    (FIRE, "alarm", "alarm_cleared", 2),
    (TRANSMITTER_FAULT, "fault", "fault_cleared", 3),
)
ANALOG_TEMPERATURE = 3  # 8.2.1.3: temperature, in 0.1 °C
MANUAL_ALARM, INSPECTION_ANSWERED, TEST = 0x04, 0x20, 0x40

_COMPONENT_BITS = {
    0x0020: "start",
    0x0040: "feedback",
    0x0080: "delay",
    0x0100: "power_fault",
}
_SYSTEM_BITS = {
    0x0020: "start",
    0x0040: "feedback",
    0x0080: "delay",
    0x0100: "main_power_fault",
    0x0200: "backup_power_fault",
    0x0400: "bus_fault",
    0x0800: "manual",
    0x1000: "configuration_changed",
    0x2000: "reset",
}
_TRANSMITTER_BITS = {
    0x04: "fault",
    0x08: "main_power_fault",
    0x10: "backup_power_fault",
    0x20: "channel_fault",
    0x40: "line_fault",
}


class StateMemory:
    """The last flags committed per address, bounded (least recently reported dropped first)."""

    def __init__(self, *, capacity: int = 200_000) -> None:
        self._states: OrderedDict[Address, int] = OrderedDict()
        self._capacity = capacity

    def get(self, address: Address) -> int | None:
        return self._states.get(address)

    def put(self, address: Address, state: int) -> None:
        self._states[address] = state
        self._states.move_to_end(address)
        if len(self._states) > self._capacity:
            self._states.popitem(last=False)

    def pending(self) -> PendingStates:
        return PendingStates(self)

    def forget(self, addresses: Iterable[Address]) -> None:
        for address in addresses:
            self._states.pop(address, None)


class PendingStates:
    """The states one hand-over's packets leave, kept apart until ingest has committed it.

    Until then the memory must keep saying what is stored: a device that reconnects and sends
    the same report again meanwhile is judged against it, and so makes the same events under
    the same ``seq`` (stored once), even if the first hand-over is never committed. A
    hand-over not carried in time may still be committed later, so neither the old state nor
    the new one is then known: ``forget`` drops them, and the next report says every flag.
    """

    def __init__(self, memory: StateMemory) -> None:
        self._memory = memory
        self._states: dict[Address, int] = {}

    def get(self, address: Address) -> int | None:
        if address in self._states:
            return self._states[address]
        return self._memory.get(address)

    def put(self, address: Address, state: int) -> None:
        self._states[address] = state

    def commit(self) -> None:
        for address, state in self._states.items():
            self._memory.put(address, state)

    def forget(self) -> None:
        self._memory.forget(self._states)


class States(Protocol):
    def get(self, address: Address) -> int | None: ...

    def put(self, address: Address, state: int) -> None: ...


@dataclass(slots=True)
class Translation:
    items: list[Inbound] = field(default_factory=list)


def synthetic_id(address: Address) -> str:
    """An id for an address no registered device has: ingest dead-letters its messages as
    unknown_device and lists it as pending, under this id."""
    transmitter, system, component = address
    parts = ["gb26875", transmitter]
    if system is not None:
        parts.append(str(system))
    if component is not None:
        parts.append(str(component))
    return "-".join(parts)


@dataclass(frozen=True, slots=True)
class Context:
    site: str
    tz: tzinfo
    lookup: Lookup
    memory: States
    received_at: datetime


def moment(label: bytes, tz: tzinfo) -> datetime:
    """A label naming no moment (all zeros: a clock never set) is NO_MOMENT; the server then
    sets the device's clock."""
    try:
        return moment_of(label, tz)
    except ValueError:
        return NO_MOMENT


def heard(frame: Frame, ctx: Context) -> Inbound:
    """The transmission device was heard: a status message (its heartbeat)."""
    address: Address = (frame.source_hex, None, None)
    return messages.status(
        ctx.site,
        ctx.lookup(address) or synthetic_id(address),
        ts=moment(frame.label, ctx.tz),
        seq=frame.serial,
        received_at=ctx.received_at,
    )


def addresses(frame: Frame, unit: DataUnit | None) -> set[Address]:
    """Every address a packet names: its transmitter's, and each object's."""
    transmitter = frame.source_hex
    found: set[Address] = {(transmitter, None, None)}
    for obj in unit.objects if unit is not None else ():
        if isinstance(obj, ComponentState | AnalogValue):
            found.add((transmitter, obj.system, obj.component))
        elif isinstance(obj, SystemState | Operation):
            found.add((transmitter, obj.system, None))
    return found


def translate(frame: Frame, unit: DataUnit, ctx: Context) -> Translation:
    out = Translation()
    for obj in unit.objects:
        out.items.extend(_messages(frame.source_hex, obj, ctx, serial=frame.serial))
    return out


def _messages(  # noqa: C901 - one case per object type
    transmitter: str, obj: InfoObject, ctx: Context, *, serial: int
) -> Iterator[Inbound]:
    match obj:
        case ComponentState():
            address: Address = (transmitter, obj.system, obj.component)
            detail = {
                "system_type": obj.system_type,
                "component_type": obj.component_type,
                "state": f"0x{obj.state:04x}",
                **_named(obj.state, _COMPONENT_BITS),
            }
            if obj.description:
                detail["description"] = obj.description
            yield from _changes(
                address,
                state=obj.state,
                label=obj.label,
                flags=_PANEL_FLAGS,
                detail=detail,
                ctx=ctx,
                serial=serial,
            )
        case SystemState():
            address = (transmitter, obj.system, None)
            detail = {
                "system_type": obj.system_type,
                "state": f"0x{obj.state:04x}",
                **_named(obj.state, _SYSTEM_BITS),
            }
            yield from _changes(
                address,
                state=obj.state,
                label=obj.label,
                flags=_SYSTEM_FLAGS,
                detail=detail,
                ctx=ctx,
                serial=serial,
            )
        case TransmitterState():
            address = (transmitter, None, None)
            detail = {"state": f"0x{obj.state:02x}", **_named(obj.state, _TRANSMITTER_BITS)}
            yield from _changes(
                address,
                state=obj.state,
                label=obj.label,
                flags=_TRANSMITTER_FLAGS,
                detail=detail,
                ctx=ctx,
                serial=serial,
            )
        case AnalogValue():
            if obj.analog_type == ANALOG_TEMPERATURE:
                address = (transmitter, obj.system, obj.component)
                yield messages.reading(
                    ctx.site,
                    _device(address, ctx),
                    ts=moment(obj.label, ctx.tz),
                    seq=obj.analog_type,
                    values={"temperature_c": obj.value / 10},
                    received_at=ctx.received_at,
                )
        case Operation():
            address = (transmitter, obj.system, None)
            yield from _operations(address, obj.flags, obj.operator, obj.label, ctx, serial=serial)
        case TransmitterOperation():
            address = (transmitter, None, None)
            yield from _operations(address, obj.flags, obj.operator, obj.label, ctx, serial=serial)
            if obj.flags & INSPECTION_ANSWERED:  # the duty person answered 查岗: heard
                yield messages.status(
                    ctx.site,
                    _device(address, ctx),
                    ts=moment(obj.label, ctx.tz),
                    seq=24 << 8 | obj.flags,
                    received_at=ctx.received_at,
                )
        case TransmitterTime():
            address = (transmitter, None, None)
            yield messages.status(
                ctx.site,
                _device(address, ctx),
                ts=moment(obj.label, ctx.tz),
                seq=28 << 8,
                received_at=ctx.received_at,
            )


def _device(address: Address, ctx: Context) -> str:
    return ctx.lookup(address) or synthetic_id(address)


def _named(state: int, bits: dict[int, str]) -> dict[str, Any]:
    return {name: True for bit, name in bits.items() if state & bit}


def _changes(
    address: Address,
    *,
    state: int,
    label: bytes,
    flags: Flags,
    detail: dict[str, Any],
    ctx: Context,
    serial: int,
) -> Iterator[Inbound]:
    at = moment(label, ctx.tz)
    before = ctx.memory.get(address)
    device = _device(address, ctx)
    # A fire is said every time it is reported, not only when its flag changes: a panel reset
    # often sends no per-component return to normal, and the next fire would then look like
    # no change. A retransmission of one report is still one message (same seq and time).
    raised = [
        f for f in flags if state & f[0] and (before is None or not before & f[0] or f[0] == FIRE)
    ]
    cleared = [f for f in flags if not state & f[0] and (before is None or before & f[0])]
    # A shield lifted goes last, after what it covered has cleared.
    ordered = [(f[1], f[3]) for f in raised] + [(f[2], f[3] + 8) for f in cleared[::-1]]
    for event, code in ordered:
        yield messages.event(
            ctx.site,
            device,
            ts=at,
            seq=_unique(at, serial) | state << 8 | code,
            event_type=event,
            detail=detail,
            received_at=ctx.received_at,
        )
    if not ordered:  # nothing judged changed (a module started, a repeat): the report is kept
        yield messages.status(ctx.site, device, ts=at, seq=state << 8, received_at=ctx.received_at)
    ctx.memory.put(address, state)


def _unique(at: datetime, serial: int) -> int:
    """Bits that keep apart two reports of a device whose labels name no moment: they say the
    same state at the same (no) time, and the second fire would be taken for the first's copy.
    The packet's serial number tells them apart; a retransmission keeps it (6.5), so it is
    still one message, unless it comes on a new connection under a new number: then a
    duplicate, never a lost fire."""
    return serial << 40 if at == NO_MOMENT else 0


def _operations(
    address: Address, flags: int, operator: int, label: bytes, ctx: Context, *, serial: int
) -> Iterator[Inbound]:
    """A manual alarm at the panel or the transmission device is a fire alarm; a test puts the
    device in test mode (its alarms are recorded, never dispatched)."""
    for bit, event in ((TEST, "test"), (MANUAL_ALARM, "alarm")):
        if flags & bit:
            yield messages.event(
                ctx.site,
                _device(address, ctx),
                ts=(at := moment(label, ctx.tz)),
                seq=_unique(at, serial) | 1 << 32 | flags << 8 | bit,
                event_type=event,
                detail={"operation": f"0x{flags:02x}", "operator": operator},
                received_at=ctx.received_at,
            )
