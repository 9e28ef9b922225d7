"""Mapped MQTT end to end: a real broker, a real PostgreSQL and a real ingest with its mapped
session. Devices' own JSON is built here from the vendors' documented shapes."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import orjson
import psycopg
import pytest
from psycopg.types.json import Jsonb

from contract.kinds import KIND_SPECS, Kind
from contract.messages import Reason
from firewatch.testing import wait_until
from gateways.mapped_mqtt import MappedMqttSource, pending_id
from ingest.parts import IngestParts
from ingest.pipeline import Inbound
from ingest.service import IngestService
from settings import Settings
from simulators.mapped_mqtt import TasmotaPlug, Zigbee2MqttSmoke
from simulators.publisher import Publisher
from tests.ingest.helpers import scalar

BEIJING = ZoneInfo("Asia/Shanghai")


class Crash(Exception):
    """Stands for a process that dies at a point of the committing path."""


@pytest.fixture()
def mapped_settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"mapped_mqtt": True, "mapped_mqtt_refresh_s": 0.2})


@pytest.fixture()
def models(db: psycopg.Connection[Any], site: str) -> dict[str, str]:
    """The two worked examples (docs/gateways.md), each on topics of this test's own."""
    z2m, tasmota = f"{site}-z2m-smoke", f"{site}-tasmota"
    add_model(
        db,
        z2m,
        kind="smoke",
        topic=f"z2m-{site}/{{device}}",
        mapping={
            "metrics": [{"path": "battery", "metric": "battery_pct"}],
            "events": [
                {"path": "smoke", "equals": True, "event": "alarm"},
                {"path": "smoke", "equals": False, "event": "alarm_cleared"},
                {"path": "tamper", "equals": True, "event": "tamper"},
            ],
        },
    )
    add_model(
        db,
        tasmota,
        kind="electrical",
        topic=f"tele-{site}/{{device}}/SENSOR",
        mapping={
            "time": {"path": "Time", "zone": "Asia/Shanghai"},
            "metrics": [
                {"path": "ENERGY.Voltage", "metric": "voltage_v"},
                {"path": "ENERGY.Current", "metric": "current_a"},
                {
                    "path": "DS18B20.Temperature",
                    "metric": "cable_temp_c",
                    "scale": 5 / 9,
                    "offset": -160 / 9,
                    "optional": True,
                },
            ],
        },
    )
    return {"z2m": z2m, "tasmota": tasmota}


def add_model(
    db: psycopg.Connection[Any], name: str, *, kind: str, topic: str, mapping: dict[str, Any]
) -> None:
    db.execute(
        "INSERT INTO device_models (name, kind, topic, mapping) VALUES (%s, %s, %s, %s)",
        (name, kind, topic, Jsonb({"time": None, "events": [], **mapping})),
    )


def add_device(
    db: psycopg.Connection[Any], site: str, device_id: str, kind: Kind, mqtt: dict[str, Any]
) -> str:
    db.execute(
        "INSERT INTO devices (id, kind, site, heartbeat_s, building, config)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        (device_id, kind.value, site, KIND_SPECS[kind].heartbeat_s, "B-001", Jsonb({"mqtt": mqtt})),
    )
    return device_id


@contextmanager
def mapped_ingest(
    settings: Settings,
    *,
    before_commit: Callable[[Sequence[Inbound]], None] | None = None,
    before_ack: Callable[[Sequence[Inbound]], None] | None = None,
) -> Iterator[tuple[IngestService, MappedMqttSource]]:
    """Ingest with its mapped session, stopped on leaving; a Crash from a hook ends it like a
    dead process: nothing more is acknowledged."""
    mapped = MappedMqttSource(settings)
    mapped.start()
    parts = IngestParts.from_settings(
        settings, before_commit=before_commit, local_gateways=[mapped]
    )
    service = IngestService(settings, parts=parts, before_ack=before_ack)
    stop = threading.Event()

    def run() -> None:
        with suppress(Crash):
            service.run(stop)

    thread = threading.Thread(target=run, name="ingest", daemon=True)
    thread.start()
    try:
        wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
        yield service, mapped
    finally:
        stop.set()
        thread.join(timeout=20)
        mapped.stop()
    assert not thread.is_alive(), "ingest did not stop"


