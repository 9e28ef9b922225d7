"""GB/T 26875.3-2011 framing (clause 6.6), pure: bytes in, frames or refusals out, and the
centre's own frames (confirm, deny, control) built.

A packet is ``@@``, the 25-byte control unit, the application data unit (at most 1,024 bytes,
empty for a confirm or a deny), one checksum byte and ``##``. The control unit holds the
business serial number (2 bytes, low byte first), the protocol version (major, user), the
time label (second, minute, hour, day, month, year - 2000), the source and destination
addresses (6 bytes each, low byte first), the data unit's length (2 bytes, low byte first)
and the command byte. The checksum is the arithmetic sum of the control unit and the data
unit, modulo 256.

A TCP stream may hold several packets, or part of one, or junk: :class:`FrameReader` takes
whatever arrived and returns each packet it completes, or a :class:`Refused` that says why
(the standard's checking errors: a wrong checksum, an unknown command byte, a data unit over
its limit, a wrong start or end mark), so the server can deny it and dead-letter it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo
from enum import IntEnum

START = b"@@"
END = b"##"
HEAD = 27  # "@@" and the control unit
TAIL = 3  # checksum and "##"
ADU_MAX = 1024  # clause 6.6: the data unit's length shall not exceed 1,024
FRAME_MAX = HEAD + ADU_MAX + TAIL
VERSION = (1, 1)  # major version 1 (fixed by the standard), user version 1
LABEL_BYTES = 6
ADDRESS_BYTES = 6


class Command(IntEnum):
    CONTROL = 1  # centre -> device: e.g. clock synchronisation, inspection (查岗)
    SEND = 2  # device -> centre: fire alarms, states, operations
    CONFIRM = 3
    REQUEST = 4  # centre -> device: read a state
    ANSWER = 5  # device -> centre: what was read
    DENY = 6


_COMMANDS = frozenset(int(c) for c in Command)


@dataclass(frozen=True, slots=True)
class Frame:
    serial: int
    version: tuple[int, int]
    label: bytes  # the time label as sent: second, minute, hour, day, month, year - 2000
    source: bytes
    destination: bytes
    command: int
    adu: bytes
    raw: bytes

    @property
    def source_hex(self) -> str:
        return address_hex(self.source)


@dataclass(frozen=True, slots=True)
class Refused:
    """Bytes that are no acceptable packet. When the control unit could be read, ``serial``,
    ``source`` and ``destination`` let the server address its deny; junk has none."""

    code: str  # for metrics: junk, truncated, length, end_mark, checksum, command
    detail: str
    raw: bytes
    serial: int | None = None
    source: bytes | None = None
    destination: bytes | None = None

    @property
    def deniable(self) -> bool:
        return self.serial is not None


def checksum(body: bytes) -> int:
    return sum(body) & 0xFF


def address_hex(address: bytes) -> str:
    """A 6-byte address (low byte first on the wire) as the registry writes it: 12 hex digits,
    most significant first (``79 03 00 00 00 00`` is ``000000000379``)."""
    return f"{int.from_bytes(address, 'little'):012x}"


def address_bytes(hex_digits: str) -> bytes:
    return int(hex_digits, 16).to_bytes(ADDRESS_BYTES, "little")


def label_of(moment: datetime, tz: tzinfo) -> bytes:
    """``moment`` as a time label on the site's clock (the standard's labels carry no zone;
    transmitters keep local time)."""
    local = moment.astimezone(tz)
    return bytes(
        (local.second, local.minute, local.hour, local.day, local.month, local.year - 2000)
    )


def moment_of(label: bytes, tz: tzinfo) -> datetime:
    """Raises ValueError for a label that names no moment (month 13, minute 61)."""
    second, minute, hour, day, month, year = label
    if year > 99:
        raise ValueError(f"time label year {year} is not 0..99")
    return datetime(2000 + year, month, day, hour, minute, second, tzinfo=tz)


class FrameReader:
    """Splits one connection's byte stream into frames and refusals.

    A refused packet is skipped as a whole when its end mark is where its length says, so
    the next packet is read from the right place; otherwise reading resumes at the next
    ``@@``. Junk between packets is refused in one piece (at most ``max_frame_bytes`` at a
    time), never byte by byte.
    """

    def __init__(self, *, max_frame_bytes: int = FRAME_MAX) -> None:
        self._max_frame = max(HEAD + TAIL, max_frame_bytes)
        self._max_adu = min(ADU_MAX, self._max_frame - HEAD - TAIL)
        self._buffer = bytearray()

    @property
    def pending(self) -> int:
        """Bytes received and not yet part of a frame or a refusal."""
        return len(self._buffer)

    def feed(self, data: bytes) -> list[Frame | Refused]:
        self._buffer += data
        out: list[Frame | Refused] = []
        while True:
            item = self._next()
            if item is None:
                return out
            out.append(item)

    def close(self) -> list[Refused]:
        """What is left when the peer goes away: an unfinished packet or junk."""
        rest, self._buffer = bytes(self._buffer), bytearray()
        if not rest:
            return []
        return [
            Refused("truncated", f"connection closed inside a packet ({len(rest)} bytes)", rest)
        ]

    def _junk(self, upto: int, why: str) -> Refused:
        raw = bytes(self._buffer[:upto])
        del self._buffer[:upto]
        return Refused("junk", why, raw)

    def _not_a_packet(self) -> Refused | None:
        """A start mark at 0 whose header cannot be a packet's (no protocol version 1): refused
        with everything up to the next start mark that could begin one, as one refusal. A flood
        of '@', or of start marks with garbage behind them, would otherwise cost a refusal (and
        a deny to whatever address the garbage names) every byte or two."""
        buffer = self._buffer
        if len(buffer) < HEAD or buffer[4] == VERSION[0]:
            return None
        at = buffer.find(START, 1)
        while at > 0 and at + HEAD <= len(buffer) and buffer[at + 4] != VERSION[0]:
            at = buffer.find(START, at + 1)
        upto = at if at > 0 else len(buffer)
        return self._junk(upto, f"'@@' without protocol version {VERSION[0]}: not a packet")

    def _next(self) -> Frame | Refused | None:  # noqa: C901, PLR0911 - a return per checking error
        buffer = self._buffer
        start = buffer.find(START)
        if start > 0:
            return self._junk(start, f"{start} bytes before a start mark '@@'")
        if start < 0:
            keep = 1 if buffer.endswith(b"@") else 0  # half a start mark may follow
            if len(buffer) - keep >= self._max_frame:
                return self._junk(len(buffer) - keep, "no start mark '@@'")
            return None
        if len(buffer) < HEAD:
            return None
        not_one = self._not_a_packet()
        if not_one is not None:
            return not_one
        length = int.from_bytes(buffer[24:26], "little")
        if length > self._max_adu:
            refused = _refused(
                "length",
                f"application data unit length {length} exceeds {self._max_adu}",
                buffer[:HEAD],
            )
            del buffer[:1]  # resynchronise at the next start mark, which may be the next byte
            return refused
        total = HEAD + length + TAIL
        if len(buffer) < total:
            return None
        raw = bytes(buffer[:total])
        if raw[-2:] != END:
            del buffer[:1]
            return _refused(
                "end_mark",
                f"no end mark '##' where the length {length} puts it (found {raw[-2:].hex()})",
                raw,
            )
        del buffer[:total]
        body = raw[2 : HEAD + length]
        if checksum(body) != raw[-3]:
            return _refused(
                "checksum", f"checksum 0x{raw[-3]:02x}, computed 0x{checksum(body):02x}", raw
            )
        command = raw[26]
        if command not in _COMMANDS:
            return _refused("command", f"command byte {command} is not one of 1..6", raw)
        return Frame(
            serial=int.from_bytes(raw[2:4], "little"),
            version=(raw[4], raw[5]),
            label=raw[6:12],
            source=raw[12:18],
            destination=raw[18:24],
            command=command,
            adu=raw[HEAD : HEAD + length],
            raw=raw,
        )


def _refused(code: str, detail: str, raw: bytes | bytearray) -> Refused:
    """A refusal of bytes whose control unit could be read: the deny can be addressed."""
    raw = bytes(raw)
    return Refused(
        code,
        detail,
        raw,
        serial=int.from_bytes(raw[2:4], "little"),
        source=raw[12:18],
        destination=raw[18:24],
    )


def build(
    *,
    serial: int,
    command: int,
    source: bytes,
    destination: bytes,
    label: bytes,
    adu: bytes = b"",
    version: tuple[int, int] = VERSION,
) -> bytes:
    body = (
        (serial & 0xFFFF).to_bytes(2, "little")
        + bytes(version)
        + label
        + source
        + destination
        + len(adu).to_bytes(2, "little")
        + bytes((command,))
        + adu
    )
    return START + body + bytes((checksum(body),)) + END


def reply(to: Frame | Refused, *, command: Command, label: bytes) -> bytes:
    """A confirm or a deny: the peer's serial number echoed, the addresses swapped, no data."""
    assert to.serial is not None and to.source is not None and to.destination is not None
    return build(
        serial=to.serial,
        command=command,
        source=to.destination,
        destination=to.source,
        label=label,
    )
