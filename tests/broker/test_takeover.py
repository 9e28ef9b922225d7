"""Session takeover: a device with valid credentials connecting with ingest's (or another
device's) client id, against a real Mosquitto started from the deployed configuration."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx2
import orjson
import paho.mqtt.client as mqtt
import psycopg
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from api.app import create_app
from contract.logins import session_login
from firewatch.testing import ROOT, serving, wait_until
from ingest.metrics import IngestCollector
from registry.credentials import INGEST_ACCOUNT
from settings import Settings
from tests.broker.conftest import AuthBroker
from tests.broker.helpers import DEPLOYED_CONF, Login
from tests.broker.test_broker_acl import devices
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar

MESSAGES = 2000


def reading(seq: int) -> bytes:
    ts = datetime.now(UTC).isoformat()
    return orjson.dumps({"ts": ts, "seq": seq, "values": {"temperature_c": 21.0}})


class Publisher:
    """A device publishing QoS 1 readings with a bounded window, in a thread of its own."""

    def __init__(self, port: int, login: Login, site: str) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=login.username)
        self.client.username_pw_set(login.username, login.password)
        self.topic = f"fw/v1/{site}/{login.username}/reading"
        self.client.connect("127.0.0.1", port, keepalive=30)
        self.client.loop_start()

    def publish(self, count: int, *, first: int = 1, per_s: float = 0.0) -> None:
        """Every message acknowledged by the broker (PUBACK) before this returns."""
        for seq in range(first, first + count):
            self.client.publish(self.topic, reading(seq), qos=1).wait_for_publish(10)
            if per_s:
                time.sleep(1 / per_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class Thief:
    """A device's credentials, someone else's client id; holds the connection for a while."""

    def __init__(self, port: int, login: Login, client_id: str, *, clean: bool) -> None:
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean
        )
        self.client.username_pw_set(login.username, login.password)
        self.received = 0
        self.client.on_message = self._count
        self.port = port

    def _count(self, *_: Any) -> None:
        self.received += 1

    def hold(self, seconds: float) -> None:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        self.client.subscribe("fw/v1/#", qos=1)
        time.sleep(seconds)
        self.client.disconnect()
        self.client.loop_stop()


def stored(db: psycopg.Connection[Any], device_id: str) -> int:
    return int(scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device_id))


def ingest_settings(broker: AuthBroker) -> Settings:
    return broker.settings.model_copy(
        update={"mqtt_url": broker.url_for(broker.service(INGEST_ACCOUNT))}
    )


def test_every_deployed_listener_binds_client_ids_to_logins() -> None:
    for conf in (DEPLOYED_CONF, ROOT / "deploy" / "compose" / "mosquitto.conf"):
        lines = [line.strip() for line in conf.read_text().splitlines()]
        listeners = [i for i, line in enumerate(lines) if line.startswith("listener ")]
        assert listeners, conf
        for start, end in zip(listeners, [*listeners[1:], len(lines)], strict=True):
            assert "use_username_as_clientid true" in lines[start:end], (conf, lines[start])


def test_takeovers_while_ingest_runs_lose_nothing(
    auth_broker: AuthBroker, registry: Registry, site: str, db: psycopg.Connection[Any]
) -> None:
    """The issue's measurement: three takeovers of 3 s each during 2,000 messages lost 603."""
    logins = devices(auth_broker, registry, "PUB", "THIEF")
    auth_broker.start()
    settings = ingest_settings(auth_broker)
    with running(settings) as service:
        publisher = Publisher(auth_broker.port, logins["PUB"], site)
        sending = threading.Thread(
            target=publisher.publish, args=(MESSAGES,), kwargs={"per_s": 400}
        )
        sending.start()
        # ingest's client id as it would send it, its session's login, and the alarm lane's.
        for client_id in (
            settings.ingest_client_id,
            session_login(INGEST_ACCOUNT, settings.ingest_client_id),
            session_login(INGEST_ACCOUNT, f"{settings.ingest_client_id}-alarms"),
        ):
            Thief(auth_broker.port, logins["THIEF"], client_id, clean=False).hold(1.5)
        sending.join(timeout=60)
        publisher.close()
        wait_until(
            lambda: stored(db, logins["PUB"].username) >= MESSAGES,
            timeout=30,
            what=f"{MESSAGES} readings stored (has {stored(db, logins['PUB'].username)})",
        )
        assert service.session_problem is None
        assert service.source.take_troubles() == []
    assert stored(db, logins["PUB"].username) == MESSAGES


