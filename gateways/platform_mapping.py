"""Which registered device a platform's id belongs to, read from the devices' configs and kept
for a few seconds, so a push costs no query and a technician's change is seen at once enough.

- ``config.onenet = {"dev_id": 12345, "streams": {"<ds_id>": <target>}}``
- ``config.ctwing = {"device_id": "<CTWing deviceId>", "fields": {"<field>": <target>}}``

Targets are gateways/push_targets.py's. A config that cannot be used is logged once and left
out: its device then reports as unknown, dead-lettered and listed as pending.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from psycopg_pool import AsyncConnectionPool

from gateways.push_targets import MappingError, PlatformDevice, parse_targets
from store import platform_map

log = logging.getLogger(__name__)

REFRESH_S = 5.0


@dataclass(frozen=True, slots=True)
class Maps:
    onenet: Mapping[str, PlatformDevice] = field(default_factory=dict)  # by dev_id (digits)
    ctwing: Mapping[str, PlatformDevice] = field(default_factory=dict)  # by CTWing deviceId


def onenet_device(device_id: str, config: Any) -> tuple[str, PlatformDevice]:
    if not isinstance(config, dict):
        raise MappingError("config.onenet must be an object")
    dev_id = config.get("dev_id")
    if isinstance(dev_id, int) and not isinstance(dev_id, bool) and dev_id >= 0:
        key = str(dev_id)
    elif isinstance(dev_id, str) and dev_id.isascii() and dev_id.isdigit():
        key = str(int(dev_id))
    else:
        raise MappingError("config.onenet.dev_id must be OneNET's device id (digits)")
    targets = parse_targets(config.get("streams"), what="config.onenet.streams")
    return key, PlatformDevice(device_id, targets)


def ctwing_device(device_id: str, config: Any) -> tuple[str, PlatformDevice]:
    if not isinstance(config, dict):
        raise MappingError("config.ctwing must be an object")
    key = config.get("device_id")
    if not isinstance(key, str) or not 0 < len(key) <= 64:
        raise MappingError("config.ctwing.device_id must be CTWing's deviceId")
    targets = parse_targets(config.get("fields"), what="config.ctwing.fields")
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
        if time.monotonic() - self._read_at < self._refresh_s:
            return self._maps
        async with self._lock:
            if time.monotonic() - self._read_at >= self._refresh_s:
                async with pool.connection() as conn:
                    onenet = await platform_map.configs(conn, site=site, platform="onenet")
                    ctwing = await platform_map.configs(conn, site=site, platform="ctwing")
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
