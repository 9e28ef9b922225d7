"""Which ingest worker owns which devices, when several share a site's stream.

The engine keeps per-device state in memory (windows, baselines, open alerts) and judges each
device's samples in order; Mosquitto spreads a shared subscription round-robin, per message,
with no affinity. So each worker subscribes to the explicit topics of the devices it owns, and
owns whole buildings: ``crc32(building) % workers`` (the device id for a device without one),
stable across processes and restarts. A building's confirmed fires and mass-offline roll-ups
are judged where all of its devices are.

Cameras watch many buildings (in the quarter, 14 cameras cover 99 to 281 of its 320 buildings
each), so no partition of buildings keeps every camera with all it covers. A camera is owned
(stored, alerted) by its building's worker, and *observed* by every other worker that owns a
building it covers: those subscribe to its topics too and run it through their engine, for
the correlation of their own buildings, but store nothing of it and keep only decisions about
their own subjects. The engine is deterministic per device stream, so every copy of a camera's
state agrees. See docs/scaling.md for the measurements.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
import psycopg
from paho.mqtt.enums import CallbackAPIVersion

from alerts.engine import Engine
from contract.failover import Failover
from contract.logins import UNROUTED_SUFFIX, session_login
from ingest.mqtt_source import MqttSource
from ingest.pipeline import Inbound
from settings import MqttTarget, Settings
from store.devices import RegisteredDevice, load_registered

log = logging.getLogger(__name__)


def device_topics(site: str, device_id: str) -> str:
    """Everything a device may publish (its ACL is ``fw/v1/+/D/#``), malformed channels too,
    so those are dead-lettered by the device's owner."""
    return f"fw/v1/{site}/{device_id}/#"


def covers(device: RegisteredDevice) -> list[str]:
    listed = device.config.get("covers") if isinstance(device.config, dict) else None
    return [b for b in listed if isinstance(b, str)] if isinstance(listed, list) else []


def partition_of(key: str, workers: int) -> int:
    return zlib.crc32(key.encode()) % workers


def _home(device: RegisteredDevice) -> str:
    return f"b:{device.building}" if device.building else f"d:{device.id}"


@dataclass(frozen=True, slots=True)
class Assignment:
    """One worker's share of a site."""

    devices: frozenset[str]  # owned: stored, alerted here
    observed: frozenset[str]  # other workers' cameras covering a building owned here
    buildings: frozenset[str]  # building subjects (confirmed fire, communication fault)
    known: frozenset[str]  # every registered id at the site, whoever owns it
    judges_site: bool  # site-wide rules (alert floods) run on one worker only

    def topics(self, site: str) -> list[str]:
        return [device_topics(site, d) for d in sorted(self.devices | self.observed)]

    def owns_subject(self, subject: str) -> bool:
        """An alert subject (a device id, ``building:B`` or ``site:S``) this worker records."""
        kind, _, ident = subject.partition(":")
        if kind == "building" and ident:
            return ident in self.buildings
        if kind == "site" and ident:
            return self.judges_site
        return subject in self.devices

    def observes_only(self, device_id: str) -> bool:
        return device_id in self.observed


def assign(
    devices: Mapping[str, RegisteredDevice], *, site: str, workers: int, index: int
) -> Assignment:
    at_site = [d for d in devices.values() if d.site == site]
    mine = {d.id for d in at_site if partition_of(_home(d), workers) == index}
    named = {b for d in at_site for b in ([d.building] if d.building else []) + covers(d)}
    buildings = {b for b in named if partition_of(f"b:{b}", workers) == index}
    observed = {d.id for d in at_site if d.id not in mine and buildings.intersection(covers(d))}
    return Assignment(
        frozenset(mine),
        frozenset(observed),
        frozenset(buildings),
        frozenset(d.id for d in at_site),
        judges_site=index == 0,
    )


class UnroutedWatcher:
    """The site's whole stream at QoS 0, keeping only what no worker subscribes to (ids the
    registry does not know, topics too short to name one), so it is still dead-lettered. Run by
    one designated worker. QoS 0: nothing to acknowledge, no queue for it at the broker when it
    is away; an unregistered device's rejection is a diagnostic, not data."""

    def __init__(
        self,
        target: MqttTarget,
        *,
        client_id: str,
        site: str,
        deliver: Callable[[Inbound], None],
        known: frozenset[str],
    ) -> None:
        self.subscription = f"fw/v1/{site}/#"
        self.known = known
        self._deliver = deliver
        self._failover = Failover(target.addresses, name=client_id)
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True
        )
        if target.username:
            self._client.username_pw_set(session_login(target.username, client_id), target.password)
        self._client.reconnect_delay_set(min_delay=1, max_delay=10)
        self._client.on_connect = lambda client, *_: client.subscribe(self.subscription, qos=0)
        self._client.on_message = self._on_message
        self._client.on_disconnect = self._on_disconnect
        self._client.on_connect_fail = lambda client, _userdata: self._failover.lost(
            client, "cannot reconnect"
        )

    def _on_disconnect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            self._failover.lost(client, str(reason))

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        levels = msg._topic.split(b"/", 4)
        if len(levels) >= 4 and levels[3].decode("utf-8", "replace") in self.known:
            return  # its owner subscribes to it explicitly
        try:
            topic = msg.topic
        except UnicodeDecodeError:
            topic = bytes(msg._topic).decode("utf-8", "replace")
        self._deliver(Inbound(topic, bytes(msg.payload), datetime.now(UTC), None))

    def start(self) -> None:
        self._failover.connect(lambda host, port: self._client.connect(host, port, keepalive=30))
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()


