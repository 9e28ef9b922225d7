"""Device models for mapped MQTT, pure: the path syntax, what a model may say, and what a
device's own JSON becomes under its model."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract.json_paths import MISSING, PathError, parse_path, resolve
from contract.kinds import Kind
from contract.mapping import MappingError, ModelError, extract, parse_model, same
from contract.messages import NO_MOMENT, Reason

Z2M_SMOKE: dict[str, Any] = {
    "name": "zigbee2mqtt-smoke",
    "kind": "smoke",
    "topic": "zigbee2mqtt/{device}",
    "metrics": [{"path": "battery", "metric": "battery_pct"}],
    "events": [
        {"path": "smoke", "equals": True, "event": "alarm"},
        {"path": "smoke", "equals": False, "event": "alarm_cleared"},
        {"path": "tamper", "equals": True, "event": "tamper"},
    ],
}
TASMOTA: dict[str, Any] = {
    "name": "tasmota-energy",
    "kind": "electrical",
    "topic": "tele/{device}/SENSOR",
    "time": {"path": "Time", "zone": "Asia/Shanghai"},
    "metrics": [
        {"path": "ENERGY.Voltage", "metric": "voltage_v"},
        {"path": "ENERGY.Current", "metric": "current_a"},
        # A DS18B20 on the cable, in °F (Tasmota's SetOption8 1): (F - 32) * 5/9.
        {
            "path": "DS18B20.Temperature",
            "metric": "cable_temp_c",
            "scale": 5 / 9,
            "offset": -160 / 9,
            "optional": True,
        },
    ],
}


def test_paths_reach_objects_and_lists() -> None:
    doc = {"ENERGY": {"Power": 12}, "list": [{"v": 1}, {"v": 2}], "0": "key"}
    assert resolve(doc, parse_path("ENERGY.Power")) == 12
    assert resolve(doc, parse_path("list.1.v")) == 2
    assert resolve(doc, parse_path("0")) == "key"  # digits are a key in an object
    for missing in ("ENERGY.Voltage", "list.2.v", "list.x", "ENERGY.Power.deeper", "nope"):
        assert resolve(doc, parse_path(missing)) is MISSING


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "one or more keys"),
        ("a..b", "key 2 is empty"),
        (".a", "key 1 is empty"),
        ("a.b.c.d.e.f.g.h.i", "9 keys"),
        ("a\x00b", "cannot be printed"),
        ("x" * 65, "longer than 64"),
    ],
)
def test_bad_paths_say_why(path: str, message: str) -> None:
    with pytest.raises(PathError, match=message):
        parse_path(path)


def test_the_worked_examples_parse() -> None:
    smoke = parse_model(Z2M_SMOKE)
    assert smoke.kind is Kind.SMOKE
    assert smoke.topic.subscription == "zigbee2mqtt/+"
    assert smoke.topic.name_in("zigbee2mqtt/kitchen smoke") == "kitchen smoke"
    assert smoke.topic.name_in("zigbee2mqtt/bridge/state") is None
    energy = parse_model(TASMOTA)
    assert energy.topic.subscription == "tele/+/SENSOR"
    assert energy.topic.topic_of("plug-12") == "tele/plug-12/SENSOR"
    assert energy.topic.name_in("tele/plug-12/STATE") is None


@pytest.mark.parametrize(
    ("change", "loc", "message"),
    [
        ({"name": "a b"}, ("name",), "A-Z"),
        ({"kind": "video_camera"}, ("kind",), "must be one of"),
        ({"topic": "zigbee2mqtt/+"}, ("topic",), "{device} once"),
        ({"topic": "a/{device}/{device}"}, ("topic",), "{device} once"),
        ({"topic": "zigbee2mqtt/x{device}"}, ("topic",), "{device} once"),
        ({"topic": "a/#/{device}"}, ("topic",), "holds"),
        ({"topic": "fw/v1/{device}"}, ("topic",), "contract's own prefix"),
        ({"topic": "{device}/v1/zilai/SD-1/event"}, ("topic",), "first level"),
        ({"topic": "$SYS/{device}"}, ("topic",), "must not start with"),
        ({"topic": "a//{device}"}, ("topic",), "level 2 is empty"),
        ({"metrics": [{"path": "x", "metric": "voltage_v"}]}, ("metrics", "0", "metric"), "smoke"),
        (
            {"metrics": [{"path": "a..b", "metric": "battery_pct"}]},
            ("metrics", "0", "path"),
            "key 2 is empty",
        ),
        (
            {"metrics": [{"path": "b", "metric": "battery_pct", "scale": 0}]},
            ("metrics", "0", "scale"),
            "not be 0",
        ),
        (
            {"metrics": [{"path": "b", "metric": "battery_pct", "offset": 1e9}]},
            ("metrics", "0", "offset"),
            "finite",
        ),
        (
            {"metrics": [{"path": "b", "metric": "frame_max_temp_c"}]},
            ("metrics", "0", "metric"),
            "smoke devices report",
        ),
        ({"events": [{"path": "smoke", "event": "alarm"}]}, ("events", "0", "equals"), "missing"),
        (
            {"events": [{"path": "s", "equals": True, "event": "fire_detected"}]},
            ("events", "0", "event"),
            "smoke devices send",
        ),
        (
            {"events": [{"path": "s", "equals": [1], "event": "alarm"}]},
            ("events", "0", "equals"),
            "true, false",
        ),
        ({"metrics": [], "events": []}, ("metrics",), "at least one"),
        ({"time": {"path": "t", "zone": "Mars/Olympus"}}, ("time", "zone"), "time zone"),
        ({"time": {"path": "t", "zone": "Asia"}}, ("time", "zone"), "time zone"),
        ({"time": {"path": "t", "unit": "h"}}, ("time", "unit"), "s or ms"),
        ({"time": {"path": "t", "extra": 1}}, ("time", "extra"), "unknown key"),
    ],
)
def test_models_are_refused_with_the_field_and_why(
    change: dict[str, Any], loc: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ModelError, match=message) as caught:
        parse_model({**Z2M_SMOKE, **change})
    assert caught.value.loc == loc


def test_a_zigbee2mqtt_smoke_message() -> None:
    said = extract(parse_model(Z2M_SMOKE), {"smoke": True, "battery": 90, "tamper": False})
    assert said.ts is None  # Zigbee2MQTT says no time: the arrival stands in
    assert said.readings == {} and said.status == {"battery_pct": 90.0}
    assert said.events == [("alarm", "smoke", True)]
    cleared = extract(parse_model(Z2M_SMOKE), {"smoke": False, "battery": 89, "tamper": True})
    assert [e for e, _, _ in cleared.events] == ["alarm_cleared", "tamper"]


def test_a_tasmota_message_in_local_time_and_fahrenheit() -> None:
    said = extract(
        parse_model(TASMOTA),
        {
            "Time": "2026-12-05T10:00:00",
            "ENERGY": {"Power": 1200, "Voltage": 229.8, "Current": 5.2},
            "DS18B20": {"Temperature": 86.0},
            "TempUnit": "F",
        },
    )
    assert said.ts == datetime(2026, 12, 5, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
    assert said.readings["voltage_v"] == 229.8 and said.readings["current_a"] == 5.2
    assert said.readings["cable_temp_c"] == pytest.approx(30.0)


@pytest.mark.parametrize(
    ("document", "reason", "message"),
    [
        ([1, 2], Reason.MALFORMED, "JSON object"),
        ({"smoke": True, "tamper": False}, Reason.SCHEMA, "'battery' \\(battery_pct\\) is missing"),
        ({"smoke": True, "battery": "90", "tamper": False}, Reason.SCHEMA, "a number, got '90'"),
        ({"smoke": True, "battery": True, "tamper": False}, Reason.SCHEMA, "got bool"),
        ({"battery": 90, "tamper": False}, Reason.SCHEMA, "'smoke' \\(alarm\\) is missing"),
        ({"smoke": True, "battery": 2**64, "tamper": False}, None, None),
    ],
)
def test_messages_that_do_not_fit_say_why(
    document: object, reason: Reason | None, message: str | None
) -> None:
    model = parse_model(Z2M_SMOKE)
    if reason is None:  # a huge number is a number: the contract's range check refuses it
        assert extract(model, document).status["battery_pct"] > 100
        return
    with pytest.raises(MappingError, match=message) as caught:
        extract(model, document)
    assert caught.value.reason is reason


@pytest.mark.parametrize(
    ("time", "message"),
    [
        ("yesterday", "not an ISO 8601"),
        (1.0e30, "epoch seconds"),
        (True, "got bool"),
    ],
)
def test_bad_times_say_why(time: object, message: str) -> None:
    doc = {"Time": time, "ENERGY": {"Voltage": 230, "Current": 1}}
    with pytest.raises(MappingError, match=message):
        extract(parse_model(TASMOTA), doc)


def test_a_clock_never_set_names_no_moment() -> None:
    """Tasmota before its time server answers says 1970: the message still translates, at
    NO_MOMENT, and ingest's clock window decides (a fire re-stamped, the rest stale)."""
    doc = {"Time": "1970-01-01T00:00:12", "ENERGY": {"Voltage": 230, "Current": 1}}
    assert extract(parse_model(TASMOTA), doc).ts == NO_MOMENT


