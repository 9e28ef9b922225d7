"""A user information transmission device (用户信息传输装置) speaking GB/T 26875.3-2011 to the
centre over TCP, for the tests, the bench and the demo.

It does what clause 6 asks of a device: each report is sent (command 2) and sent again after
``resend_after_s`` until the centre confirms it (3) or denies it (6; sent again at once), on a
new connection if the old one broke; it answers the centre's control commands with a confirm,
setting its clock on a clock synchronisation (type 90) and, on an inspection (查岗, type 91),
uploading the duty person's answer (type 24, bit 5). Its encoder is its own, written from the
standard, not the gateway's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
SEND, CONFIRM, DENY, CONTROL = 2, 3, 6, 1
CLOCK_SYNC, INSPECTION = 90, 91
INSPECTION_ANSWERED = 0x20
# Component state flags (8.2.1.2): bit 0 normal running, 1 fire, 2 fault, 3 shield, 4 supervise.
NORMAL, FIRE, FAULT, SHIELD, SUPERVISE = 0x01, 0x02, 0x04, 0x08, 0x10
SMOKE_DETECTOR = 40  # component type 40: smoke fire detector


def packet(
    *,
    serial: int,
    command: int,
    source: bytes,
    destination: bytes,
    label: bytes,
    adu: bytes = b"",
) -> bytes:
    """``@@``, the control unit, the data unit, the checksum (sum of both, mod 256), ``##``."""
    body = (
        serial.to_bytes(2, "little")
        + bytes((1, 1))
        + label
        + source
        + destination
        + len(adu).to_bytes(2, "little")
        + bytes((command,))
        + adu
    )
    return b"@@" + body + bytes((sum(body) & 0xFF,)) + b"##"


def label(at: datetime, tz: ZoneInfo = SHANGHAI) -> bytes:
    local = at.astimezone(tz)
    return bytes(
        (local.second, local.minute, local.hour, local.day, local.month, local.year - 2000)
    )


def component_state(
    *,
    system: int,
    component: int,
    state: int,
    at: bytes,
    component_type: int = SMOKE_DETECTOR,
    system_type: int = 1,
    description: str = "",
) -> bytes:
    """One type 2 object: 40 bytes and its time label."""
    text = description.encode("gb18030")[:31].ljust(31, b"\x00")
    return (
        bytes((system_type, system, component_type))
        + component.to_bytes(4, "little")
        + state.to_bytes(2, "little")
        + text
        + at
    )


def data_unit(kind: int, objects: Iterable[bytes]) -> bytes:
    listed = list(objects)
    return bytes((kind, len(listed))) + b"".join(listed)


@dataclass(slots=True)
class _Outgoing:
    serial: int
    data: bytes
    confirmed: asyncio.Future[None]
    sent_at: float = 0.0


@dataclass(slots=True)
class Tally:
    sent: int = 0
    resent: int = 0
    confirmed: int = 0
    denied: int = 0
    clock_syncs: int = 0
    inspections: int = 0
    latencies: list[float] = field(default_factory=list)  # send -> confirm, seconds


