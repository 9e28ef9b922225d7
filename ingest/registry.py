"""Ingest's view of the registry: a local copy, so a batch costs no registry round trip.

It listens on the registry's channel (a trigger notifies every changed device at its commit,
however long its transaction ran), and every two seconds (when messages arrive) it reloads the
devices notified, so a status or config change reaches the engine within about 2 s; a full
reload every five minutes, and after every reconnect, is the safety net. An id it does not
know is looked up once, then remembered as unknown for a few seconds so a flood from a rogue id
cannot hammer the database.
It has a connection of its own, because batches are prepared while the previous one commits.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import psycopg

from alerts.config import ConfigError
from alerts.devices import DeviceInfo, device_info
from store.database import connect
from store.devices import RegisteredDevice, changed_devices, listen_devices, load_registered

log = logging.getLogger(__name__)

RELOAD_S = 300.0
POLL_S = 2.0
UNKNOWN_TTL_S = 5.0
_UNKNOWN_MAX = 100_000


class RegistryCache:
    def __init__(self, database_url: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._url = database_url
        self._clock = clock
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._devices: dict[str, RegisteredDevice] = {}
        self._unknown: dict[str, float] = {}
        self._loaded_at = float("-inf")
        self._polled_at = float("-inf")
        self._infos: dict[str, tuple[RegisteredDevice, DeviceInfo]] = {}

    def resolve(self, ids: Iterable[str]) -> dict[str, RegisteredDevice]:
        """Raises psycopg.OperationalError (or DatabaseUnavailable) when the database is away."""
        with self._lock:
            try:
                return self._resolve(set(ids))
            except psycopg.Error:
                self.close()
                raise

    def _resolve(self, wanted: set[str]) -> dict[str, RegisteredDevice]:
        now = self._clock()
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, autocommit=True)
            # Listening before the full reload: a change committed in between is notified.
            listen_devices(self._conn)
            self._loaded_at = float("-inf")
        if now - self._loaded_at >= RELOAD_S:
            changed_devices(self._conn)  # the full reload covers whatever they name
            self._devices = load_registered(self._conn)
            self._unknown.clear()
            self._loaded_at = self._polled_at = now
        elif now - self._polled_at >= POLL_S:
            changed = load_registered(self._conn, changed_devices(self._conn))
            self._devices.update(changed)
            for device_id in changed:
                self._unknown.pop(device_id, None)
            self._polled_at = now
        missing = [
            i
            for i in wanted
            if i not in self._devices and now - self._unknown.get(i, float("-inf")) >= UNKNOWN_TTL_S
        ]
        if missing:
            found = load_registered(self._conn, missing)
            self._devices.update(found)
            if len(self._unknown) > _UNKNOWN_MAX:
                self._unknown.clear()
            for device_id in missing:
                if device_id not in found:
                    self._unknown[device_id] = now
        return {i: self._devices[i] for i in wanted if i in self._devices}

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def info(self, device: RegisteredDevice) -> DeviceInfo:
        """The engine's view of a device, rebuilt only when its registry row changed. A config
        the registry should have refused falls back to the kind's defaults, loudly."""
        cached = self._infos.get(device.id)
        if cached is not None and cached[0] == device:
            return cached[1]
        args: dict[str, Any] = {
            "device_id": device.id,
            "kind": device.kind,
            "site": device.site,
            "building": device.building,
            "status": device.status,
            "heartbeat_s": device.heartbeat_s,
        }
        try:
            info = device_info(**args, config=device.config)
        except ConfigError as exc:
            log.warning(
                "device %s: %s; using the %s defaults until it is fixed",
                device.id,
                exc,
                device.kind,
            )
            info = device_info(**args)
        self._infos[device.id] = (device, info)
        return info
