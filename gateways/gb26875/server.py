"""The GB/T 26875.3 TCP server: transmission devices connect, send packets and are answered.

Each connection is read by one task, one packet at a time, as the standard's send/confirm
mode has it: a packet's messages are carried to ingest (gateways/carrier.py) and its confirm
(3, echoing the serial number) is written only once they are committed. Packets that arrive
meanwhile wait in the socket, so a fast peer is slowed by TCP rather than by memory, and the
frame rate limit works the same way. A packet that fails the standard's checks (6.5: checksum,
command byte, data unit length, start or end mark) is dead-lettered as ``bad_frame`` and
denied (6), as the standard says, when its control unit could be read.

Nothing a peer sends ends more than its own connection: anything unforeseen in a handler is
logged and that connection closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from ipaddress import IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from contract.messages import Reason
from gateways import messages
from gateways.carrier import Carrier, NotCarried
from gateways.gb26875 import data_units, frames
from gateways.gb26875.data_units import DataUnit
from gateways.gb26875.frames import Command, Frame, FrameReader, Refused
from gateways.gb26875.mapping import Mapping, MappingUnavailable
from gateways.gb26875.translate import (
    Context,
    StateMemory,
    Translation,
    addresses,
    heard,
    moment,
    translate,
)
from ingest.pipeline import Inbound
from settings import Settings

log = logging.getLogger(__name__)

GATEWAY = "gb26875"
HEARD_EVERY_S = 60.0  # the transmitter's status while its connection carries packets
CLOCK_SKEW_S = 60.0  # a time label further off than this: the device's clock is set
CLOCK_SYNC_EVERY_S = 600.0
WRITE_TIMEOUT_S = 10.0  # a peer that does not read its answers is dropped
READ_CHUNK = 64 * 1024
TYPE_CLOCK_SYNC = 90  # 8.3.2.15, sent with command 1 (control)
_DATA = frozenset({Command.SEND, Command.ANSWER})


@dataclass(frozen=True, slots=True, kw_only=True)
class Limits:
    idle_timeout_s: float = 120.0
    max_frame_bytes: int = frames.FRAME_MAX
    frames_per_s: float = 50.0
    max_connections: int = 5000
    # The networks transmitters connect from (a carrier's private APN, the site's VPN); empty:
    # any. The protocol has no login: the network it comes over is its authentication.
    allowed: tuple[IPv4Network | IPv6Network, ...] = ()


@dataclass(slots=True)
class Gb26875Metrics:
    connections: int = 0
    connections_refused: int = 0
    received: int = 0
    confirmed: int = 0
    denied: int = 0
    answers: int = 0  # answers (5) to the centre's requests, carried
    not_carried: int = 0
    clock_syncs: int = 0
    refused: Counter[str] = field(default_factory=Counter)


class Gb26875Collector(Collector):
    """Renders the server's plain counters at scrape time, like ingest's (ingest/metrics.py)."""

    def __init__(self, metrics: Gb26875Metrics) -> None:
        self._m = metrics

    def collect(self) -> Iterator[Metric]:
        m = self._m
        yield GaugeMetricFamily(
            "firewatch_gb26875_connections", "Transmission devices connected", value=m.connections
        )
        for name, doc, value in (
            (
                "connections_refused",
                "Connections refused: over the limit, or from outside FIREWATCH_GB26875_ALLOW",
                m.connections_refused,
            ),
            ("frames_received", "Packets read (valid or not)", m.received),
            ("frames_confirmed", "Packets confirmed (3) after their commit", m.confirmed),
            ("frames_denied", "Packets denied (6): a checking error", m.denied),
            ("answers", "Answers (5) to the centre's requests, committed", m.answers),
            (
                "not_carried",
                "Packets left unanswered: ingest did not commit in time (the peer sends again)",
                m.not_carried,
            ),
            ("clock_syncs", "Clock synchronisations (type 90) sent", m.clock_syncs),
        ):
            yield CounterMetricFamily(f"firewatch_gb26875_{name}", doc, value=value)
        refused = CounterMetricFamily(
            "firewatch_gb26875_frames_refused",
            "Bytes refused and dead-lettered as bad_frame, by what was wrong",
            labels=["reason"],
        )
        for reason, count in sorted(m.refused.items()):
            refused.add_metric([reason], count)
        yield refused


class _Bucket:
    """Frames per second for one connection: a token bucket one second deep."""

    def __init__(self, rate: float) -> None:
        self._rate = rate
        self._tokens = rate
        self._at = time.monotonic()

    async def take(self) -> None:
        now = time.monotonic()
        self._tokens = min(self._rate, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1:
            await asyncio.sleep((1 - self._tokens) / self._rate)
            self._tokens, self._at = 1.0, time.monotonic()
        self._tokens -= 1


async def _drained(peer: _Peer) -> None:
    """A peer that does not read its answers within WRITE_TIMEOUT_S is dropped."""
    async with asyncio.timeout(WRITE_TIMEOUT_S):
        await peer.writer.drain()


@dataclass(slots=True)
class _Peer:
    name: str
    writer: asyncio.StreamWriter
    heard_at: dict[str, float] = field(default_factory=dict)  # transmitter -> monotonic
    synced_at: float = float("-inf")
    serial: int = 0  # the centre's own serial numbers on this connection (6.6: from 0)
    transmitter: bytes | None = None  # the first source address speaks for the connection


class Gb26875Server:
    def __init__(
        self,
        *,
        carrier: Carrier,
        mapping: Mapping,
        site: str,
        tz: tzinfo,
        limits: Limits,
        metrics: Gb26875Metrics | None = None,
    ) -> None:
        self._carrier = carrier
        self._mapping = mapping
        self._site = site
        self._tz = tz
        self.limits = limits
        self.metrics = metrics or Gb26875Metrics()
        self._memory = StateMemory()
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    async def start(self, host: str, port: int) -> int:
        """Listens; returns the port (the one the system chose for port 0)."""
        self._server = await asyncio.start_server(
            self._accept, host, port, backlog=min(self.limits.max_connections, 4096)
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def serve_until(self, stop: threading.Event, *, poll_s: float = 0.1) -> None:
        try:
            while not stop.is_set():
                await asyncio.sleep(poll_s)
        finally:
            await self.close()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._handlers):
            task.cancel()
        for task in list(self._handlers):
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await self._mapping.close()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        host, port, *_ = writer.get_extra_info("peername") or ("?", 0)
        if self.metrics.connections >= self.limits.max_connections or not self._allowed(host):
            self.metrics.connections_refused += 1
            writer.close()
            return
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        self.metrics.connections += 1
        peer = _Peer(f"{host}:{port}", writer)
        try:
            await self._read(reader, peer)
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass  # the server is closing; asyncio's own callback would log a cancelled task
        except Exception:
            log.exception("GB/T 26875.3 connection %s failed; closing it", peer.name)
        finally:
            self.metrics.connections -= 1
            self._handlers.discard(task)
            # A peer that stopped reading keeps unsent bytes in the transport, and a plain
            # close would wait for them for ever: its handler and socket would leak.
            writer.transport.abort()

    def _allowed(self, host: str) -> bool:
        if not self.limits.allowed:
            return True
        try:
            found = ip_address(host)
        except ValueError:
            return False
        # Listening on "::", an IPv4 peer arrives as ::ffff:a.b.c.d.
        address = found.ipv4_mapped or found if isinstance(found, IPv6Address) else found
        return any(address in network for network in self.limits.allowed)

    async def _read(self, reader: asyncio.StreamReader, peer: _Peer) -> None:
        stream = FrameReader(max_frame_bytes=self.limits.max_frame_bytes)
        bucket = _Bucket(self.limits.frames_per_s)
        while True:
            try:  # asyncio.timeout, not wait_for: no task made per read (3.11)
                async with asyncio.timeout(self.limits.idle_timeout_s):
                    data = await reader.read(READ_CHUNK)
            except TimeoutError:
                log.info("GB/T 26875.3 %s: idle, closed", peer.name)
                data = b""
            if not data:
                for refused in stream.close():
                    await self._refuse(refused, peer)
                return
            run: list[Frame] = []  # data packets read together: carried together, in order
            for got in stream.feed(data):
                await bucket.take()
                self.metrics.received += 1
                item = _bound(got, peer)
                if isinstance(item, Frame) and item.command in _DATA:
                    run.append(item)
                    continue
                await self._data(run, peer)
                run = []
                if isinstance(item, Refused):
                    await self._refuse(item, peer)
                else:
                    await self._frame(item, peer)
            await self._data(run, peer)

    async def _refuse(self, refused: Refused, peer: _Peer, *, code: str | None = None) -> None:
        """Dead-letters the bytes as they came, then denies them when they can be addressed."""
        self.metrics.refused[code or refused.code] += 1
        refusal = messages.refusal(
            GATEWAY,
            self._site,
            peer=peer.name,
            reason=Reason.BAD_FRAME,
            detail=refused.detail,
            raw=refused.raw,
            received_at=datetime.now(UTC),
        )
        try:
            await self._carrier.carry([refusal], gateway=GATEWAY)
        except NotCarried as exc:
            log.warning("GB/T 26875.3 %s: a refusal was not dead-lettered: %s", peer.name, exc)
        if refused.deniable:
            await self._write(peer, frames.reply(refused, command=Command.DENY, label=self._now()))
            self.metrics.denied += 1

    def _now(self) -> bytes:
        return frames.label_of(datetime.now(UTC), self._tz)

    async def _write(self, peer: _Peer, data: bytes) -> None:
        peer.writer.write(data)
        await _drained(peer)

    async def _frame(self, frame: Frame, peer: _Peer) -> None:
        """A packet that carries no data: the centre's own commands, refused, or answers to
        the centre's. A confirm (3) answers its clock synchronisation: nothing more to do."""
        command = frame.command
        if command in (Command.CONTROL, Command.REQUEST):
            name = Command(command).name.lower()
            detail = f"command {command} ({name}) is the centre's to send"
            await self._refuse(_refused(frame, detail, code="command"), peer)
        elif command == Command.DENY:
            log.info("GB/T 26875.3 %s denied the centre's packet %d", peer.name, frame.serial)

    async def _units(
        self, run: list[Frame], peer: _Peer
    ) -> list[tuple[Frame, DataUnit | None, datetime]]:
        """Each packet's data unit and time, or its refusal."""
        units: list[tuple[Frame, DataUnit | None, datetime]] = []
        for frame in run:
            try:
                unit = data_units.parse(frame.adu) if frame.adu else None
                units.append((frame, unit, moment(frame.label, self._tz)))
            except data_units.AduError as exc:
                await self._refuse(_refused(frame, str(exc), code="data_unit"), peer)
        return units

    async def _data(self, run: list[Frame], peer: _Peer) -> None:
        """Sends (2) and answers (5) read together from one connection, carried to ingest in
        one hand-over and in order, each confirmed once that hand-over is committed. Not
        carried, none is confirmed and the states they name are forgotten: the device sends
        them again, in order, and says every flag."""
        units = await self._units(run, peer)
        if not units:
            return
        try:
            await self._mapping.resolve({a for f, u, _ in units for a in addresses(f, u)})
        except MappingUnavailable as exc:
            log.warning("GB/T 26875.3 %s: not answered, %s", peer.name, exc)
            self.metrics.not_carried += len(units)
            return
        pending = self._memory.pending()
        ctx = Context(
            site=self._site,
            tz=self._tz,
            lookup=self._mapping.lookup,
            memory=pending,
            received_at=datetime.now(UTC),
        )
        items: list[Inbound] = []
        carried: list[tuple[Frame, datetime]] = []
        heard_now: set[str] = set()
        now = time.monotonic()
        for frame, unit, sent_at in units:
            translation = translate(frame, unit, ctx) if unit is not None else Translation()
            items += translation.items
            carried.append((frame, sent_at))
            transmitter = frame.source_hex
            last = peer.heard_at.get(transmitter, float("-inf"))
            if transmitter not in heard_now and now - last >= HEARD_EVERY_S:
                heard_now.add(transmitter)
                items.append(heard(frame, ctx))
        if not carried:
            return
        try:
            await self._carrier.carry(items, gateway=GATEWAY)
        except NotCarried as exc:
            pending.forget()  # ingest may still commit it: which state stands is not known
            self.metrics.not_carried += len(carried)
            log.warning(
                "GB/T 26875.3 %s: %d packets not answered: %s", peer.name, len(carried), exc
            )
            return
        pending.commit()
        for transmitter in heard_now:
            peer.heard_at[transmitter] = now
        await self._confirm(carried, peer)

    async def _confirm(self, carried: list[tuple[Frame, datetime]], peer: _Peer) -> None:
        """Committed: each send confirmed (an answer to the centre's request needs none)."""
        label = self._now()
        for frame, _ in carried:
            if frame.command == Command.SEND:
                peer.writer.write(frames.reply(frame, command=Command.CONFIRM, label=label))
                self.metrics.confirmed += 1
            else:
                self.metrics.answers += 1
        await _drained(peer)
        frame, sent_at = carried[-1]
        await self._check_clock(frame, sent_at, peer)

    async def _check_clock(self, frame: Frame, sent_at: datetime, peer: _Peer) -> None:
        """A device whose clock is off has its messages dead-lettered as stale or future: set
        it (control command, type 90), at most every CLOCK_SYNC_EVERY_S per connection."""
        now = datetime.now(UTC)
        if abs((sent_at - now).total_seconds()) <= CLOCK_SKEW_S:
            return
        if time.monotonic() - peer.synced_at < CLOCK_SYNC_EVERY_S:
            return
        peer.synced_at = time.monotonic()
        peer.serial = (peer.serial + 1) & 0xFFFF
        label = self._now()
        packet = frames.build(
            serial=peer.serial,
            command=Command.CONTROL,
            source=frame.destination,
            destination=frame.source,
            label=label,
            adu=bytes((TYPE_CLOCK_SYNC, 1)) + label,
        )
        await self._write(peer, packet)
        self.metrics.clock_syncs += 1
        off = (sent_at - now).total_seconds()
        log.info("GB/T 26875.3 %s: clock off by %.0f s, synchronised", peer.name, off)


