"""'firewatch gateway gb26875' as deployed: a process of its own handing over through the
gateway inbox to a separate ingest. Killed with SIGKILL mid-stream, it has lost no packet it
confirmed; what it had not confirmed, the device sends again and it is stored once. And the
settings that cannot work are refused with what to run instead."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg
import pytest

from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import free_port, wait_until
from ingest.service import IngestService
from settings import Settings
from tests.gateways import gb26875_wire as wire

ROOT = Path(__file__).resolve().parents[2]
CONFIRM = 3
COMPONENTS = 300
AT = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _labels_of_now() -> None:
    """Packets are labelled 30 s before their test runs, not before the module was collected:
    in a long session the server's 60 s clock check would answer a clock synchronisation."""
    global AT  # noqa: PLW0603 - read by the packet builders of this module
    AT = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)


def _env(settings: Settings, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "FIREWATCH_DATABASE_URL": settings.database_url,
        "FIREWATCH_MQTT_URL": settings.mqtt_url,
        "FIREWATCH_SITE": settings.site,
        "FIREWATCH_GB26875_HOST": "127.0.0.1",
        "FIREWATCH_GB26875_METRICS_PORT": "0",
        "FIREWATCH_GB26875_FRAMES_PER_S": "10000",
        "FIREWATCH_LOG_FORMAT": "text",
        **more,
    }


@contextmanager
def _gateway(settings: Settings, port: int) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "firewatch", "gateway", "gb26875"],
        cwd=ROOT,
        env=_env(settings, FIREWATCH_GB26875_PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _connects(port), timeout=30, what="the gateway process to listen")
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(15)


def _connects(port: int) -> bool:
    try:
        wire.Client(port, timeout=1).close()
    except OSError:
        return False
    return True


def _register(db: psycopg.Connection[Any], site: str, transmitter: str) -> None:
    spec = KIND_SPECS[Kind.PANEL]
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO devices (id, kind, site, heartbeat_s, building, config)"
            " VALUES (%s, 'panel', %s, %s, 'B-001', %s::jsonb)",
            [
                (
                    f"{site}-C{n}",
                    site,
                    spec.heartbeat_s,
                    orjson.dumps(
                        {"gb26875": {"transmitter": transmitter, "system": 1, "component": n}}
                    ).decode(),
                )
                for n in range(COMPONENTS)
            ],
        )


def _packet(transmitter: str, n: int) -> bytes:
    """Component n (zone n, position 0) in fire alarm, under serial n."""
    obj = wire.component(system=1, zone=n, position=0, state=0x0003, at=AT)
    return wire.frame(
        serial=n, command=2, source=wire.address(transmitter), adu=wire.unit(2, obj), at=AT
    )


def _alarms(db: psycopg.Connection[Any], site: str) -> dict[str, int]:
    rows = db.execute(
        "SELECT device_id, count(*) FROM events WHERE device_id LIKE %s AND type = 'alarm'"
        " GROUP BY device_id",
        (f"{site}-C%",),
    ).fetchall()
    return {r[0]: int(r[1]) for r in rows}


@pytest.fixture(autouse=True)
def _no_open_alerts_left(db: psycopg.Connection[Any], settings: Settings) -> Iterator[None]:
    """Ingest's warm-up cannot yet take an open panel alert (alerts/engine.py remember_open;
    reported to the lead): leave none behind for the next test's ingest."""
    yield
    db.execute(
        "UPDATE alerts SET state = 'resolved', resolved_at = now(), cause = 'test'"
        " WHERE site = %s AND state <> 'resolved'",
        (settings.site,),
    )


