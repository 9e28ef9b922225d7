"""The NB-IoT platform simulator against the api over real HTTP into a real ingest: its signed
pushes are taken, and it sends again until the push is committed."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest

from api.app import create_app
from contract.kinds import KIND_SPECS
from firewatch.testing import serving
from ingest.service import IngestService
from settings import Settings
from simulators.nbiot_platform import (
    Ctwing,
    NbDevice,
    OneNet,
    Poster,
    fleet,
    registry_config,
    run,
)
from tests.gateways.push_helpers import (
    CTWING_SECRET,
    ONENET_AES_KEY,
    ONENET_TOKEN,
    base_url,
    count,
    push_settings,
)

__all__ = ["base_url"]  # a fixture


def _register(db: psycopg.Connection[Any], site: str, devices: list[NbDevice]) -> None:
    for device in devices:
        db.execute(
            "INSERT INTO devices (id, kind, site, heartbeat_s, config) VALUES (%s, %s, %s, %s, %s)",
            (
                device.device_id,
                device.kind.value,
                site,
                KIND_SPECS[device.kind].heartbeat_s,
                orjson.dumps(registry_config(device)).decode(),
            ),
        )


@pytest.fixture()
def devices(db: psycopg.Connection[Any], site: str) -> Iterator[list[NbDevice]]:
    seed = int(time.time() * 1000) % 100_000
    made = fleet(4, seed=seed)
    _register(db, site, made)
    yield made


def test_the_simulated_platforms_pushes_are_stored(
    base_url: str, ingest: IngestService, devices: list[NbDevice], db: psycopg.Connection[Any]
) -> None:
    poster = Poster()
    ended = run(
        devices,
        onenet=OneNet(base_url, token=ONENET_TOKEN, aes_key=ONENET_AES_KEY, poster=poster),
        ctwing=Ctwing(base_url, secret=CTWING_SECRET, poster=poster),
        reports=2,
        seed=1,
        alarm_every=2,
    )
    assert ended == {200: 8}
    assert {d.platform for d in devices} == {"onenet", "ctwing"}
    for device in devices:
        alarms = count(
            db,
            "SELECT count(*) FROM events WHERE device_id = %s AND type = 'alarm'",
            device.device_id,
        )
        assert alarms == 1, device
        readings = count(db, "SELECT count(*) FROM readings WHERE device_id = %s", device.device_id)
        assert readings == (0 if device.kind.value == "smoke" else 4), device


def test_the_simulator_sends_again_until_the_push_is_committed(
    settings: Settings, devices: list[NbDevice], db: psycopg.Connection[Any]
) -> None:
    onenet_device = next(d for d in devices if d.platform == "onenet")
    app = create_app(push_settings(settings, gateway_commit_timeout_s=0.3))
    stop = threading.Event()
    service = IngestService(settings)
    late = threading.Timer(1.5, lambda: service.run(stop))
    with serving(app) as url:
        late.start()
        try:
            poster = Poster()
            ended = run(
                [onenet_device],
                onenet=OneNet(url, token=ONENET_TOKEN, poster=poster),
                ctwing=None,
                reports=1,
                seed=2,
            )
            assert ended == {200: 1}
            assert poster.retried >= 1
            heard = "SELECT count(*) FROM heartbeats WHERE device_id = %s"
            assert count(db, heard, onenet_device.device_id) == 2  # battery, and online
        finally:
            stop.set()
            late.join(timeout=15)
