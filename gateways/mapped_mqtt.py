"""Mapped MQTT: devices that publish their own JSON on their own topics (a Zigbee2MQTT smoke
sensor on ``zigbee2mqtt/<name>``, a Tasmota plug on ``tele/<topic>/SENSOR``).

Ingest holds one more MQTT session (QoS 1, persistent, its own login ``svc.ingest/<client
id>-mapped``) subscribed to the topics of the registry's device models (contract/mapping.py).
Each message is translated here, in ingest's preparer thread, into contract messages (a
reading, a status, an event per value the model maps to one), which the committing loop
validates, stores and judges like any device's. The original message is acknowledged to the
broker only once the batch holding its translations has committed: every translation of a
message travels in one batch and carries the original's acknowledgement.

``seq`` and ``ts`` come from the message's own time when its model names one (a Tasmota
``Time``): a redelivery makes the same contract messages, and the store keeps them once.
A model without a time (Zigbee2MQTT's state messages carry none) stands in the arrival time,
to the millisecond: a redelivery after a crash between commit and acknowledgement (the only
way a committed message comes again) is then stored a second time.

What does not translate is dead-lettered as it came, on ``gw/mqtt/{site}/{topic}``: JSON that
is not JSON (``malformed``), a message that does not fit its model (``schema``), a payload
beyond FIREWATCH_MAX_PAYLOAD_BYTES (``oversize``), a topic no model has (``bad_topic``), and a
name no device of the site has (``unknown_device``, listed as pending under ``mqtt-<name>``).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from contract.logins import MAPPED_SUFFIX
from contract.mapping import DeviceModel, MappingError, ModelError, extract, parse_model
from contract.messages import Reason
from gateways import messages
from ingest.mqtt_source import MqttSource
from ingest.pipeline import Inbound
from settings import Settings
from store.database import DatabaseUnavailable, connect
from store.device_models import MappedDevice, ModelRow, models_and_devices

log = logging.getLogger(__name__)

GATEWAY = "mqtt"
SUBSCRIPTION = "the device models' topics"
# Every translation of one message has its own seq: a hash of the message's bytes times SLOTS
# plus its slot (0 the reading, 1 the status, 2.. its events). The same message always makes
# the same ones (a redelivery is a duplicate); two different messages of one device at the
# same time (a backlog arriving in one millisecond, a rule's alarm in the second of a periodic
# report) never collide, so neither is taken for the other's duplicate.
SLOTS = 32
_SEQ_SPAN = (2**63 - 1) // SLOTS
READING_SLOT, STATUS_SLOT, FIRST_EVENT_SLOT = 0, 1, 2
# A message makes a few contract messages; the batch asked for is counted in messages.
ITEMS_PER_MESSAGE = 4
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")


@dataclass(frozen=True, slots=True)
class Mapped:
    device_id: str
    kind: str
    model: DeviceModel


@dataclass(slots=True)
class MappedCounters:
    """Written by the preparer thread (translation) and the committer's (acknowledgement),
    each its own fields; read by Prometheus."""

    received: int = 0
    mapped: int = 0  # messages that became contract messages
    contract_messages: int = 0
    refused: Counter[Reason] = field(default_factory=Counter)
    committed: int = 0  # messages acknowledged to the broker after their batch committed
    refresh_failures: int = 0
    models: int = 0
    devices: int = 0


def pending_id(name: str, topic: str) -> str:
    """The id an unknown device is listed as pending under: readable, and unique per topic."""
    digest = hashlib.sha256(topic.encode("utf-8", "surrogatepass")).hexdigest()[:8]
    return f"mqtt-{_UNSAFE.sub('_', name)[:48]}-{digest}"


class DeviceMap:
    """One snapshot of the models and the site's devices that name one, indexed by the
    topic each device publishes on."""

    def __init__(self, models: Sequence[ModelRow], devices: Sequence[MappedDevice]) -> None:
        self.models: dict[str, DeviceModel] = {}
        for row in models:
            try:
                model = parse_model(
                    {"name": row.name, "kind": row.kind, "topic": row.topic, **row.mapping}
                )
            except (ModelError, TypeError) as exc:
                log.error("device model %r cannot be used: %s", row.name, exc)
                continue
            self.models[model.name] = model
        self.filters = sorted({m.topic.subscription for m in self.models.values()})
        self._by_topic: dict[str, list[Mapped]] = {}
        for device in devices:
            link = device.mqtt if isinstance(device.mqtt, dict) else {}
            named = self.models.get(str(link.get("model")))
            if named is None:
                log.warning("device %s names no known model in config.mqtt", device.id)
                continue
            name = link.get("topic") or device.id
            self._by_topic.setdefault(named.topic.topic_of(str(name)), []).append(
                Mapped(device.id, device.kind, named)
            )
        self.devices = sum(len(found) for found in self._by_topic.values())

    def find(self, topic: str) -> list[Mapped]:
        return self._by_topic.get(topic, [])

    def names_in(self, topic: str) -> list[tuple[DeviceModel, str]]:
        """The models whose topic this is, with what ``{device}`` stands for in it."""
        found = []
        for model in self.models.values():
            name = model.topic.name_in(topic)
            if name is not None:
                found.append((model, name))
        return found


@dataclass(slots=True)
class Translated:
    items: list[Inbound]
    refused: Reason | None  # None: translated


def _ms(ts: datetime) -> int:
    return (ts - _EPOCH) // _MS


def _refuse(
    item: Inbound, *, site: str, reason: Reason, detail: str, device_id: str | None = None
) -> Translated:
    refusal = messages.refusal(
        GATEWAY,
        site,
        peer=item.topic,
        reason=reason,
        detail=detail,
        raw=item.payload,
        received_at=item.received_at,
        device_id=device_id,
    )
    return Translated([refusal], reason)


def _device(item: Inbound, devices: DeviceMap, *, site: str) -> Mapped | Translated:
    """The device that publishes on the message's topic, or the message's refusal."""
    found = devices.find(item.topic)
    if len(found) == 1:
        device = found[0]
        if device.kind == device.model.kind.value:
            return device
        return _refuse(
            item,
            site=site,
            reason=Reason.KIND_MISMATCH,
            detail=f"device {device.device_id} is a {device.kind} device; its model "
            f"{device.model.name} maps {device.model.kind.value} devices",
            device_id=device.device_id,
        )
    if found:
        ids = ", ".join(sorted(m.device_id for m in found))
        return _refuse(
            item,
            site=site,
            reason=Reason.SCHEMA,
            detail=f"devices {ids} all publish on {item.topic[:200]!r}; give each its own",
        )
    candidates = devices.names_in(item.topic)
    if not candidates:
        return _refuse(
            item,
            site=site,
            reason=Reason.BAD_TOPIC,
            detail=f"no device model has the topic {item.topic[:200]!r}",
        )
    model, name = candidates[0]
    models = ", ".join(sorted(m.name for m, _ in candidates))
    return _refuse(
        item,
        site=site,
        reason=Reason.UNKNOWN_DEVICE,
        detail=f"no device at site {site} has config.mqtt.topic {name[:128]!r} with model "
        f"{models}; register it with POST /api/v1/devices, config.mqtt = "
        f'{{"model": "{model.name}", "topic": "{name[:128]}"}}',
        device_id=pending_id(name, item.topic),
    )


def translate(item: Inbound, devices: DeviceMap, *, site: str, max_bytes: int) -> Translated:
    """One broker message as contract messages, or as its refusal; never raises."""
    device = _device(item, devices, site=site)
    if isinstance(device, Translated):
        return device
    problem: tuple[Reason, str] | None = None
    if len(item.payload) > max_bytes:
        problem = (Reason.OVERSIZE, f"payload of {len(item.payload)} bytes exceeds {max_bytes}")
    else:
        try:
            document = orjson.loads(item.payload)
        except orjson.JSONDecodeError as exc:
            problem = (Reason.MALFORMED, f"not JSON: {exc}")
        else:
            try:
                return Translated(_contract_messages(item, device, document, site=site), None)
            except MappingError as exc:
                problem = (exc.reason, f"model {device.model.name}: {exc.detail}")
    reason, detail = problem
    return _refuse(item, site=site, reason=reason, detail=detail, device_id=device.device_id)


def _contract_messages(
    item: Inbound, device: Mapped, document: object, *, site: str
) -> list[Inbound]:
    said = extract(device.model, document)
    ts = _EPOCH + _ms(said.ts if said.ts is not None else item.received_at) * _MS
    digest = hashlib.blake2b(item.payload, digest_size=8).digest()
    base = int.from_bytes(digest, "big") % _SEQ_SPAN
    at = item.received_at
    out: list[Inbound] = []
    if said.readings:
        out.append(
            messages.reading(
                site,
                device.device_id,
                ts=ts,
                seq=base * SLOTS + READING_SLOT,
                values=said.readings,
                received_at=at,
            )
        )
    for index, (event_type, path, value) in enumerate(said.events):
        out.append(
            messages.event(
                site,
                device.device_id,
                ts=ts,
                seq=base * SLOTS + FIRST_EVENT_SLOT + index,
                event_type=event_type,
                detail={"model": device.model.name, "path": path, "value": value},
                received_at=at,
            )
        )
    if said.status or not out:  # a message that said nothing mapped still says "I am here"
        out.append(
            messages.status(
                site,
                device.device_id,
                ts=ts,
                seq=base * SLOTS + STATUS_SLOT,
                values=said.status,
                received_at=at,
            )
        )
    for made in out:
        made.token = item
    return out


class MappedMqttSource:
    """A source for ingest's committing loop (ingest/sources.py) over its own MQTT session.

    Follows the registry: every ``refresh_s`` it reads the models and the site's devices,
    and subscribes to new models' topics (unsubscribing from removed ones). Until the first
    read has succeeded it hands over nothing: what arrives waits, unacknowledged."""

    def __init__(self, settings: Settings, *, session: MqttSource | None = None) -> None:
        self._settings = settings
        self._site = settings.site
        self._max_bytes = settings.max_payload_bytes
        self._refresh_s = settings.mapped_mqtt_refresh_s
        self.session = session or MqttSource(
            settings.mqtt,
            client_id=settings.ingest_client_id + MAPPED_SUFFIX,
            subscription=SUBSCRIPTION,
            session_expiry_s=settings.ingest_session_expiry_s,
            receive_maximum=settings.ingest_batch_max,
            mqtt5=settings.ingest_mqtt5,
        )
        self.session.set_filters([])
        self.devices: DeviceMap | None = None
        self.counters = MappedCounters()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # The refresher's connection (used by start's first read, then by its thread only).
        self._conn: psycopg.Connection[Any] | None = None
        self._snapshot: tuple[list[ModelRow], list[MappedDevice]] | None = None

    def refresh(self) -> None:
        """Reads the registry, then follows its models' topics; raises psycopg errors and
        DatabaseUnavailable (the connection is then dropped, and the next refresh opens
        another)."""
        try:
            if self._conn is None:
                self._conn = connect(self._settings.database_url, autocommit=True)
            snapshot = models_and_devices(self._conn, site=self._site)
        except (psycopg.Error, DatabaseUnavailable, OSError):
            self._drop_connection()
            raise
        if snapshot == self._snapshot:
            return  # nothing changed: no new map, no repeated warnings
        fresh = DeviceMap(*snapshot)
        # The new map before the new topics: what a new subscription brings at once (a retained
        # message) must meet the map that knows its device. The snapshot last, so a failure
        # here is tried again at the next refresh.
        self.devices = fresh
        added, removed = self.session.set_filters(fresh.filters)
        self._snapshot = snapshot
        if added or removed:
            log.info(
                "mapped MQTT follows %d model topics (+%d -%d), %d devices",
                len(fresh.filters),
                added,
                removed,
                fresh.devices,
            )
        self.counters.models, self.counters.devices = len(fresh.models), fresh.devices

    def _try_refresh(self) -> None:
        try:
            self.refresh()
        except (psycopg.Error, DatabaseUnavailable, OSError) as exc:
            self.counters.refresh_failures += 1
            log.warning("mapped MQTT could not read the device models: %s; tried again", exc)

    def start(self, *, wait_s: float = 10.0) -> None:
        """Connects and subscribes, or raises ConnectionError saying what to do."""
        self._try_refresh()
        self.session.start(wait_s=wait_s)
        self._thread = threading.Thread(
            target=self._follow, name="mapped-mqtt-refresh", daemon=True
        )
        self._thread.start()

    def _follow(self) -> None:
        while not self._stop.wait(self._refresh_s):
            try:
                self._try_refresh()
            except Exception:  # a bug must not stop the following: the old map stays in use
                self.counters.refresh_failures += 1
                log.exception("mapped MQTT could not follow the device models; tried again")

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.session.stop()
        self._drop_connection()

    @property
    def connected(self) -> bool:
        return self.session.connected

    def next_batch(
        self, *, max_size: int, max_bytes: int, wait_s: float, idle_s: float
    ) -> list[Inbound]:
        devices = self.devices
        if devices is None:
            return []
        raw = self.session.next_batch(
            max_size=max(1, max_size // ITEMS_PER_MESSAGE),
            max_bytes=max_bytes,
            wait_s=wait_s,
            idle_s=idle_s,
        )
        out: list[Inbound] = []
        c = self.counters
        for item in raw:
            translated = translate(item, devices, site=self._site, max_bytes=self._max_bytes)
            c.received += 1
            if translated.refused is None:
                c.mapped += 1
                c.contract_messages += len(translated.items)
            else:
                c.refused[translated.refused] += 1
                translated.items[0].token = item
            out.extend(translated.items)
        return out

    def ack(self, batch: Sequence[Inbound]) -> int:
        """Acknowledges each original message once, in arrival order."""
        originals: dict[int, Inbound] = {}
        for item in batch:
            original = item.token
            if isinstance(original, Inbound):
                originals.setdefault(id(original), original)
        self.counters.committed += len(originals)
        return self.session.ack(list(originals.values()))


class MappedCollector(Collector):
    def __init__(self, counters: MappedCounters) -> None:
        self._c = counters

    def collect(self) -> Iterator[Metric]:
        c = self._c
        for name, doc, value in (
            ("received", "Messages on the device models' topics taken from the broker", c.received),
            ("mapped", "Messages translated into contract messages", c.mapped),
            ("contract_messages", "Contract messages made from them", c.contract_messages),
            ("committed", "Messages acknowledged to the broker after their commit", c.committed),
            ("refresh_failures", "Reads of the device models that failed", c.refresh_failures),
        ):
            yield CounterMetricFamily(f"firewatch_gateway_mqtt_{name}", doc, value=value)
        refused = CounterMetricFamily(
            "firewatch_gateway_mqtt_refused",
            "Messages dead-lettered before they were contract messages, by reason",
            labels=["reason"],
        )
        for reason, count in sorted(c.refused.items()):
            refused.add_metric([reason.value], count)
        yield refused
        yield GaugeMetricFamily(
            "firewatch_gateway_mqtt_models", "Device models followed", value=c.models
        )
        yield GaugeMetricFamily(
            "firewatch_gateway_mqtt_devices",
            "The site's devices mapped by a model",
            value=c.devices,
        )


def started(settings: Settings) -> list[MappedMqttSource]:
    """Ingest's mapped MQTT source, connected, when FIREWATCH_MAPPED_MQTT is set; else none.
    Raises ConnectionError (an unreachable broker) like ingest's own sessions."""
    if not settings.mapped_mqtt:
        return []
    source = MappedMqttSource(settings)
    source.start()
    return [source]


def collectors(sources: Sequence[object]) -> list[Collector]:
    """The metrics of those of ``sources`` that are mapped MQTT sources."""
    return [MappedCollector(s.counters) for s in sources if isinstance(s, MappedMqttSource)]
