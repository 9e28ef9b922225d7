"""GB/T 26875.3 addresses to registered device ids, from the registry's ``config.gb26875``
(store/gb26875_map.py), cached and read again every REFRESH_S, and sooner when a packet names
an address the cache does not know (a device registered a moment ago).

Until the first read has succeeded the mapping knows nothing, and the server answers no
packet: calling every device unknown would dead-letter a panel's fire alarm.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Collection
from typing import Any

import psycopg

from gateways.gb26875.translate import Address
from store.database import DatabaseUnavailable, connect_async
from store.gb26875_map import mapped_devices

log = logging.getLogger(__name__)

REFRESH_S = 30.0
MISS_REFRESH_S = 5.0  # an unknown address reads the registry again, at most this often
RETRY_S = 2.0  # after a failed read
_HEX12 = re.compile(r"[0-9a-fA-F]{12}")
SYSTEM_MAX = 255
COMPONENT_MAX = 2**32 - 1


class MappingUnavailable(Exception):
    """The registry has never been read: the server must not answer yet."""


def address_of(config: Any) -> Address | None:
    """``config.gb26875`` as an address, or None when it is not one (logged by the caller)."""
    if not isinstance(config, dict):
        return None
    transmitter = config.get("transmitter")
    system = config.get("system")
    component = config.get("component")
    if not isinstance(transmitter, str) or not _HEX12.fullmatch(transmitter):
        return None
    if system is not None and not _int_within(system, SYSTEM_MAX):
        return None
    if component is not None and (system is None or not _int_within(component, COMPONENT_MAX)):
        return None
    if set(config) - {"transmitter", "system", "component"}:
        return None
    return (transmitter.lower(), system, component)


def _int_within(value: Any, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= high


class Mapping:
    def __init__(self, database_url: str, *, site: str) -> None:
        self._url = database_url
        self._site = site
        self._devices: dict[Address, str] | None = None
        self._read_at = float("-inf")
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._warned: set[str] = set()

    def lookup(self, address: Address) -> str | None:
        if self._devices is None:
            raise MappingUnavailable("the registry has not been read yet")
        return self._devices.get(address)

    async def resolve(self, addresses: Collection[Address]) -> None:
        """Makes ``lookup`` ready for these addresses: reads the registry when it is due, or
        when one of them is unknown and the last read is MISS_REFRESH_S old."""
        now = time.monotonic()
        age, known = now - self._read_at, self._devices
        if now - self._failed_at < RETRY_S:
            pass  # the database was away a moment ago: what is known serves meanwhile
        elif (
            known is None
            or age >= REFRESH_S
            or (age >= MISS_REFRESH_S and any(a not in known for a in addresses))
        ):
            await self.refresh()
        if self._devices is None:
            raise MappingUnavailable("the registry cannot be read")

    async def refresh(self) -> None:
        async with self._lock:
            if time.monotonic() - self._read_at < 0.5:
                return  # another packet's refresh just did it
            try:
                if self._conn is None:
                    self._conn = await connect_async(self._url)
                rows = await mapped_devices(self._conn, site=self._site)
            except (psycopg.Error, OSError, DatabaseUnavailable) as exc:
                await self.close()
                self._failed_at = time.monotonic()
                log.warning("reading the GB/T 26875.3 device mapping failed: %s", exc)
                return
            self._devices = self._index(rows)
            self._read_at = time.monotonic()

    def _index(self, rows: list[tuple[str, Any]]) -> dict[Address, str]:
        devices: dict[Address, str] = {}
        for device_id, config in rows:
            address = address_of(config)
            if address is None:
                self._warn(device_id, f"device {device_id}: config.gb26875 is not an address")
            elif address in devices:
                self._warn(
                    device_id,
                    f"device {device_id}: config.gb26875 repeats {devices[address]}'s address; "
                    f"{devices[address]} keeps it",
                )
            else:
                devices[address] = device_id
        return devices

    def _warn(self, device_id: str, message: str) -> None:
        if device_id not in self._warned:
            self._warned.add(device_id)
            log.warning("%s", message)

    async def close(self) -> None:
        if self._conn is not None:
            conn, self._conn = self._conn, None
            await conn.close()
