"""paho-mqtt with buffered reads and batched acknowledgements, for ingest and simulators; and
a network loop that waits with poll(), for every paho client in a process that imports this."""

from __future__ import annotations

import errno
import math
import select
import struct
from collections.abc import Sequence
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode

# What to do when no broker answers, for every client of ours.
START_HINT = (
    "is Mosquitto running? Start it with 'mosquitto -d -c /etc/mosquitto/mosquitto.conf', "
    "or point FIREWATCH_MQTT_URL at a running broker"
)

_PUBACK = struct.Struct("!BBH")

# What select() reports a socket ready for, read from poll()'s answer: a hang-up or an error is
# readable (the read then sees the close), an error is writable too.
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
_WRITABLE = select.POLLOUT | select.POLLERR


class _PollAsSelect:
    """Stands in for the ``select`` module in paho's client module, whose network loop calls
    ``select.select`` and nothing else from it.

    select() cannot watch a descriptor numbered 1024 (FD_SETSIZE) or more: paho then takes the
    ValueError for a lost connection, reconnects on a new socket with a number as high, and
    never connects again. Ingest reaches such numbers when it hosts a GB/T 26875.3 server with
    a thousand transmitters. poll() has no such limit and answers the same question.
    """

    @staticmethod
    def select(
        rlist: Sequence[Any], wlist: Sequence[Any], xlist: Sequence[Any], timeout: float | None
    ) -> tuple[list[Any], list[Any], list[Any]]:
        poller = select.poll()
        masks: dict[int, int] = {}
        for objects, mask in ((rlist, select.POLLIN), (wlist, select.POLLOUT)):
            for obj in objects:
                masks[obj.fileno()] = masks.get(obj.fileno(), 0) | mask
        for fd, mask in masks.items():
            poller.register(fd, mask)  # a closed socket's -1 raises ValueError, as select does
        wait_ms = None if timeout is None else math.ceil(timeout * 1000)
        ready = dict(poller.poll(wait_ms))
        if any(events & select.POLLNVAL for events in ready.values()):
            # Closed under the socket object: select raises EBADF, and paho then reconnects;
            # answering "nothing ready" would have it spin until its keepalive ran out.
            raise OSError(errno.EBADF, "a socket paho waits on was closed")

        def answering(objects: Sequence[Any], wanted: int) -> list[Any]:
            return [obj for obj in objects if ready.get(obj.fileno(), 0) & wanted]

        return answering(rlist, _READABLE), answering(wlist, _WRITABLE), []


mqtt.select = _PollAsSelect  # type: ignore[assignment,attr-defined]


class BufferedClient(mqtt.Client):
    """paho reads a packet with one ``recv`` per header byte and wakes from ``select`` once per
    packet: at thousands of messages a second the syscalls, not the parsing, cap ingest near
    15k msg/s with no database at all. This client reads 256 KiB at a time and handles every
    complete packet it holds before sleeping again. Pinned to paho-mqtt 2.x, whose private
    ``_sock_recv``, ``_sock_close`` and ``_packet_queue`` it uses; the end-to-end tests
    exercise it.
    """

    _READ_BYTES = 256 * 1024

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rbuf = b""
        self._rpos = 0

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._rpos >= len(self._rbuf):
            data = super()._sock_recv(self._READ_BYTES)
            if not data:
                return data  # the broker closed the connection
            self._rbuf, self._rpos = data, 0
        chunk = self._rbuf[self._rpos : self._rpos + bufsize]
        self._rpos += len(chunk)
        return chunk

    def _sock_close(self) -> None:
        self._rbuf, self._rpos = b"", 0
        super()._sock_close()

    def ack_all(self, mids: Sequence[int]) -> None:
        """All PUBACKs of a batch in one write, where ``ack`` costs a write and a wake-up each.

        A PUBACK without reason code means success (MQTT 5, 3.4.2.1), as paho sends it.
        """
        if mids:
            blob = b"".join([_PUBACK.pack(0x40, 2, mid) for mid in mids])
            self._packet_queue(0x40, blob, 0, 1)

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered():
            rc = super().loop_read(max_packets)
        return rc

    def _buffered(self) -> bool:
        return self._sock is not None and self._rpos < len(self._rbuf)