def test_epoch_times_and_offsets() -> None:
    model = parse_model({**TASMOTA, "time": {"path": "Time", "unit": "ms"}})
    doc = {"Time": 1_796_464_800_000, "ENERGY": {"Voltage": 230, "Current": 1}}
    assert extract(model, doc).ts == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)
    doc["Time"] = "2026-12-05T10:00:00+00:00"  # an offset wins over the model's zone
    assert extract(parse_model(TASMOTA), doc).ts == datetime(2026, 12, 5, 10, 0, tzinfo=UTC)


def test_a_boolean_matches_only_a_boolean() -> None:
    assert same(True, True) and not same(1, True) and not same(True, 1)
    assert same(1, 1.0) and same("ON", "ON") and not same("1", 1)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(document=JSON | st.dictionaries(st.sampled_from(["smoke", "battery", "tamper"]), JSON))
def test_any_json_gives_values_or_a_reason(document: object) -> None:
    for model in (parse_model(Z2M_SMOKE), parse_model(TASMOTA)):
        try:
            said = extract(model, document)
        except MappingError as exc:
            assert exc.reason in (Reason.MALFORMED, Reason.SCHEMA) and exc.detail
        else:
            assert all(isinstance(v, float) for v in [*said.readings.values()])


@settings(max_examples=200, deadline=None)
@given(body=st.dictionaries(st.sampled_from([*Z2M_SMOKE, "time"]), JSON))
def test_any_model_document_parses_or_names_a_field(body: dict[str, Any]) -> None:
    try:
        parse_model({**Z2M_SMOKE, **body})
    except ModelError as exc:
        assert exc.loc and exc.reason
