"""The committer and the service built from its parts, through the real broker and database:
a message the database refuses is isolated by halving and dead-lettered alone, and the parts
given are the parts used."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest

from contract.kinds import Kind
from contract.topics import Channel, topic_for
from firewatch.testing import wait_until
from ingest.parts import IngestParts
from ingest.pipeline import Inbound
from ingest.service import IngestService
from settings import Settings
from simulators.devices import epoch_ms
from simulators.publisher import Publisher
from tests.conftest import Registry
from tests.ingest.helpers import running, scalar

MESSAGES = 16
POISON_SEQ = 11


def _reading(seq: int) -> bytes:
    return orjson.dumps(
        {"ts": epoch_ms(datetime.now(UTC)), "seq": seq, "values": {"temperature_c": 21.0}}
    )


def _refuse_poison(batch: Sequence[Inbound]) -> None:
    """Inside the batch's transaction, as a constraint would: a content error (ValueError)
    for any batch holding the poisoned message."""
    if any(orjson.loads(item.payload)["seq"] == POISON_SEQ for item in batch):
        raise ValueError("poisoned message")


def test_halving_dead_letters_the_one_message_the_database_refuses(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any]
) -> None:
    device = registry.add(f"{settings.site}-SD", Kind.SMOKE)
    topic = topic_for(settings.site, device, Channel.READING)
    parts = IngestParts.from_settings(settings, before_commit=_refuse_poison)
    with running(settings, parts=parts) as ingest:
        with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
            for seq in range(1, MESSAGES + 1):
                pub.publish(topic, _reading(seq))
        wait_until(
            lambda: ingest.counters.received >= MESSAGES,
            timeout=15,
            what="every message committed or dead-lettered",
        )
    stored = db.execute(
        "SELECT array_agg(seq ORDER BY seq) FROM readings WHERE device_id = %s", (device,)
    ).fetchone()
    assert stored == ([s for s in range(1, MESSAGES + 1) if s != POISON_SEQ],)
    dead = db.execute(
        "SELECT reason, detail, payload FROM dead_letters WHERE topic = %s", (topic,)
    ).fetchone()
    assert dead is not None
    assert dead[:2] == ("schema", "refused by the database: poisoned message")
    assert orjson.loads(dead[2])["seq"] == POISON_SEQ
    assert scalar(db, "SELECT count(*) FROM dead_letters WHERE topic = %s", topic) == 1
    assert ingest.counters.stored == MESSAGES - 1


def test_the_service_uses_the_parts_it_is_given(settings: Settings, registry: Registry) -> None:
    device = registry.add(f"{settings.site}-SD2", Kind.SMOKE)
    parts = IngestParts.from_settings(settings)
    with running(settings, parts=parts) as ingest:
        assert ingest.engine is parts.engine and ingest.source is parts.source
        # The warm-up configured the engine it was given with the registry it was given.
        wait_until(lambda: device in parts.engine.devices, timeout=10, what="the warm-up")
        assert device in parts.registry.resolve([device])


def test_before_commit_goes_with_the_parts(settings: Settings) -> None:
    with pytest.raises(TypeError, match="before_commit"):
        IngestService(
            settings, before_commit=_refuse_poison, parts=IngestParts.from_settings(settings)
        )
