"""GB/T 26875.3-2011 application data units (clauses 7 and 8), pure: a data unit's bytes to
typed information objects.

A data unit is a type flag (1 byte), a count of information objects (1 byte) and the objects,
each of a fixed size for its type; the state and operation objects are each followed by the
6-byte time label of when it happened. The upstream types the centre reads are listed in
``UPSTREAM``; the reserved and user-defined ones, and the centre's own (61..91), are refused
by name.
"""

from __future__ import annotations

from dataclasses import dataclass

LABEL = 6


@dataclass(frozen=True, slots=True)
class SystemState:
    """Type 1, 8.2.1.1: a building fire-facility system's state (2 bytes of flags)."""

    system_type: int
    system: int
    state: int
    label: bytes


@dataclass(frozen=True, slots=True)
class ComponentState:
    """Type 2, 8.2.1.2: a component's running state. ``component`` is the 4-byte address read
    as one little-endian number: zone (区号) + 65,536 x position (位号)."""

    system_type: int
    system: int
    component_type: int
    component: int
    state: int
    description: str  # 31 bytes of GB 18030 on the wire
    label: bytes


@dataclass(frozen=True, slots=True)
class AnalogValue:
    """Type 3, 8.2.1.3: a component's analog value, a signed 16-bit count of the type's unit."""

    system_type: int
    system: int
    component_type: int
    component: int
    analog_type: int
    value: int
    label: bytes


@dataclass(frozen=True, slots=True)
class Operation:
    """Type 4, 8.2.1.4: an operation at a system's controller (reset, silence, test …)."""

    system_type: int
    system: int
    flags: int
    operator: int
    label: bytes


@dataclass(frozen=True, slots=True)
class TransmitterState:
    """Type 21, 8.2.1.8: the transmission device's own state (1 byte of flags)."""

    state: int
    label: bytes


@dataclass(frozen=True, slots=True)
class TransmitterOperation:
    """Type 24, 8.2.1.9: an operation at the transmission device (an inspection answered …)."""

    flags: int
    operator: int
    label: bytes


@dataclass(frozen=True, slots=True)
class TransmitterTime:
    """Type 28, 8.3.1.13: the transmission device's clock."""

    label: bytes


InfoObject = (
    SystemState
    | ComponentState
    | AnalogValue
    | Operation
    | TransmitterState
    | TransmitterOperation
    | TransmitterTime
)


@dataclass(frozen=True, slots=True)
class DataUnit:
    type: int
    objects: tuple[InfoObject, ...]


class AduError(ValueError):
    """A data unit that cannot be read: its length does not fit its count, or its type is not
    one a transmission device may send."""


def _u16(data: bytes, at: int) -> int:
    return data[at] | data[at + 1] << 8


def _u32(data: bytes, at: int) -> int:
    return int.from_bytes(data[at : at + 4], "little")


def _text(raw: bytes) -> str:
    text = raw.decode("gb18030", errors="replace").replace("\x00", " ")
    return "".join(c for c in text if c.isprintable()).strip()


def _system_state(o: bytes) -> InfoObject:
    return SystemState(o[0], o[1], _u16(o, 2), o[4:10])


def _component_state(o: bytes) -> InfoObject:
    return ComponentState(o[0], o[1], o[2], _u32(o, 3), _u16(o, 7), _text(o[9:40]), o[40:46])


def _analog(o: bytes) -> InfoObject:
    value = int.from_bytes(o[8:10], "little", signed=True)
    return AnalogValue(o[0], o[1], o[2], _u32(o, 3), o[7], value, o[10:16])


def _operation(o: bytes) -> InfoObject:
    return Operation(o[0], o[1], o[2], o[3], o[4:10])


def _transmitter_state(o: bytes) -> InfoObject:
    return TransmitterState(o[0], o[1:7])


def _transmitter_operation(o: bytes) -> InfoObject:
    return TransmitterOperation(o[0], o[1], o[2:8])


def _transmitter_time(o: bytes) -> InfoObject:
    return TransmitterTime(o[0:6])


# type -> (object size with its time label, the standard's most objects, reader)
UPSTREAM = {
    1: (4 + LABEL, 102, _system_state),
    2: (40 + LABEL, 22, _component_state),
    3: (10 + LABEL, 63, _analog),
    4: (4 + LABEL, 102, _operation),
    21: (1 + LABEL, 1, _transmitter_state),
    24: (2 + LABEL, 127, _transmitter_operation),
    28: (LABEL, 1, _transmitter_time),
}
# Upstream types the centre takes but does not store (versions, configurations, a system's
# clock): confirmed, so the device does not send them again.
NOT_STORED = frozenset({5, 6, 7, 8, 25, 26})


def parse(adu: bytes) -> DataUnit:
    """Raises AduError saying what is wrong; an empty data unit is the caller's (a heartbeat)."""
    if len(adu) < 2:
        raise AduError(f"a data unit of {len(adu)} byte has no type and count")
    kind, count = adu[0], adu[1]
    if kind in NOT_STORED:
        return DataUnit(kind, ())
    spec = UPSTREAM.get(kind)
    if spec is None:
        if 61 <= kind <= 91:
            raise AduError(f"type {kind} is the centre's to send, not a transmission device's")
        raise AduError(f"type {kind} is reserved or user-defined; this centre reads none")
    size, most, read = spec
    if not 1 <= count <= most:
        raise AduError(f"type {kind} carries 1..{most} objects, not {count}")
    if len(adu) != 2 + count * size:
        raise AduError(
            f"type {kind}: {count} objects of {size} bytes need {2 + count * size} bytes, "
            f"the data unit has {len(adu)}"
        )
    return DataUnit(kind, tuple(read(adu[at : at + size]) for at in range(2, len(adu), size)))
