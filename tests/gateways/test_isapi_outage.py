"""The database away while a camera posts: the camera is told to send again (503 with
Retry-After) within the commit timeout, never a 500; once the database is back, its repeat is
committed and stored once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import httpx2
import psycopg

from api.app import create_app
from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import serving, wait_until
from ingest.service import IngestService
from registry.credentials import mosquitto_hash
from settings import Settings
from tests.faults.private_postgres import private_cluster
from tests.gateways.isapi_helpers import DEVICE_PASSWORD, URL_PATH, tma_xml


def test_database_away_is_a_503_then_the_repeat_is_stored_once(broker_url: str, site: str) -> None:
    camera = f"{site}-CAM"
    at = datetime.now(UTC).replace(microsecond=0)
    with private_cluster() as (cluster, url):
        local = Settings(
            database_url=url,
            mqtt_url=broker_url,
            site=site,
            ingest_client_id=f"ingest-{site}",
            gateway_commit_timeout_s=2.0,
        )
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                "INSERT INTO devices (id, kind, site, heartbeat_s) VALUES (%s, %s, %s, %s)",
                (
                    camera,
                    Kind.THERMAL_CAMERA.value,
                    site,
                    KIND_SPECS[Kind.THERMAL_CAMERA].heartbeat_s,
                ),
            )
            conn.execute(
                "INSERT INTO device_credentials (device_id, password_hash) VALUES (%s, %s)",
                (camera, mosquitto_hash(DEVICE_PASSWORD)),
            )
        service = IngestService(local)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: service.ready, timeout=15, what="ingest")
            with serving(create_app(local)) as base:

                def post() -> httpx2.Response:
                    return httpx2.post(
                        base + URL_PATH,
                        content=tma_xml(at, 64.0),
                        headers={"content-type": "application/xml"},
                        auth=httpx2.BasicAuth(camera, DEVICE_PASSWORD),
                        timeout=30,
                    )

                assert post().status_code == 200
                cluster.stop()
                away = post()
                assert away.status_code == 503, away.text
                assert away.headers["retry-after"] == "5"
                cluster.start()
                wait_until(lambda: post().status_code == 200, timeout=30, what="a 200 again")
            with psycopg.connect(url) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM readings WHERE device_id = %s", (camera,)
                ).fetchone()
            assert row == (1,)
        finally:
            stop.set()
            thread.join(timeout=20)