def test_kill_9_loses_no_confirmed_packet(
    ingest: IngestService, settings: Settings, db: psycopg.Connection[Any]
) -> None:
    transmitter = secrets.token_hex(6)
    _register(db, settings.site, transmitter)
    port = free_port()
    confirmed: set[int] = set()
    with _gateway(settings, port) as proc:
        client = wire.Client(port)

        def send() -> None:  # ten packets at a time, as a device's queue drains
            try:
                for first in range(0, COMPONENTS, 10):
                    client.send(b"".join(_packet(transmitter, n) for n in range(first, first + 10)))
                    time.sleep(0.05)
            except OSError:
                return  # the gateway is gone

        threading.Thread(target=send, daemon=True).start()

        def read() -> None:
            try:
                while True:
                    answer = client.answer(timeout=20)
                    if answer.command == CONFIRM:
                        confirmed.add(answer.serial)
            except (TimeoutError, ConnectionError, OSError):
                return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_until(lambda: len(confirmed) >= 20, timeout=30, what="the first confirms")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        reader.join(30)
        client.close()
    assert 20 <= len(confirmed) < COMPONENTS, "killed before the stream ended"
    # Every confirmed packet was committed before its confirm: no waiting.
    stored = _alarms(db, settings.site)
    missing = [n for n in confirmed if f"{settings.site}-C{n}" not in stored]
    assert missing == []
    # The device sends what was not confirmed to the gateway started again; all stored once.
    with _gateway(settings, port):
        client = wire.Client(port)
        unconfirmed = [n for n in range(COMPONENTS) if n not in confirmed]
        client.send(b"".join(_packet(transmitter, n) for n in unconfirmed))
        answers = {client.answer(timeout=30).serial for _ in unconfirmed}
        assert answers == set(unconfirmed)
        client.close()
    stored = _alarms(db, settings.site)
    assert len(stored) == COMPONENTS and set(stored.values()) == {1}


def _firewatch(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "firewatch", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_settings_that_cannot_work_say_what_to_run(settings: Settings) -> None:
    alone = _firewatch("gateway", "gb26875", env=_env(settings, FIREWATCH_GB26875_PORT="0"))
    assert alone.returncode != 0 and "set FIREWATCH_GB26875_PORT" in alone.stderr
    partitioned = _firewatch(
        "ingest",
        env=_env(
            settings,
            FIREWATCH_GB26875_PORT=str(free_port()),
            FIREWATCH_INGEST_WORKERS="2",
            FIREWATCH_INGEST_METRICS_PORT="0",
        ),
    )
    assert partitioned.returncode != 0
    assert "run the server alone with 'firewatch gateway gb26875'" in partitioned.stderr
    assert "Traceback" not in partitioned.stderr


def test_firewatch_ingest_runs_the_server_in_its_process(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    transmitter = secrets.token_hex(6)
    _register(db, settings.site, transmitter)
    port, metrics_port = free_port(), free_port()
    env = _env(
        settings,
        FIREWATCH_GB26875_PORT=str(port),
        FIREWATCH_INGEST_METRICS_PORT=str(metrics_port),
        FIREWATCH_INGEST_CLIENT_ID=f"ingest-{settings.site}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "firewatch", "ingest"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _connects(port), timeout=30, what="ingest's GB/T 26875.3 server")
        client = wire.Client(port)
        client.send(_packet(transmitter, 7))
        assert client.answer(timeout=20).command == CONFIRM
        assert _alarms(db, settings.site) == {f"{settings.site}-C7": 1}
        client.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics") as page:
            metrics = page.read().decode()
        assert "firewatch_gb26875_frames_confirmed_total 1.0" in metrics
    finally:
        proc.terminate()
        proc.wait(15)


def test_firewatch_up_runs_the_server_beside_the_api(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    transmitter = secrets.token_hex(6)
    _register(db, settings.site, transmitter)
    port, api_port = free_port(), free_port()
    env = _env(
        settings,
        FIREWATCH_GB26875_PORT=str(port),
        FIREWATCH_API_PORT=str(api_port),
        FIREWATCH_INGEST_CLIENT_ID=f"up-{settings.site}",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "firewatch", "up"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: _connects(port), timeout=30, what="up's GB/T 26875.3 server")
        client = wire.Client(port)
        client.send(_packet(transmitter, 3))
        assert client.answer(timeout=20).command == CONFIRM
        assert _alarms(db, settings.site) == {f"{settings.site}-C3": 1}
        client.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{api_port}/metrics") as page:
            assert "firewatch_gb26875_frames_confirmed_total 1.0" in page.read().decode()
    finally:
        proc.terminate()
        assert proc.wait(timeout=20) == 0
