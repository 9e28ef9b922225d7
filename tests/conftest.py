from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import own_broker, own_database, wait_until
from ingest.service import IngestService
from settings import Settings


@pytest.fixture(autouse=True)
def root_logger() -> Iterator[None]:
    """configure_logging (the CLI's ``main`` run in-process, tests/test_logs.py) replaces the
    root logger's handlers with one on this test's captured stderr, which pytest closes after
    it: give them back, or a later test's log line meets a closed file."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with own_broker(tmp_path_factory.mktemp("broker")) as url:
        yield url


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with own_database() as url:
        yield url


@pytest.fixture()
def db(database_url: str) -> Iterator[psycopg.Connection[Any]]:
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture()
def site() -> str:
    """Each test has a site of its own, so its topics and devices never meet another test's."""
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture()
def settings(database_url: str, broker_url: str, site: str) -> Settings:
    return Settings(
        database_url=database_url,
        mqtt_url=broker_url,
        site=site,
        ingest_client_id=f"ingest-{site}",
        ingest_batch_wait_ms=20,
    )


class Registry:
    """Registers devices straight in the store, as a technician's import would."""

    def __init__(self, conn: psycopg.Connection[Any], site: str) -> None:
        self.conn, self.site = conn, site

    def add(self, device_id: str, kind: Kind, *, site: str | None = None) -> str:
        self.conn.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building)"
            " VALUES (%s, %s, %s, %s, %s)",
            (device_id, kind.value, site or self.site, KIND_SPECS[kind].heartbeat_s, "B-001"),
        )
        return device_id


@pytest.fixture()
def registry(db: psycopg.Connection[Any], site: str) -> Registry:
    return Registry(db, site)


@pytest.fixture()
def ingest(settings: Settings) -> Iterator[IngestService]:
    service = IngestService(settings)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="ingest", daemon=True)
    thread.start()
    wait_until(lambda: service.ready, timeout=10, what="ingest to connect")
    yield service
    stop.set()
    thread.join(timeout=10)
    assert not thread.is_alive(), "ingest did not stop"


@pytest.fixture()
def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent
