"""The device lifecycle through the running ingest service: a decommissioned device is refused,
a commissioning device's alarm reaches the technician but never the operators, and the
service's own timer ends maintenance."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from contract.kinds import Kind
from firewatch.testing import wait_until
from ingest.registry import POLL_S
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice
from simulators.publisher import Publisher
from tests.api.registry_helpers import Api
from tests.ingest.helpers import scalar, wait_received


@pytest.fixture()
def api(settings: Settings, database_url: str, site: str) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, database_url, site)


def _publish(settings: Settings, *messages: tuple[str, bytes]) -> None:
    with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
        for topic, payload in messages:
            pub.publish(topic, payload)


def test_a_decommissioned_devices_messages_are_dead_lettered(
    settings: Settings, api: Api, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1")
    assert api.as_("technician").delete(f"/api/v1/devices/{device['id']}").status_code == 200
    detector = SimDevice(device["id"], Kind.SMOKE, settings.site)
    _publish(settings, detector.reading(datetime.now(UTC)))
    wait_received(ingest, 1)
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM dead_letters WHERE device_id = %s", device["id"]),
        timeout=10,
        what="the dead letter",
    )
    row = db.execute(
        "SELECT reason, detail FROM dead_letters WHERE device_id = %s", (device["id"],)
    ).fetchone()
    assert row is not None and row[0] == "unknown_device" and "decommissioned" in row[1]
    assert scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device["id"]) == 0
    pending = api.as_("technician").get("/api/v1/devices/pending").json()["items"]
    assert device["id"] not in {p["device_id"] for p in pending}


def test_a_commissioning_devices_alarm_is_for_the_technician_not_the_operators(
    settings: Settings, api: Api, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    device = api.device("SD1", status="commissioning")
    detector = SimDevice(device["id"], Kind.SMOKE, settings.site)
    _publish(settings, detector.event(datetime.now(UTC), "alarm"))
    wait_received(ingest, 1)
    wait_until(
        lambda: scalar(db, "SELECT count(*) FROM alerts WHERE device_id = %s", device["id"]),
        timeout=10,
        what="the alert",
    )
    technician = api.as_("technician").get(f"/api/v1/devices/{device['id']}/alerts").json()
    assert [(a["state"], a["suppressed_reason"]) for a in technician] == [
        ("suppressed", "commissioning")
    ]
    overview = api.as_("operator").get("/api/v1/overview", params={"site": settings.site}).json()
    assert overview["open_alerts"]["total"] == 0


def test_the_running_service_ends_maintenance_and_follows_the_change(
    settings: Settings, api: Api, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    """Maintenance begun in commissioning returns there, by the service's one-second tick; its
    registry copy sees the change within its two-second poll."""
    device = api.device("SD1", status="commissioning")
    db.execute(
        "UPDATE devices SET status = 'maintenance', resume_status = 'commissioning',"
        " status_reason = 'test', maintenance_until = now() + interval '1 second' WHERE id = %s",
        (device["id"],),
    )
    assert ingest.registry.resolve([device["id"]])[device["id"]].status in (
        "maintenance",
        "commissioning",
    )
    wait_until(
        lambda: (
            scalar(db, "SELECT status FROM devices WHERE id = %s", device["id"]) == "commissioning"
        ),
        timeout=10,
        what="ingest's tick to end maintenance",
    )
    last = api.as_("viewer").get(f"/api/v1/devices/{device['id']}/audit").json()[0]
    assert last["actor"] == "system" and last["detail"]["to"] == "commissioning"
    wait_until(
        lambda: ingest.registry.resolve([device["id"]])[device["id"]].status == "commissioning",
        timeout=POLL_S + 2,
        what="ingest's registry copy to follow",
    )