@pytest.fixture()
def publisher(settings: Settings) -> Iterator[Publisher]:
    with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
        yield pub


def dead_letters(db: psycopg.Connection[Any], site: str) -> list[tuple[str, str | None, str]]:
    rows = db.execute(
        "SELECT reason, device_id, detail FROM dead_letters WHERE topic LIKE %s ORDER BY id",
        (f"gw/mqtt/{site}/%",),
    ).fetchall()
    return [(str(r[0]), r[1], str(r[2])) for r in rows]


def wait_committed(mapped: MappedMqttSource, count: int) -> None:
    wait_until(
        lambda: mapped.counters.committed >= count,
        timeout=15,
        what=f"{count} mapped messages committed (has {mapped.counters.committed})",
    )


def test_a_zigbee2mqtt_smoke_alarm_raises_the_fire_alarm(
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    device = add_device(
        db, site, f"{site}-SD1", Kind.SMOKE, {"model": models["z2m"], "topic": "kitchen smoke"}
    )
    sensor = Zigbee2MqttSmoke("kitchen smoke", base_topic=f"z2m-{site}", battery=90)
    with mapped_ingest(mapped_settings) as (_, mapped):
        # Zigbee2MQTT's documented state message, as the test writes it.
        publisher.publish(sensor.topic, b'{"smoke": true, "battery": 90, "tamper": false}')
        wait_committed(mapped, 1)
        alert = db.execute(
            "SELECT rule, class FROM alerts WHERE device_id = %s", (device,)
        ).fetchone()
        assert alert == ("smoke_alarm", "fire")
        events = db.execute(
            "SELECT type, detail FROM events WHERE device_id = %s", (device,)
        ).fetchall()
        assert events == [("alarm", {"model": models["z2m"], "path": "smoke", "value": True})]
        battery = scalar(db, "SELECT battery_pct FROM heartbeats WHERE device_id = %s", device)
        assert battery == 90

        publisher.publish(*sensor.state(smoke=False, tamper=True))
        wait_committed(mapped, 2)
        kinds = db.execute(
            "SELECT type FROM events WHERE device_id = %s ORDER BY seq", (device,)
        ).fetchall()
        assert sorted(k for (k,) in kinds) == ["alarm", "alarm_cleared", "tamper"]
    assert mapped.counters.mapped == 2 and not mapped.counters.refused


def test_a_tasmota_plug_is_stored_once_in_its_own_time_and_units(
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    device = add_device(db, site, f"{site}-EM1", Kind.ELECTRICAL, {"model": models["tasmota"]})
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    local = at.astimezone(BEIJING).replace(tzinfo=None).isoformat()
    body = orjson.dumps(
        {
            "Time": local,
            "ENERGY": {"Power": 1195, "Voltage": 229.8, "Current": 5.2},
            "DS18B20": {"Temperature": 86.0},
            "TempUnit": "F",
        }
    )
    topic = f"tele-{site}/{device}/SENSOR"  # no config.mqtt.topic: the device id
    with mapped_ingest(mapped_settings) as (service, mapped):
        publisher.publish(topic, body)
        publisher.publish(topic, body)  # the same report again: the same contract message
        wait_committed(mapped, 2)
    rows = db.execute(
        "SELECT metric, value, ts FROM readings WHERE device_id = %s ORDER BY metric", (device,)
    ).fetchall()
    assert [(m, round(v, 3)) for m, v, _ in rows] == [
        ("cable_temp_c", 30.0),
        ("current_a", 5.2),
        ("voltage_v", 229.8),
    ]
    assert {ts for _, _, ts in rows} == {at}
    assert service.counters.duplicates == 1


@pytest.mark.parametrize("crash", ["before_commit", "before_ack"])
def test_a_message_is_acknowledged_only_after_its_commit(
    crash: str,
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    """Ingest dies with the message's batch written or not: the broker sends it again to the
    next run, and it is stored once (Tasmota's own time makes the same seq)."""
    device = add_device(db, site, f"{site}-EM2", Kind.ELECTRICAL, {"model": models["tasmota"]})
    plug = TasmotaPlug(device, prefix=f"tele-{site}")
    crashed = threading.Event()

    def die(batch: Sequence[Inbound]) -> None:
        if any(device in item.topic for item in batch):
            crashed.set()
            raise Crash(crash)

    hooks = {"before_commit": die} if crash == "before_commit" else {"before_ack": die}
    with mapped_ingest(mapped_settings, **hooks) as (_, mapped):
        publisher.publish(*plug.sensor(datetime.now(UTC), voltage=230.0, current=1.5))
        wait_until(crashed.is_set, timeout=15, what="the crash point")
    assert mapped.counters.committed == 0
    stored = scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device)
    assert stored == (0 if crash == "before_commit" else 2)

    with mapped_ingest(mapped_settings) as (service, again):
        wait_committed(again, 1)
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device) == 2
    assert service.counters.duplicates == (0 if crash == "before_commit" else 1)


def test_what_does_not_fit_is_dead_lettered_with_its_reason(
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    smoke = add_device(db, site, f"{site}-SD2", Kind.SMOKE, {"model": models["z2m"]})
    plug = add_device(db, site, f"{site}-EM3", Kind.ELECTRICAL, {"model": models["tasmota"]})
    smoke_topic, plug_topic = f"z2m-{site}/{smoke}", f"tele-{site}/{plug}/SENSOR"
    now = datetime.now(UTC).astimezone(BEIJING).replace(tzinfo=None).isoformat()
    sent = [
        (smoke_topic, b'{"smoke": tru'),  # malformed
        (smoke_topic, b'{"smoke": true, "tamper": false}'),  # battery missing
        (smoke_topic, b'{"smoke": true, "battery": "full", "tamper": false}'),
        (smoke_topic, b"[" * 100_000 + b"]" * 100_000),  # deeper than any parser goes
        (
            smoke_topic,
            b'{"smoke": false, "battery": 90, "tamper": false, "x": "' + b"x" * 300_000 + b'"}',
        ),  # beyond FIREWATCH_MAX_PAYLOAD_BYTES
        (f"z2m-{site}/garage smoke", b'{"smoke": true, "battery": 80, "tamper": false}'),
        (plug_topic, orjson.dumps({"Time": now, "ENERGY": {"Voltage": 230}})),  # no Current
        (plug_topic, orjson.dumps({"Time": "soon", "ENERGY": {"Voltage": 230, "Current": 1}})),
    ]
    with mapped_ingest(mapped_settings) as (service, mapped):
        for topic, payload in sent:
            publisher.publish(topic, payload)
        # Out of range once scaled: the contract's own check, on the translated reading.
        publisher.publish(
            plug_topic,
            orjson.dumps(
                {
                    "Time": now,
                    "ENERGY": {"Voltage": 230, "Current": 1},
                    "DS18B20": {"Temperature": 9000.0},
                }
            ),
        )
        wait_committed(mapped, len(sent) + 1)
        assert service.ready  # still running
    found = dead_letters(db, site)
    reasons = [(reason, device) for reason, device, _ in found]
    assert reasons == [
        ("malformed", smoke),
        ("schema", smoke),
        ("schema", smoke),
        ("malformed", smoke),
        ("oversize", smoke),
        ("unknown_device", pending_id("garage smoke", f"z2m-{site}/garage smoke")),
        ("schema", plug),
        ("schema", plug),
    ]
    details = [detail for _, _, detail in found]
    assert "'battery' (battery_pct) is missing" in details[1]
    assert "a number, got 'full'" in details[2]
    assert "register it with POST /api/v1/devices" in details[5]
    assert "'ENERGY.Current' (current_a) is missing" in details[6]
    assert "not an ISO 8601 time" in details[7]
    out_of_range = db.execute(
        "SELECT reason, detail FROM dead_letters WHERE device_id = %s AND topic LIKE 'fw/v1/%%'",
        (plug,),
    ).fetchall()
    assert len(out_of_range) == 1 and out_of_range[0][0] == "out_of_range"
    assert "cable_temp_c" in out_of_range[0][1]
    pending = db.execute(
        "SELECT last_topic, last_payload FROM pending_devices WHERE device_id = %s",
        (pending_id("garage smoke", f"z2m-{site}/garage smoke"),),
    ).fetchone()
    assert pending is not None and bytes(pending[1]).startswith(b'{"smoke": true')
    assert mapped.counters.refused[Reason.SCHEMA] == 4
    assert mapped.counters.mapped == 1


def test_models_and_devices_added_while_running_are_followed(
    mapped_settings: Settings, db: psycopg.Connection[Any], site: str, publisher: Publisher
) -> None:
    with mapped_ingest(mapped_settings) as (_, mapped):
        add_model(
            db,
            f"{site}-later",
            kind="smoke",
            topic=f"later-{site}/{{device}}",
            mapping={"events": [{"path": "smoke", "equals": True, "event": "alarm"}]},
        )
        device = add_device(db, site, f"{site}-SD9", Kind.SMOKE, {"model": f"{site}-later"})
        wait_until(
            lambda: mapped.devices is not None and mapped.devices.find(f"later-{site}/{device}"),
            timeout=10,
            what="the mapped session to follow the new model",
        )
        publisher.publish(f"later-{site}/{device}", b'{"smoke": true}')
        wait_committed(mapped, 1)
        assert f"later-{site}/+" in mapped.session._filters
        db.execute("UPDATE devices SET status = 'decommissioned' WHERE id = %s", (device,))
        db.execute("DELETE FROM device_models WHERE name = %s", (f"{site}-later",))
        wait_until(
            lambda: f"later-{site}/+" not in mapped.session._filters,
            timeout=10,
            what="the mapped session to leave the removed model's topic",
        )
    assert scalar(db, "SELECT type FROM events WHERE device_id = %s", device) == "alarm"


def test_two_devices_on_one_topic_or_a_wrong_kind_are_refused(
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    link = {"model": models["z2m"], "topic": "hall"}
    first = add_device(db, site, f"{site}-SDa", Kind.SMOKE, link)
    second = add_device(db, site, f"{site}-SDb", Kind.SMOKE, link)
    wrong = add_device(db, site, f"{site}-EMx", Kind.ELECTRICAL, {"model": models["z2m"]})
    with mapped_ingest(mapped_settings) as (_, mapped):
        publisher.publish(f"z2m-{site}/hall", b'{"smoke": true, "battery": 90, "tamper": false}')
        publisher.publish(f"z2m-{site}/{wrong}", b'{"smoke": true, "battery": 9, "tamper": false}')
        wait_committed(mapped, 2)
    found = dead_letters(db, site)
    assert [r for r, _, _ in found] == ["schema", "kind_mismatch"]
    assert f"devices {first}, {second} all publish on" in found[0][2]
    assert found[1][1] == wrong
    assert scalar(db, "SELECT count(*) FROM alerts WHERE device_id LIKE %s", f"{site}-%") == 0


def test_without_the_registry_nothing_is_handed_over_nor_lost(
    mapped_settings: Settings,
    models: dict[str, str],
    db: psycopg.Connection[Any],
    site: str,
    publisher: Publisher,
) -> None:
    """A mapped session that cannot read the models translates nothing: what arrives waits,
    unacknowledged, and the next session takes it."""
    device = add_device(db, site, f"{site}-SD7", Kind.SMOKE, {"model": models["z2m"]})
    first = MappedMqttSource(mapped_settings)
    first.start()  # subscribes the persistent session to the models' topics
    first.stop()
    away = mapped_settings.model_copy(update={"database_url": "postgresql://127.0.0.1:1/none"})
    blind = MappedMqttSource(away)
    blind.start()
    try:
        publisher.publish(
            f"z2m-{site}/{device}", b'{"smoke": true, "battery": 70, "tamper": false}'
        )
        wait_until(lambda: blind.session._queue.qsize() == 1, timeout=10, what="the message")
        assert blind.next_batch(max_size=100, max_bytes=10**6, wait_s=0.1, idle_s=0.5) == []
        assert blind.counters.refresh_failures >= 1 and blind.counters.received == 0
    finally:
        blind.stop()
    with mapped_ingest(mapped_settings) as (_, mapped):
        wait_committed(mapped, 1)
    assert scalar(db, "SELECT type FROM events WHERE device_id = %s", device) == "alarm"
