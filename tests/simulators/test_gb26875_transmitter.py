"""The simulated transmission device against a centre played by the test (its packets from the
test's own encoder): it sends again until confirmed, at once when denied, and answers the
centre's clock synchronisation and inspection as the standard asks."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from simulators.gb26875_transmitter import Transmitter
from tests.gateways import gb26875_wire as wire

DEVICE = "0000000000c1"
CONFIRM, DENY, CONTROL = 3, 6, 1


class Centre:
    """Keeps every packet the device sends; answers as told."""

    def __init__(self) -> None:
        self.packets: asyncio.Queue[wire.Answer] = asyncio.Queue()
        self.writer: asyncio.StreamWriter | None = None

    async def serve(self) -> tuple[asyncio.Server, int]:
        server = await asyncio.start_server(self._peer, "127.0.0.1", 0)
        return server, int(server.sockets[0].getsockname()[1])

    async def _peer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        buffer = b""
        while chunk := await reader.read(4096):
            buffer += chunk
            while len(buffer) >= 30:
                length = int.from_bytes(buffer[24:26], "little")
                raw, buffer = buffer[: 30 + length], buffer[30 + length :]
                assert raw[:2] == b"@@" and raw[-2:] == b"##"
                assert sum(raw[2:-3]) % 256 == raw[-3]
                await self.packets.put(
                    wire.Answer(
                        serial=int.from_bytes(raw[2:4], "little"),
                        command=raw[26],
                        source=raw[12:18],
                        destination=raw[18:24],
                        adu=raw[27:-3],
                    )
                )

    def send(self, *, serial: int, command: int, adu: bytes = b"") -> None:
        assert self.writer is not None
        self.writer.write(
            wire.frame(
                serial=serial,
                command=command,
                source=wire.CENTRE,
                destination=wire.address(DEVICE),
                adu=adu,
                at=datetime.now(UTC),
            )
        )

    async def next(self) -> wire.Answer:
        return await asyncio.wait_for(self.packets.get(), 5)


def test_reports_are_sent_again_until_confirmed_and_at_once_when_denied() -> None:
    async def run() -> None:
        centre = Centre()
        server, port = await centre.serve()
        async with Transmitter(DEVICE, host="127.0.0.1", port=port, resend_after_s=0.4) as dev:
            confirmed = dev.send(wire.unit(21, bytes([1]) + wire.time_label(datetime.now(UTC))))
            first = await centre.next()
            assert (first.command, first.source) == (2, wire.address(DEVICE))
            again = await centre.next()  # not confirmed: sent again, the same packet
            assert again == first
            centre.send(serial=first.serial, command=DENY)
            assert await centre.next() == first  # denied: at once
            centre.send(serial=first.serial, command=CONFIRM)
            await asyncio.wait_for(confirmed, 5)
            assert (dev.tally.denied, dev.unconfirmed) == (1, 0)
        server.close()

    asyncio.run(run())


def test_clock_synchronisation_and_inspection_are_answered() -> None:
    async def run() -> None:
        centre = Centre()
        server, port = await centre.serve()
        async with Transmitter(DEVICE, host="127.0.0.1", port=port, clock_offset_s=-3600) as dev:
            dev.send(b"")  # say hello: the centre learns the connection
            hello = await centre.next()
            centre.send(serial=hello.serial, command=CONFIRM)
            now = datetime.now(UTC)
            centre.send(serial=1, command=CONTROL, adu=bytes([90, 1]) + wire.time_label(now))
            ack = await centre.next()
            assert (ack.command, ack.serial) == (CONFIRM, 1)
            assert abs(dev.now() - now) < timedelta(seconds=2)  # its clock set
            centre.send(serial=2, command=CONTROL, adu=bytes([91, 1, 10]))
            answers = [await centre.next(), await centre.next()]
            assert (answers[0].command, answers[0].serial) == (CONFIRM, 2)
            upload = answers[1]
            assert upload.command == 2 and upload.adu[:3] == bytes([24, 1, 0x20])
        server.close()

    asyncio.run(run())