def _bound(item: Frame | Refused, peer: _Peer) -> Frame | Refused:
    """A connection speaks for the transmitter of its first packet: a packet from another
    source on it is refused (one connection cannot speak for a street of transmitters)."""
    if isinstance(item, Refused):
        return item
    if peer.transmitter is None:
        peer.transmitter = item.source
    elif item.source != peer.transmitter:
        bound = frames.address_hex(peer.transmitter)
        return _refused(
            item, f"source {item.source_hex} on the connection of {bound}", code="source"
        )
    return item


def _refused(frame: Frame, detail: str, *, code: str) -> Refused:
    """A packet that passed the framing checks but is refused for what it holds."""
    return Refused(code, detail, frame.raw, frame.serial, frame.source, frame.destination)


def limits_from(settings: Settings) -> Limits:
    return Limits(
        idle_timeout_s=settings.gb26875_idle_timeout_s,
        max_frame_bytes=settings.gb26875_max_frame_bytes,
        frames_per_s=settings.gb26875_frames_per_s,
        max_connections=settings.gb26875_max_connections,
        allowed=tuple(
            ip_network(n.strip(), strict=False)
            for n in settings.gb26875_allow.split(",")
            if n.strip()
        ),
    )


def server_from(
    settings: Settings, carrier: Carrier, metrics: Gb26875Metrics | None = None
) -> Gb26875Server:
    return Gb26875Server(
        carrier=carrier,
        mapping=Mapping(settings.database_url, site=settings.site),
        site=settings.site,
        tz=settings.tz,
        limits=limits_from(settings),
        metrics=metrics,
    )