class Transmitter:
    """``address`` as the registry writes it (12 hex digits). Use as an async context."""

    def __init__(
        self,
        address: str,
        *,
        host: str,
        port: int,
        centre: bytes = bytes(6),
        resend_after_s: float = 5.0,
        clock_offset_s: float = 0.0,
        tz: ZoneInfo = SHANGHAI,
    ) -> None:
        self.address = int(address, 16).to_bytes(6, "little")
        self.host, self.port = host, port
        self.centre = centre
        self.resend_after_s = resend_after_s
        self.clock_offset = timedelta(seconds=clock_offset_s)
        self.tz = tz
        self.tally = Tally()
        self._serial = 0
        self._unconfirmed: dict[int, _Outgoing] = {}
        self._writer: asyncio.StreamWriter | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._connected = asyncio.Event()
        self._closing = False

    async def __aenter__(self) -> Transmitter:
        await self._connect()
        self._tasks.append(asyncio.create_task(self._resend_loop(), name="gb26875-resend"))
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.clock_offset

    def label(self, at: datetime | None = None) -> bytes:
        return label(at or self.now(), self.tz)

    async def _connect(self) -> None:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        self._writer = writer
        self._connected.set()
        self._tasks.append(asyncio.create_task(self._read(reader), name="gb26875-read"))

    async def close(self) -> None:
        self._closing = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await task
        self._tasks = []
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
            self._writer = None

    def send(self, adu: bytes) -> asyncio.Future[None]:
        """Sends a report (command 2); the future is done when the centre confirmed it."""
        self._serial = (self._serial + 1) & 0xFFFF
        data = packet(
            serial=self._serial,
            command=SEND,
            source=self.address,
            destination=self.centre,
            label=self.label(),
            adu=adu,
        )
        out = _Outgoing(self._serial, data, asyncio.get_running_loop().create_future())
        self._unconfirmed[self._serial] = out
        self._transmit(out)
        self.tally.sent += 1
        return out.confirmed

    async def report(self, adu: bytes) -> None:
        await self.send(adu)

    async def component(
        self,
        *,
        system: int,
        component: int,
        state: int,
        component_type: int = SMOKE_DETECTOR,
        description: str = "",
    ) -> None:
        obj = component_state(
            system=system,
            component=component,
            state=state,
            at=self.label(),
            component_type=component_type,
            description=description,
        )
        await self.report(data_unit(2, [obj]))

    async def transmitter_state(self, state: int) -> None:
        await self.report(data_unit(21, [bytes((state,)) + self.label()]))

    async def heartbeat(self) -> None:
        await self.report(b"")

    @property
    def unconfirmed(self) -> int:
        return len(self._unconfirmed)

    def _transmit(self, out: _Outgoing) -> None:
        if self._writer is None or self._writer.is_closing():
            return  # the resend loop sends it once connected again
        out.sent_at = asyncio.get_running_loop().time()
        self._writer.write(out.data)

    async def _resend_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(max(0.1, self.resend_after_s / 4))
            if self._writer is None or self._writer.is_closing():
                self._connected.clear()
                try:
                    await self._connect()
                except OSError:
                    await asyncio.sleep(self.resend_after_s)
                    continue
            for out in list(self._unconfirmed.values()):
                if loop.time() - out.sent_at >= self.resend_after_s:
                    self.tally.resent += 1
                    self._transmit(out)

    async def _read(self, reader: asyncio.StreamReader) -> None:
        buffer = b""
        try:
            while True:
                chunk = await reader.read(4096)
                if not chunk:
                    break
                buffer += chunk
                while True:
                    start = buffer.find(b"@@")
                    if start < 0 or len(buffer) < start + 27:
                        break
                    length = int.from_bytes(buffer[start + 24 : start + 26], "little")
                    end = start + 30 + length
                    if len(buffer) < end:
                        break
                    frame, buffer = buffer[start:end], buffer[end:]
                    await self._answer(frame)
        finally:
            if self._writer is not None:
                self._writer.close()

    async def _answer(self, frame: bytes) -> None:
        serial = int.from_bytes(frame[2:4], "little")
        command = frame[26]
        adu = frame[27:-3]
        if command == CONFIRM:
            out = self._unconfirmed.pop(serial, None)
            if out is not None:
                self.tally.confirmed += 1
                self.tally.latencies.append(asyncio.get_running_loop().time() - out.sent_at)
                if not out.confirmed.done():
                    out.confirmed.set_result(None)
        elif command == DENY:
            self.tally.denied += 1
            out = self._unconfirmed.get(serial)
            if out is not None:
                self._transmit(out)  # 6.5: denied, send again
        elif command == CONTROL and adu[:1] in (bytes((CLOCK_SYNC,)), bytes((INSPECTION,))):
            self._reply(serial, CONFIRM)
            if adu[0] == CLOCK_SYNC and len(adu) >= 8:
                s, mi, h, d, mo, y = adu[2:8]
                told = datetime(2000 + y, mo, d, h, mi, s, tzinfo=self.tz)
                self.clock_offset = told - datetime.now(UTC)
                self.tally.clock_syncs += 1
            elif adu[0] == INSPECTION:
                self.tally.inspections += 1
                self.send(data_unit(24, [bytes((INSPECTION_ANSWERED, 1)) + self.label()]))
        elif command == CONTROL:
            self._reply(serial, DENY)

    def _reply(self, serial: int, command: int) -> None:
        if self._writer is not None and not self._writer.is_closing():
            self._writer.write(
                packet(
                    serial=serial,
                    command=command,
                    source=self.address,
                    destination=self.centre,
                    label=self.label(),
                )
            )
