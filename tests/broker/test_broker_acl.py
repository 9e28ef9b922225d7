"""A real Mosquitto with the deployed authentication, fed by 'firewatch broker sync'."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from contract.kinds import Kind
from contract.topics import command_topic_for
from firewatch.testing import wait_until
from registry.credentials import API_ACCOUNT, INGEST_ACCOUNT
from settings import MqttTarget
from tests.broker.conftest import AuthBroker
from tests.broker.helpers import Login, passwords, run_sync
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar


def reading(seq: int, temperature_c: float) -> bytes:
    now = datetime.now(UTC).isoformat()
    return orjson.dumps({"ts": now, "seq": seq, "values": {"temperature_c": temperature_c}})


def devices(broker: AuthBroker, registry: Registry, *names: str) -> dict[str, Login]:
    """Registered, with credentials, as a technician's registration leaves them."""
    ids = [registry.add(f"{registry.site}-{name}", Kind.SMOKE) for name in names]
    issued = passwords(broker.settings, *ids)
    return {name: Login(i, issued[i]) for name, i in zip(names, ids, strict=True)}


def test_unknown_clients_are_refused(auth_broker: AuthBroker, registry: Registry) -> None:
    a = devices(auth_broker, registry, "A")["A"]
    auth_broker.start()
    assert not auth_broker.client(a, "a").connect().is_failure
    for login in (
        None,
        Login(a.username, "wrong"),
        Login(a.username, None),
        Login("stranger", "x"),
        Login(INGEST_ACCOUNT, a.password),
        # The account's bare name is no login: each ingest session has its own.
        auth_broker.service(INGEST_ACCOUNT),
    ):
        assert auth_broker.client(login, f"c{id(login)}").connect().is_failure, login


def test_a_device_speaks_only_for_itself(
    auth_broker: AuthBroker, registry: Registry, site: str
) -> None:
    logins = devices(auth_broker, registry, "A", "B")
    a, b = logins["A"], logins["B"]
    auth_broker.start()
    ingest = auth_broker.client(auth_broker.ingest_session(), "ingest")
    assert not ingest.connect().is_failure
    assert not ingest.subscribe("fw/v1/#")[0].is_failure
    device_a = auth_broker.client(a, "a")
    assert not device_a.connect().is_failure
    device_a.publish(f"fw/v1/{site}/{b.username}/reading")  # spoofed: dropped by the broker
    device_a.publish(f"fw/v1/other-site/{a.username}/reading")  # not its registered site
    device_a.publish(f"fw/v1/{site}/{a.username}/reading")  # its own, after the others
    assert [t for t, _ in ingest.received(wait_s=3)] == [f"fw/v1/{site}/{a.username}/reading"]


def test_a_device_reads_only_its_own_commands(
    auth_broker: AuthBroker, registry: Registry, site: str
) -> None:
    """Mosquitto 2.0.11's acl_file grants any SUBACK and checks read access per message, so a
    device's subscription to others' topics stays empty."""
    logins = devices(auth_broker, registry, "A", "B")
    a, b = logins["A"], logins["B"]
    auth_broker.start()
    device_a = auth_broker.client(a, "a")
    assert not device_a.connect().is_failure
    for topic in (
        "#",
        f"fw/v1/{site}/{b.username}/#",
        "fw/cmd/v1/#",
        f"$share/g/{command_topic_for(site, b.username)}",
        command_topic_for(site, a.username),
    ):
        device_a.subscribe(topic)
    device_b = auth_broker.client(b, "b")
    assert not device_b.connect().is_failure
    device_b.publish(f"fw/v1/{site}/{b.username}/reading", b"B's reading")
    api = auth_broker.client(auth_broker.service(API_ACCOUNT), "api")
    assert not api.connect().is_failure
    api.publish(command_topic_for(site, b.username), b"for B")
    api.publish(command_topic_for(site, a.username), b"for A")
    assert [p for _, p in device_a.received(wait_s=3)] == [b"for A"]


def test_ingest_with_its_account_stores_only_what_devices_may_say(
    auth_broker: AuthBroker, registry: Registry, site: str, db: psycopg.Connection[Any]
) -> None:
    logins = devices(auth_broker, registry, "A", "B")
    a, b = logins["A"], logins["B"]
    auth_broker.start()
    settings = auth_broker.settings.model_copy(
        update={
            "mqtt_url": auth_broker.url_for(auth_broker.service(INGEST_ACCOUNT)),
            "ingest_shared_group": "ingest",  # the $share/… form of its ACL
        }
    )
    with running(settings) as service:
        device_a = auth_broker.client(a, "a")
        assert not device_a.connect().is_failure
        device_a.publish(f"fw/v1/{site}/{b.username}/reading", reading(1, 99.0))  # spoofed
        device_a.publish(f"fw/v1/{site}/{a.username}/reading", reading(2, 21.0))
        wait_until(
            lambda: scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", a.username),
            timeout=15,
            what="A's reading",
        )
        assert service.counters.received == 1
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", b.username) == 0
    assert scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", f"%{site}%") == 0


def test_a_decommissioned_device_is_shut_out_and_the_others_stay(
    auth_broker: AuthBroker, registry: Registry, site: str, db: psycopg.Connection[Any]
) -> None:
    logins = devices(auth_broker, registry, "GONE", "STAYS")
    gone, stays = logins["GONE"], logins["STAYS"]
    auth_broker.start()
    ingest = auth_broker.client(auth_broker.ingest_session(), "ingest")
    assert not ingest.connect().is_failure
    ingest.subscribe(f"fw/v1/{site}/#")
    device_gone, device_stays = auth_broker.client(gone, "gone"), auth_broker.client(stays, "s")
    assert not device_gone.connect().is_failure
    assert not device_stays.connect().is_failure
    db.execute("UPDATE devices SET status = 'decommissioned' WHERE id = %s", (gone.username,))

    result = run_sync(auth_broker.settings)

    assert result.reload.startswith("signalled mosquitto")
    assert device_gone.disconnected.wait(10), "the broker kept the decommissioned device"
    assert auth_broker.client(gone, "gone-again").connect().is_failure
    assert not device_stays.disconnected.is_set()
    assert not ingest.disconnected.is_set()
    device_stays.publish(f"fw/v1/{site}/{stays.username}/status")
    assert len(ingest.received(wait_s=3)) == 1


def test_a_rotated_password_replaces_the_old_one(
    auth_broker: AuthBroker, registry: Registry
) -> None:
    old = devices(auth_broker, registry, "A")["A"]
    auth_broker.start()
    new = Login(old.username, passwords(auth_broker.settings, old.username)[old.username])
    assert not auth_broker.client(old, "before-sync").connect().is_failure  # until the sync
    run_sync(auth_broker.settings)
    wait_until(
        lambda: auth_broker.client(old, f"old-{os.urandom(4).hex()}").connect().is_failure,
        timeout=10,
        what="the broker to reload",
    )
    assert not auth_broker.client(new, "new").connect().is_failure


def test_the_mqtt_url_carries_any_password_percent_encoded() -> None:
    target = MqttTarget("mqtt://svc.ingest:p%40ss%3Aw%2Frd@broker:1884")
    assert (target.username, target.password) == ("svc.ingest", "p@ss:w/rd")
    assert (target.host, target.port) == ("broker", 1884)
    assert MqttTarget("mqtt://broker").username is None
