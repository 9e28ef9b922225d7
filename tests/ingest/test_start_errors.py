"""Ingest's start-up error names the real cause: "is Mosquitto running?" only when nothing
answers, never when a running broker refused the login. (A refused subscription is named too,
but Mosquitto 2.0.11 grants a subscription its ACL denies and then delivers nothing, so no
test here can make it refuse one.)"""

from __future__ import annotations

import getpass
import subprocess
from collections.abc import Iterator

import pytest

from contract.logins import session_login
from firewatch.testing import BROKER_CONF, free_port, start_broker, stop_broker
from ingest.mqtt_source import MqttSource
from settings import MqttTarget

USER, PASSWORD, CLIENT = "svc", "s3cret", "ingest-errors"
ALLOWED = "fw/v1/allowed/#"
NOT_RUNNING = "is Mosquitto running?"


@pytest.fixture(scope="module")
def locked_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """Mosquitto with logins on, for ingest's login only."""
    workdir = tmp_path_factory.mktemp("locked")
    login = session_login(USER, CLIENT)  # each session logs in under a name of its own
    passwd, acl = workdir / "passwd", workdir / "acl"
    passwd.touch()
    subprocess.run(["mosquitto_passwd", "-b", str(passwd), login, PASSWORD], check=True)
    acl.write_text(f"user {login}\ntopic read {ALLOWED}\n")
    port = free_port()
    conf = workdir / "mosquitto.conf"
    conf.write_text(
        BROKER_CONF.read_text()
        + f"\npersistence_location {workdir}/\nlog_dest file {workdir}/mosquitto.log\n"
        + f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous false\n"
        + f"password_file {passwd}\nacl_file {acl}\n"
    )
    proc = start_broker(conf, port)
    yield port
    stop_broker(proc)


def start_error(url: str, subscription: str) -> str:
    source = MqttSource(
        MqttTarget(url),
        client_id=CLIENT,
        subscription=subscription,
        session_expiry_s=60,
        receive_maximum=100,
    )
    with pytest.raises(ConnectionError) as caught:
        source.start(wait_s=3)
    return str(caught.value)


def test_no_broker_at_all_says_to_start_one() -> None:
    message = start_error(f"mqtt://127.0.0.1:{free_port()}", ALLOWED)
    assert "cannot reach MQTT broker" in message and NOT_RUNNING in message


def test_a_refused_login_names_the_refusal(locked_broker: int) -> None:
    message = start_error(f"mqtt://{USER}:wrong@127.0.0.1:{locked_broker}", ALLOWED)
    assert "refused the connection" in message, message
    assert NOT_RUNNING not in message


def test_the_login_and_subscription_allowed_start(locked_broker: int) -> None:
    """The broker above refuses only what it should: the same login starts on ALLOWED."""
    source = MqttSource(
        MqttTarget(f"mqtt://{USER}:{PASSWORD}@127.0.0.1:{locked_broker}"),
        client_id=CLIENT,
        subscription=ALLOWED,
        session_expiry_s=60,
        receive_maximum=100,
    )
    source.start(wait_s=5)
    try:
        assert source.connected
    finally:
        source.stop()


def test_an_explicit_empty_subscription_set_starts(broker_url: str) -> None:
    """A partitioned worker that owns nothing yet: connected, no SUBSCRIBE, ready."""
    source = MqttSource(
        MqttTarget(broker_url),
        client_id=f"{CLIENT}-empty",
        subscription="(no device yet)",
        session_expiry_s=60,
        receive_maximum=100,
    )
    source.set_filters([])
    source.start(wait_s=5)
    try:
        assert source.connected
    finally:
        source.stop()
