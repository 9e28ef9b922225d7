"""A mapped message's contract identity: the same bytes again are one message; two different
messages of one device at the same moment are two, whatever their times say."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

import orjson

from gateways.mapped_mqtt import DeviceMap, translate
from ingest.pipeline import Inbound
from store.device_models import MappedDevice, ModelRow

SITE = "s"
MODEL = ModelRow(
    name="z2m-smoke",
    kind="smoke",
    topic="z2m/{device}",
    mapping={
        "metrics": [{"path": "battery", "metric": "battery_pct"}],
        "events": [
            {"path": "smoke", "equals": True, "event": "alarm"},
            {"path": "smoke", "equals": False, "event": "alarm_cleared"},
        ],
    },
)
DEVICES = DeviceMap(
    [MODEL], [MappedDevice("SD-1", "smoke", SITE, {"model": "z2m-smoke", "topic": "kitchen"})]
)
AT = datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # one millisecond for both: a backlog's burst


def _identities(payload: Mapping[str, object]) -> set[tuple[str, int, object]]:
    item = Inbound("z2m/kitchen", orjson.dumps(payload), AT)
    translated = translate(item, DEVICES, site=SITE, max_bytes=1 << 16)
    assert translated.items, translated
    out = set()
    for made in translated.items:
        body = orjson.loads(made.payload)
        out.add((made.topic.rsplit("/", 1)[1], body["seq"], body["ts"]))
    return out


def test_a_clear_and_an_alarm_in_one_millisecond_are_two_messages() -> None:
    cleared = _identities({"smoke": False, "battery": 90})
    alarm = _identities({"smoke": True, "battery": 90})
    assert cleared.isdisjoint(alarm)  # neither is taken for the other's duplicate


def test_the_same_bytes_again_are_the_same_messages() -> None:
    message = {"smoke": True, "battery": 90}
    assert _identities(message) == _identities(dict(message))
