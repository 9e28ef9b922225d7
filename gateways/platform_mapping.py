"""Which registered device a platform's id belongs to, read from the devices' configs and kept
for a few seconds, so a push costs no query and a technician's change is seen soon after.

``config.onenet`` and ``config.ctwing`` are registry/gateway_config.py's PlatformMapping:
``{"dev_id": "<the platform's device id>", "streams": {"<stream or field>": "<metric or
event>"}}`` (gateways/push_targets.py). The registry checks their shape at registration; a
name that is neither a metric nor an event is logged once here and the device left out: it
then reports as unknown, dead-lettered and listed as pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from gateways.push_targets import MappingError, PlatformDevice, parse_targets
from store import platform_map

log = logging.getLogger(__name__)

REFRESH_S = 5.0
READ_TIMEOUT_S = 5.0


class Unavailable(Exception):
    """No mapping could be read yet: the push should be sent again later."""


@dataclass(frozen=True, slots=True)
class Maps:
    onenet: Mapping[str, PlatformDevice] = field(default_factory=dict)  # by dev_id (digits)
    ctwing: Mapping[str, PlatformDevice] = field(default_factory=dict)  # by CTWing deviceId


def onenet_device(device_id: str, config: Any) -> tuple[str, PlatformDevice]:
    """OneNET's dev_id is a number: "007" and 7 are one device."""
    key, device = ctwing_device(device_id, config, what="config.onenet")
    if not key.isascii() or not key.isdigit():
        raise MappingError("config.onenet.dev_id must be OneNET's device id (digits)")
    return str(int(key)), device


def ctwing_device(
    device_id: str, config: Any, *, what: str = "config.ctwing"
) -> tuple[str, PlatformDevice]:
    if not isinstance(config, dict):
        raise MappingError(f"{what} must be an object")
    key = config.get("dev_id")
    if isinstance(key, int) and not isinstance(key, bool):
        key = str(key)
    if not isinstance(key, str) or not 0 < len(key) <= 64:
        raise MappingError(f"{what}.dev_id must be the platform's device id")
    targets = parse_targets(config.get("streams"), what=f"{what}.streams")
    return key, PlatformDevice(device_id, targets)


_PARSERS = {"onenet": onenet_device, "ctwing": ctwing_device}


class PlatformMaps:
    """The site's mappings, read again once they are older than ``refresh_s``."""

    def __init__(self, *, refresh_s: float = REFRESH_S) -> None:
        self._refresh_s = refresh_s
        self._maps = Maps()
        self._read_at = -float("inf")
        self._lock = asyncio.Lock()
        self._told: set[tuple[str, str]] = set()

    async def current(self, pool: AsyncConnectionPool[Any], *, site: str) -> Maps:
        """Raises :class:`Unavailable` when the registry cannot be read and was never read;
        once read, a failed refresh keeps the last mapping (and tries again next time)."""
        if time.monotonic() - self._read_at < self._refresh_s:
            return self._maps
        async with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_s:
                try:
                    async with pool.connection(timeout=READ_TIMEOUT_S) as conn:
                        onenet = await platform_map.configs(conn, site=site, platform="onenet")
                        ctwing = await platform_map.configs(conn, site=site, platform="ctwing")
                except (psycopg.Error, OSError, PoolTimeout) as exc:
                    log.warning("reading the platform mappings failed: %s", exc)
                    if self._read_at == -float("inf"):
                        raise Unavailable(f"the registry cannot be read: {exc}") from None
                    return self._maps
                self._maps = Maps(self._mapped("onenet", onenet), self._mapped("ctwing", ctwing))
                self._read_at = time.monotonic()
        return self._maps

    def _mapped(self, platform: str, rows: list[tuple[str, Any]]) -> dict[str, PlatformDevice]:
        parse = _PARSERS[platform]
        mapped: dict[str, PlatformDevice] = {}
        for device_id, config in rows:
            try:
                key, device = parse(device_id, config)
                if key in mapped:
                    raise MappingError(f"{platform} id {key} is already {mapped[key].device_id}'s")
            except MappingError as exc:
                self._tell(device_id, str(exc))
                continue
            mapped[key] = device
        return mapped

    def _tell(self, device_id: str, problem: str) -> None:
        if (device_id, problem) not in self._told:
            self._told.add((device_id, problem))
            log.warning("device %s: %s; it reports as unknown until fixed", device_id, problem)
