from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from contract.logins import session_login
from firewatch.testing import free_port, start_broker, stop_broker
from registry.credentials import API_ACCOUNT, INGEST_ACCOUNT
from settings import Settings
from tests.broker.helpers import Client, Login, auth_broker_config, passwords, run_sync


class AuthBroker:
    """Mosquitto with authentication on; ``start`` after registering the test's devices."""

    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.settings = settings.model_copy(
            update={
                "mqtt_url": f"mqtt://127.0.0.1:{self.port}",
                "broker_password_file": workdir / "passwd",
                "broker_acl_file": workdir / "acl",
                "broker_pid_file": workdir / "mosquitto.pid",
            }
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.services = passwords(self.settings, INGEST_ACCOUNT, API_ACCOUNT)
        self._clients: list[Client] = []

    def start(self) -> None:
        run_sync(self.settings)  # Mosquitto refuses to start without its password file
        conf = auth_broker_config(self.settings, self.workdir, self.port)
        self.proc = start_broker(conf, self.port)

    def client(self, login: Login | None, client_id: str) -> Client:
        client = Client(self.port, login, client_id)
        self._clients.append(client)
        return client

    def service(self, name: str) -> Login:
        return Login(name, self.services[name])

    def ingest_session(self) -> Login:
        """The login of ingest's main session: the broker binds client ids to logins."""
        login = session_login(INGEST_ACCOUNT, self.settings.ingest_client_id)
        return Login(login, self.services[INGEST_ACCOUNT])

    def url_for(self, login: Login) -> str:
        return f"mqtt://{login.username}:{login.password}@127.0.0.1:{self.port}"

    def stop(self) -> None:
        for client in self._clients:
            client.close()
        if self.proc is not None:
            stop_broker(self.proc)


@pytest.fixture()
def auth_broker(settings: Settings, tmp_path: Path) -> Iterator[AuthBroker]:
    broker = AuthBroker(settings, tmp_path)
    try:
        yield broker
    finally:
        broker.stop()
