"""GB/T 26875.3-2011 packets written by the tests from the standard's layout (clause 6.6 and
8.2), independently of the gateway's encoder and the simulator's, and a blocking client that
reads the centre's answers from a real socket."""

from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Shanghai")
CENTRE = bytes(6)


def time_label(at: datetime) -> bytes:
    t = at.astimezone(TZ)
    return struct.pack("6B", t.second, t.minute, t.hour, t.day, t.month, t.year % 100)


def address(hex12: str) -> bytes:
    return int(hex12, 16).to_bytes(6, "little")


def frame(
    *,
    serial: int,
    command: int,
    source: bytes,
    adu: bytes = b"",
    at: datetime,
    destination: bytes = CENTRE,
    version: tuple[int, int] = (1, 1),
) -> bytes:
    control = struct.pack(
        "<H2B6s6s6sHB",
        serial,
        *version,
        time_label(at),
        source,
        destination,
        len(adu),
        command,
    )
    return b"\x40\x40" + control + adu + bytes([sum(control + adu) % 256]) + b"\x23\x23"


def component(
    *,
    system: int,
    zone: int,
    position: int,
    state: int,
    at: datetime,
    kind: int = 40,
    system_type: int = 1,
    text: str = "",
) -> bytes:
    """A type 2 object (8.2.1.2): the address is zone then position, each low byte first."""
    desc = text.encode("gb18030").ljust(31, b" ")
    return (
        struct.pack("<BBBHHH", system_type, system, kind, zone, position, state)
        + desc
        + time_label(at)
    )


def unit(kind: int, *objects: bytes) -> bytes:
    return bytes([kind, len(objects)]) + b"".join(objects)


def component_id(zone: int, position: int) -> int:
    """The registry's ``component``: the 4 address bytes as one little-endian number."""
    return zone + (position << 16)


@dataclass(frozen=True)
class Answer:
    serial: int
    command: int
    source: bytes
    destination: bytes
    adu: bytes


class Client:
    """A transmission device's socket: sends bytes, reads the centre's packets."""

    def __init__(self, port: int, *, timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self._buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def answer(self, *, timeout: float = 10.0) -> Answer:
        """The next packet from the centre; raises TimeoutError if none comes in time."""
        self.sock.settimeout(timeout)
        while True:
            start = self._buffer.find(b"@@")
            if start >= 0 and len(self._buffer) >= start + 27:
                length = struct.unpack_from("<H", self._buffer, start + 24)[0]
                end = start + 30 + length
                if len(self._buffer) >= end:
                    raw, self._buffer = self._buffer[start:end], self._buffer[end:]
                    assert raw[-2:] == b"##" and sum(raw[2:-3]) % 256 == raw[-3]
                    return Answer(
                        serial=struct.unpack_from("<H", raw, 2)[0],
                        command=raw[26],
                        source=raw[12:18],
                        destination=raw[18:24],
                        adu=raw[27:-3],
                    )
            try:
                chunk = self.sock.recv(4096)
            except TimeoutError:
                raise TimeoutError("no answer from the centre") from None
            if not chunk:
                raise ConnectionError("the centre closed the connection")
            self._buffer += chunk

    def closed_by_peer(self, *, timeout: float) -> bool:
        """Whether the centre closes within ``timeout``; what it says before is read over."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                if self.sock.recv(4096) == b"":
                    return True
            except TimeoutError:
                return False
            except ConnectionError:
                return True
        return False

    def close(self) -> None:
        self.sock.close()
