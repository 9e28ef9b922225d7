"""Hypothesis against mapped MQTT: whatever a device publishes on its model's topic, ingest
translates or refuses it with a reason, acknowledges it after its commit, and carries on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.kinds import Kind
from contract.messages import Reason
from gateways.mapped_mqtt import DeviceMap, MappedMqttSource, translate
from ingest.pipeline import Inbound
from settings import Settings
from simulators.publisher import Publisher
from store.device_models import MappedDevice, ModelRow
from tests.gateways.test_mapped_mqtt import add_device, mapped_ingest, models, wait_committed

__all__ = ["models"]  # the fixture, used here

# orjson writes integers of 64 bits; a bigger one comes as text, like any device's bytes.
INTEGERS = st.integers(-(2**63), 2**64 - 1)
JSON = st.recursive(
    st.none() | st.booleans() | INTEGERS | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=25,
)
SMOKE_KEYS = st.dictionaries(st.sampled_from(["smoke", "battery", "tamper", "x"]), JSON)
PAYLOADS = (
    st.binary(max_size=200)
    | JSON.map(orjson.dumps)
    | st.from_regex(r"\{\"smoke\": true, \"battery\": -?[0-9]{1,400}(\.[0-9]+)?(e[0-9]+)?\}").map(
        str.encode
    )
    | SMOKE_KEYS.map(orjson.dumps)
    | st.builds(
        lambda smoke, battery, tamper: orjson.dumps(
            {"smoke": smoke, "battery": battery, "tamper": tamper}
        ),
        JSON,
        INTEGERS | st.floats(),
        JSON,
    )
)

SMOKE_ROW = ModelRow(
    "fuzz-smoke",
    "smoke",
    "z/{device}",
    {
        "metrics": [{"path": "battery", "metric": "battery_pct"}],
        "events": [
            {"path": "smoke", "equals": True, "event": "alarm"},
            {"path": "tamper", "equals": True, "event": "tamper", "optional": True},
        ],
    },
)
DEVICES = DeviceMap([SMOKE_ROW], [MappedDevice("SD-1", "smoke", "s1", {"model": "fuzz-smoke"})])


@settings(max_examples=500, deadline=None)
@given(
    topic=st.sampled_from(["z/SD-1", "z/other", "z", "y/SD-1"]) | st.text(max_size=40),
    payload=PAYLOADS,
)
def test_translation_never_raises(topic: str, payload: bytes) -> None:
    item = Inbound(topic, payload, datetime.now(UTC), token=None)
    translated = translate(item, DEVICES, site="s1", max_bytes=1024)
    assert translated.items
    if translated.refused is not None:
        (refusal,) = translated.items
        assert refusal.rejection is not None and refusal.rejection.detail
        assert refusal.topic.startswith("gw/mqtt/s1/")
    else:
        assert all(i.topic.startswith("fw/v1/s1/SD-1/") for i in translated.items)
        assert translated.refused is None or isinstance(translated.refused, Reason)


@pytest.fixture()
def running(
    settings: Settings, models: dict[str, str], db: psycopg.Connection[Any], site: str
) -> Iterator[tuple[MappedMqttSource, Publisher, str]]:
    fast = settings.model_copy(update={"mapped_mqtt": True, "mapped_mqtt_refresh_s": 0.2})
    device = add_device(db, site, f"{site}-SDf", Kind.SMOKE, {"model": models["z2m"]})
    with (
        mapped_ingest(fast) as (_, mapped),
        Publisher(settings.mqtt, client_id=f"pub-{site}") as publisher,
    ):
        yield mapped, publisher, f"z2m-{site}/{device}"


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(payload=PAYLOADS)
def test_ingest_takes_any_payload_and_carries_on(
    running: tuple[MappedMqttSource, Publisher, str], payload: bytes
) -> None:
    mapped, publisher, topic = running
    before = mapped.counters.committed
    publisher.publish(topic, payload)
    wait_committed(mapped, before + 1)
    assert mapped.counters.received == mapped.counters.committed