class WorkerPartition:
    """A worker's side of it: subscribes to its devices' topics and follows the registry;
    worker 0 also watches the unrouted stream and judges site-wide rules."""

    def __init__(self, settings: Settings, source: MqttSource) -> None:
        self.site = settings.site
        self.workers = settings.ingest_workers
        self.index = settings.ingest_worker_index
        self.source = source
        nothing: frozenset[str] = frozenset()
        self.assignment = Assignment(nothing, nothing, nothing, nothing, self.index == 0)
        self._idle = False  # owns nothing to subscribe to (said once, when it starts idling)
        self.watcher = (
            UnroutedWatcher(
                settings.mqtt,
                client_id=settings.ingest_client_id + UNROUTED_SUFFIX,
                site=settings.site,
                deliver=source.put,
                known=frozenset(),
            )
            if self.index == 0
            else None
        )
        source.subscription = (
            f"{device_topics(self.site, '<id>')} for the devices of "
            f"partition {self.index} of {self.workers}"
        )

    def refresh(self, conn: psycopg.Connection[Any]) -> frozenset[str]:
        """Re-reads the registry and follows it; returns the devices this worker let go."""
        before = self.assignment
        now = self.assignment = assign(
            load_registered(conn), site=self.site, workers=self.workers, index=self.index
        )
        added, removed = self.source.set_filters(self.assignment.topics(self.site))
        if self.watcher is not None:
            self.watcher.known = self.assignment.known
        if added or removed:
            log.info(
                "partition %d/%d: %d devices in %d buildings, %d observed (+%d, -%d topics)",
                self.index,
                self.workers,
                len(self.assignment.devices),
                len(self.assignment.buildings),
                len(self.assignment.observed),
                added,
                removed,
            )
        idle = not (now.devices or now.observed)
        if idle and not self._idle:  # a new deployment, or a site with few buildings
            log.info(
                "partition %d/%d owns no device; it idles and follows the registry",
                self.index,
                self.workers,
            )
        self._idle = idle
        return (before.devices | before.observed) - (now.devices | now.observed)

    def records(self, subject: str) -> bool:
        """Whether this worker records alerts about the subject: only its own."""
        return self.assignment.owns_subject(subject)

    def follow(self, conn: psycopg.Connection[Any], engine: Engine) -> None:
        """Follows the registry. A device this worker gave up (its building moved to another
        worker) is kept configured but decommissioned in its engine, so this engine never calls
        it offline; its new owner judges it."""
        gone = self.refresh(conn)
        engine.configure(
            [replace(d, status="decommissioned") for i, d in engine.devices.items() if i in gone]
        )
        engine.commit()

    def start(self) -> None:
        if self.watcher is not None:
            self.watcher.start()

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
