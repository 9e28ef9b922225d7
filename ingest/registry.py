"""Ingest's view of the registry: a local copy, so a batch costs no registry round trip.

The copy is reloaded periodically; an id it does not know is looked up once, then
remembered as unknown for a few seconds so a flood from a rogue id cannot hammer the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from store.devices import RegisteredDevice, load_registered

RELOAD_S = 30.0
UNKNOWN_TTL_S = 5.0
_UNKNOWN_MAX = 100_000


class RegistryCache:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._devices: dict[str, RegisteredDevice] = {}
        self._unknown: dict[str, float] = {}
        self._loaded_at = float("-inf")

    def resolve(
        self, conn: psycopg.Connection[Any], ids: Iterable[str]
    ) -> dict[str, RegisteredDevice]:
        now = self._clock()
        if now - self._loaded_at >= RELOAD_S:
            self._devices = load_registered(conn)
            self._unknown.clear()
            self._loaded_at = now
        wanted = set(ids)
        missing = [
            i for i in wanted
            if i not in self._devices and now - self._unknown.get(i, float("-inf")) >= UNKNOWN_TTL_S
        ]  # fmt: skip
        if missing:
            found = load_registered(conn, missing)
            self._devices.update(found)
            if len(self._unknown) > _UNKNOWN_MAX:
                self._unknown.clear()
            for device_id in missing:
                if device_id not in found:
                    self._unknown[device_id] = now
        return {i: self._devices[i] for i in wanted if i in self._devices}