@pytest.mark.parametrize("clean", [False, True], ids=["persistent-thief", "clean-thief"])
def test_a_takeover_while_ingest_is_down_loses_nothing(
    auth_broker: AuthBroker,
    registry: Registry,
    site: str,
    db: psycopg.Connection[Any],
    clean: bool,
) -> None:
    """The issue's measurement: 500 messages acknowledged to the publisher, 0 stored."""
    logins = devices(auth_broker, registry, "PUB", "THIEF")
    auth_broker.start()
    settings = ingest_settings(auth_broker)
    with running(settings):
        pass  # its persistent sessions now exist at the broker
    publisher = Publisher(auth_broker.port, logins["PUB"], site)
    publisher.publish(500)
    publisher.close()
    thief = Thief(auth_broker.port, logins["THIEF"], settings.ingest_client_id, clean=clean)
    thief.hold(2)
    login_thief = Thief(
        auth_broker.port,
        logins["THIEF"],
        session_login(INGEST_ACCOUNT, settings.ingest_client_id),
        clean=clean,
    )
    login_thief.hold(2)
    assert thief.received == login_thief.received == 0
    with running(settings) as service:
        wait_until(
            lambda: stored(db, logins["PUB"].username) >= 500,
            timeout=30,
            what=f"500 readings stored (has {stored(db, logins['PUB'].username)})",
        )
        assert service.session_problem is None
    assert stored(db, logins["PUB"].username) == 500


def test_a_device_cannot_cut_another_off_with_its_id(
    auth_broker: AuthBroker, registry: Registry
) -> None:
    logins = devices(auth_broker, registry, "A", "B")
    auth_broker.start()
    victim = auth_broker.client(logins["B"], logins["B"].username)
    assert not victim.connect().is_failure
    attacker = auth_broker.client(logins["A"], logins["B"].username)
    assert not attacker.connect().is_failure
    assert not victim.disconnected.wait(2), "the victim was disconnected"


def test_a_taken_over_session_is_detected_alerted_and_not_ready(
    settings: Settings,
    registry: Registry,
    db: psycopg.Connection[Any],
    broker_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """On a broker that does not bind ids to logins (the tests' anonymous one), a clean-session
    client with ingest's id destroys its session: ingest notices within 5 s, logs an ERROR,
    raises its trouble alert, and /readyz says so."""
    port = int(broker_url.rsplit(":", 1)[1])
    caplog.set_level(logging.ERROR, logger="ingest.mqtt_source")
    with running(settings) as service:
        app = create_app(
            settings,
            session_problem=lambda: service.session_problem,
            collectors=[IngestCollector(service.counters)],
        )
        with serving(app) as base:
            assert httpx2.get(f"{base}/readyz").json()["checks"]["mqtt_session"] == "ok"
            taken = time.monotonic()
            thief = mqtt.Client(
                CallbackAPIVersion.VERSION2, client_id=settings.ingest_client_id, clean_session=True
            )
            thief.connect("127.0.0.1", port)
            thief.loop_start()
            wait_until(lambda: service.session_problem, timeout=10, what="the takeover noticed")
            thief.disconnect()
            thief.loop_stop()
            subject = f"ingest:{settings.ingest_client_id}"
            wait_until(
                lambda: scalar(
                    db,
                    "SELECT count(*) FROM alerts WHERE subject = %s AND rule = %s",
                    subject,
                    "mqtt_session",
                ),
                timeout=10,
                what="the mqtt_session trouble alert",
            )
            noticed = time.monotonic() - taken
            answer = httpx2.get(f"{base}/readyz")
            assert answer.status_code == 503
            assert "no session" in answer.json()["checks"]["mqtt_session"]
            metrics = httpx2.get(f"{base}/metrics").text
            assert "firewatch_ingest_mqtt_session_troubles_total 1.0" in metrics
    row = db.execute(
        "SELECT class, state, site, detail->>'reason' FROM alerts WHERE subject = %s", (subject,)
    ).fetchone()
    assert row is not None
    assert row[:3] == ("trouble", "active_unack", settings.site)
    assert settings.ingest_client_id in row[3]
    assert any("MQTT session trouble" in r.getMessage() for r in caplog.records)
    assert noticed < 5 + settings.engine_tick_s, f"noticed after {noticed:.1f} s"
