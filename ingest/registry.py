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
from store.devices import RegisteredDevice, changed_devices, iter_registered, listen_devices

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
        # Only the engine's view of each device: a city's 100,000 registry rows would cost
        # as much again.
        self._devices: dict[str, DeviceInfo] = {}
        self._unknown: dict[str, float] = {}
        self._refused: dict[str, dict[str, Any]] = {}  # device -> the bad config warned of
        self._loaded_at = float("-inf")
        self._polled_at = float("-inf")

    def resolve(self, ids: Iterable[str]) -> dict[str, DeviceInfo]:
        """Raises psycopg.OperationalError (or DatabaseUnavailable) when the database is away."""
        with self._lock:
            try:
                return self._resolve(set(ids))
            except psycopg.Error:
                self.close()
                raise

    def everything(self) -> dict[str, DeviceInfo]:
        """Every registered device, for the engine's warm-up."""
        with self._lock:
            try:
                self._resolve(set())
            except psycopg.Error:
                self.close()
                raise
            return dict(self._devices)

    def _resolve(self, wanted: set[str]) -> dict[str, DeviceInfo]:
        now = self._clock()
        if self._conn is None or self._conn.closed:
            self._conn = connect(self._url, autocommit=True)
            # Listening before the full reload: a change committed in between is notified.
            listen_devices(self._conn)
            self._loaded_at = float("-inf")
        if now - self._loaded_at >= RELOAD_S:
            changed_devices(self._conn)  # the full reload covers whatever they name
            self._devices = self._load(self._conn, None)
            self._unknown.clear()
            self._loaded_at = self._polled_at = now
        elif now - self._polled_at >= POLL_S:
            changed = self._load(self._conn, changed_devices(self._conn))
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
            found = self._load(self._conn, missing)
            self._devices.update(found)
            if len(self._unknown) > _UNKNOWN_MAX:
                self._unknown.clear()
            for device_id in missing:
                if device_id not in found:
                    self._unknown[device_id] = now
        return {i: self._devices[i] for i in wanted if i in self._devices}

    def _load(
        self, conn: psycopg.Connection[Any], ids: Iterable[str] | None
    ) -> dict[str, DeviceInfo]:
        """An unchanged device keeps its instance, so the engine is not reconfigured for it."""
        loaded: dict[str, DeviceInfo] = {}
        for device in iter_registered(conn, ids):
            info = self._engine_view(device)
            kept = self._devices.get(device.id)
            loaded[info.id] = kept if kept == info else info
        return loaded

    def _engine_view(self, device: RegisteredDevice) -> DeviceInfo:
        """A config the registry should have refused falls back to the kind's defaults, with a
        warning once per config rather than at every reload."""
        args: dict[str, Any] = {
            "device_id": device.id,
            "kind": device.kind,
            "site": device.site,
            "building": device.building,
            "status": device.status,
            "heartbeat_s": device.heartbeat_s,
            "floor": device.floor,
            "room": device.room,
        }
        try:
            info = device_info(**args, config=device.config)
        except ConfigError as exc:
            if self._refused.get(device.id) != device.config:
                log.warning(
                    "device %s: %s; using the %s defaults until it is fixed",
                    device.id,
                    exc,
                    device.kind,
                )
                self._refused[device.id] = device.config
            return device_info(**args)
        self._refused.pop(device.id, None)
        return info

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
