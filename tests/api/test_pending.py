"""Unknown devices: summarised as ingest dead-letters them, registered in one call, and from
then on accepted by the running ingest within its two-second registry poll."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import psycopg

from contract.topics import Channel, topic_for
from firewatch.testing import wait_until
from ingest.service import IngestService
from settings import Settings
from simulators.devices import epoch_ms
from simulators.publisher import Publisher
from store.dead_letters import insert_dead_letters
from tests.api.registry_helpers import Api
from tests.ingest.helpers import scalar, wait_received


def _dead(site: str, device_id: str, n: int, reason: str = "unknown_device") -> tuple[Any, ...]:
    received = datetime(2026, 3, 1, 12, tzinfo=UTC) + timedelta(seconds=n)
    payload = orjson.dumps({"ts": epoch_ms(received), "seq": n, "values": {"temperature_c": n}})
    return (
        received,
        topic_for(site, device_id, Channel.READING),
        device_id,
        reason,
        "x",
        payload,
        len(payload),
    )


def _mine(api: Api) -> dict[str, dict[str, Any]]:
    page = api.as_("viewer").get("/api/v1/devices/pending", params={"limit": 1000}).json()
    return {p["device_id"]: p for p in page["items"] if p["site"] == api.site}


def test_a_flood_from_one_id_is_one_row_with_its_count_and_last_message(
    api: Api, db: psycopg.Connection[Any]
) -> None:
    rogue, other = f"{api.site}-ROGUE", f"{api.site}-OTHER"
    known = api.device("SD1")
    for batch in range(3):  # as ingest writes them: one COPY per batch
        with db.transaction():
            insert_dead_letters(
                db,
                [_dead(api.site, rogue, batch * 100 + n) for n in range(100)]
                + [
                    _dead(api.site, other, batch),
                    _dead(api.site, "X", 1, "malformed"),
                    _dead(api.site, known["id"], 1),
                ],
            )
    pending = _mine(api)
    assert set(pending) == {rogue, other}
    flood = pending[rogue]
    assert flood["count"] == 300
    assert flood["first_seen"] == "2026-03-01T12:00:00Z"
    assert flood["last_topic"] == topic_for(api.site, rogue, Channel.READING)
    assert orjson.loads(flood["last_payload"])["seq"] == 299
    assert flood["last_size"] == len(flood["last_payload"])
    assert scalar(db, "SELECT count(*) FROM pending_devices WHERE device_id = %s", rogue) == 1


def test_registering_a_pending_device_is_one_call(api: Api, db: psycopg.Connection[Any]) -> None:
    device_id = f"{api.site}-NEW1"
    insert_dead_letters(db, [_dead(api.site, device_id, 1)])
    building = api.building()
    tech = api.as_("technician")
    url = f"/api/v1/devices/pending/{device_id}/register"
    assert tech.post(url, json={"kind": "toaster"}).status_code == 422
    assert tech.post(url, json={"kind": "smoke", "building": "nowhere"}).status_code == 422
    assert api.as_("viewer").post(url, json={"kind": "smoke"}).status_code == 403
    response = tech.post(url, json={"kind": "smoke", "building": building, "floor": 2})
    assert response.status_code == 201, response.text
    device = response.json()
    assert (device["id"], device["site"], device["status"]) == (
        device_id,
        api.site,
        "commissioning",
    )
    assert device["mqtt_password"]
    assert device_id not in _mine(api)
    assert tech.post(url, json={"kind": "smoke"}).status_code == 404
    audit = tech.get(f"/api/v1/devices/{device_id}/audit").json()
    assert audit[0]["detail"] == {"status": "commissioning", "from_pending": 1}


def test_a_pending_id_can_be_dismissed(api: Api, db: psycopg.Connection[Any]) -> None:
    device_id = f"{api.site}-NEIGHBOUR"
    insert_dead_letters(db, [_dead(api.site, device_id, 1)])
    tech = api.as_("technician")
    assert api.as_("operator").delete(f"/api/v1/devices/pending/{device_id}").status_code == 403
    assert tech.delete(f"/api/v1/devices/pending/{device_id}").status_code == 204
    assert device_id not in _mine(api)
    assert tech.delete(f"/api/v1/devices/pending/{device_id}").status_code == 404
    assert api.client.get("/api/v1/devices/pending").status_code == 401


def test_through_the_broker_an_unknown_device_becomes_pending_then_accepted(
    api: Api, ingest: IngestService, settings: Settings, db: psycopg.Connection[Any]
) -> None:
    device_id = f"{api.site}-LIVE"
    topic = topic_for(api.site, device_id, Channel.READING)

    def reading(seq: int) -> bytes:
        return orjson.dumps(
            {"ts": epoch_ms(datetime.now(UTC)), "seq": seq, "values": {"temperature_c": 21.5}}
        )

    with Publisher(settings.mqtt, client_id=f"pub-{api.site}") as pub:
        pub.publish(topic, reading(1))
        pub.publish(topic, reading(2))
    wait_received(ingest, 2)
    pending = _mine(api)[device_id]
    assert pending["count"] == 2 and pending["site"] == api.site
    register = api.as_("technician").post(
        f"/api/v1/devices/pending/{device_id}/register", json={"kind": "smoke"}
    )
    assert register.status_code == 201
    registered_at = datetime.now(UTC)

    def stored() -> bool:
        with Publisher(settings.mqtt, client_id=f"pub2-{api.site}") as pub:
            pub.publish(topic, reading(int(datetime.now(UTC).timestamp() * 1000)))
        return bool(scalar(db, "SELECT count(*) FROM readings WHERE device_id = %s", device_id))

    wait_until(stored, timeout=10, what="ingest to accept the newly registered device")
    assert (datetime.now(UTC) - registered_at).total_seconds() < 8
