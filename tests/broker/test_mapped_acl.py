"""Mapped MQTT on a real Mosquitto with the deployed authentication: each device (or the
bridge that speaks for it) may publish only its own topic of its model, and ingest's mapped
session reads the models' topics."""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from contract.kinds import KIND_SPECS, Kind
from contract.logins import MAPPED_SUFFIX, session_login
from registry.credentials import INGEST_ACCOUNT
from tests.broker.conftest import AuthBroker
from tests.broker.helpers import Login, passwords


def _model(db: psycopg.Connection[Any], name: str, topic: str, kind: str, event: str) -> None:
    mapping = {
        "time": None,
        "metrics": [],
        "events": [{"path": "x", "equals": True, "event": event}],
    }
    db.execute(
        "INSERT INTO device_models (name, kind, topic, mapping) VALUES (%s, %s, %s, %s)",
        (name, kind, topic, Jsonb(mapping)),
    )


def _device(db: psycopg.Connection[Any], site: str, device_id: str, kind: Kind, config: Any) -> str:
    db.execute(
        "INSERT INTO devices (id, kind, site, heartbeat_s, config) VALUES (%s, %s, %s, %s, %s)",
        (device_id, kind.value, site, KIND_SPECS[kind].heartbeat_s, Jsonb(config)),
    )
    return device_id


def test_mapped_devices_publish_only_their_own_model_topic(
    auth_broker: AuthBroker, db: psycopg.Connection[Any], site: str
) -> None:
    _model(db, f"{site}-tasmota", f"tele-{site}/{{device}}/SENSOR", "electrical", "alarm")
    _model(db, f"{site}-z2m", f"z2m-{site}/{{device}}", "smoke", "alarm")
    plug = _device(db, site, f"{site}-EM", Kind.ELECTRICAL, {"mqtt": {"model": f"{site}-tasmota"}})
    bridge = _device(db, site, f"{site}-BR", Kind.SMOKE, {})
    _device(
        db,
        site,
        f"{site}-SD",
        Kind.SMOKE,
        {"mqtt": {"model": f"{site}-z2m", "topic": "kitchen smoke", "login": bridge}},
    )
    issued = passwords(auth_broker.settings, plug, bridge)
    auth_broker.start()

    login = session_login(INGEST_ACCOUNT, auth_broker.settings.ingest_client_id + MAPPED_SUFFIX)
    ingest = auth_broker.client(Login(login, auth_broker.services[INGEST_ACCOUNT]), login)
    assert not ingest.connect().is_failure
    ingest.subscribe(f"tele-{site}/+/SENSOR")
    ingest.subscribe(f"z2m-{site}/+")

    as_plug = auth_broker.client(Login(plug, issued[plug]), plug)
    as_bridge = auth_broker.client(Login(bridge, issued[bridge]), bridge)
    assert not as_plug.connect().is_failure and not as_bridge.connect().is_failure
    as_plug.publish(f"tele-{site}/{site}-OTHER/SENSOR", b"spoofed")  # not its topic: dropped
    as_plug.publish(f"z2m-{site}/kitchen smoke", b"spoofed")  # the bridge's device: dropped
    as_bridge.publish(f"z2m-{site}/garage smoke", b"spoofed")  # no such device: dropped
    as_plug.publish(f"tele-{site}/{plug}/SENSOR", b"plug")
    as_bridge.publish(f"z2m-{site}/kitchen smoke", b"bridge")  # a topic level with a space
    assert sorted(ingest.received(wait_s=3)) == [
        (f"tele-{site}/{plug}/SENSOR", b"plug"),
        (f"z2m-{site}/kitchen smoke", b"bridge"),
    ]
