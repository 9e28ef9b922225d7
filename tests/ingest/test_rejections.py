"""Every rejection reason, through the broker: stored with its reason, nothing else disturbed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import psycopg
import pytest

from contract.frames import encode_frame
from contract.kinds import Kind
from contract.messages import Reason
from contract.topics import Channel, topic_for
from ingest.service import IngestService
from settings import Settings
from simulators.devices import SimDevice, epoch_ms
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import scalar, wait_received


def _reading(ts: datetime, **values: float) -> bytes:
    return orjson.dumps({"ts": epoch_ms(ts), "seq": 1, "values": values})


def _bad_message(reason: str, site: str, device: str, other_site_device: str) -> tuple[str, bytes]:
    now = datetime.now(UTC)
    reading = topic_for(site, device, Channel.READING)
    cases: dict[str, tuple[str, bytes]] = {
        "bad_topic": (f"fw/v1/{site}/{device}/telemetry", _reading(now, temperature_c=20)),
        "unknown_device": (
            topic_for(site, "NOT-REGISTERED", Channel.READING),
            _reading(now, temperature_c=20),
        ),
        "malformed": (reading, b'{"ts": 1, "seq": '),
        "schema": (reading, orjson.dumps({"ts": epoch_ms(now), "values": {"temperature_c": 1}})),
        "out_of_range": (reading, _reading(now, temperature_c=1500)),
        "future_timestamp": (reading, _reading(now + timedelta(minutes=10), temperature_c=20)),
        "stale": (reading, _reading(now - timedelta(days=8), temperature_c=20)),
        "oversize": (reading, b"{" + b" " * (256 * 1024) + b"}"),
        "kind_mismatch": (reading, _reading(now, residual_current_ma=120)),
    }
    if reason == "unknown_device_other_site":
        return topic_for(site, other_site_device, Channel.READING), _reading(now, temperature_c=20)
    if reason == "oversize_frame":
        big = encode_frame(np.zeros((800, 800)), ts=epoch_ms(now), seq=1)
        return topic_for(site, device, Channel.FRAME), big
    return cases[reason]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("bad_topic", "bad_topic"),
        ("unknown_device", "unknown_device"),
        ("unknown_device_other_site", "unknown_device"),
        ("malformed", "malformed"),
        ("schema", "schema"),
        ("out_of_range", "out_of_range"),
        ("future_timestamp", "future_timestamp"),
        ("stale", "stale"),
        ("oversize", "oversize"),
        ("oversize_frame", "oversize"),
        ("kind_mismatch", "kind_mismatch"),
    ],
)
def test_rejection_is_stored_with_reason_and_loses_nothing_else(
    case: str,
    reason: str,
    settings: Settings,
    registry: Registry,
    ingest: IngestService,
    db: psycopg.Connection[Any],
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    elsewhere = registry.add(f"{site}-X", Kind.SMOKE, site="elsewhere")
    topic, payload = _bad_message(case, site, smoke.id, elsewhere)
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        pub.publish(*smoke.reading(datetime.now(UTC)))
        pub.publish(topic, payload)
        pub.publish(*smoke.event(datetime.now(UTC), "alarm"))
    wait_received(ingest, 3)

    rows = db.execute(
        "SELECT reason, detail, payload_size, length(payload) FROM dead_letters WHERE topic = %s",
        (topic[:512],),
    ).fetchall()
    assert len(rows) == 1, rows
    got_reason, detail, size, kept = rows[0]
    assert got_reason == reason, detail
    assert detail  # a reason a technician can act on
    assert size == len(payload) and kept == min(len(payload), 4096)
    assert ingest.counters.rejected[Reason(reason)] == 1
    assert ingest.counters.stored == 2  # the good messages either side are stored
    assert scalar(db, "SELECT count(*) FROM alerts WHERE device_id = %s", smoke.id) == 1


def test_a_flood_of_garbage_does_not_stop_ingest(
    settings: Settings, registry: Registry, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    site = settings.site
    smoke = SimDevice(registry.add(f"{site}-SD", Kind.SMOKE), Kind.SMOKE, site)
    garbage = [bytes([n % 256]) * (n % 50) for n in range(500)]
    with Publisher(settings.mqtt, client_id=f"pub-{site}") as pub:
        for n, payload in enumerate(garbage):
            pub.publish(topic_for(site, smoke.id, list(Channel)[n % 4]), payload)
        pub.publish(*smoke.event(datetime.now(UTC), "alarm"))
    wait_received(ingest, 501)
    assert ingest.counters.stored == 1
    assert sum(ingest.counters.rejected.values()) == 500
    assert (
        scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", f"fw/v1/{site}/%")
        == 500
    )
    assert scalar(db, "SELECT class FROM alerts WHERE device_id = %s", smoke.id) == "fire"
