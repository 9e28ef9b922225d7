"""Unit tests of the wire-contract codec: every rejection reason and the accepted forms.

Pure: no database, no broker. ``decode`` is called with a fixed ``now``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import orjson
import pytest

from contract.codec import MAX_SEQ, Limits, check_kind, decode
from contract.frames import decode_frame, encode_frame
from contract.kinds import Kind
from contract.messages import Decoded, Reason, Rejection
from contract.topics import Channel

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
TS = "2025-06-01T12:00:00Z"
LIMITS = Limits()
SITE = "zilai"
DEVICE = "SMK-001"


def topic(channel: str = "reading", *, site: str = SITE, device: str = DEVICE) -> str:
    return f"fw/v1/{site}/{device}/{channel}"


def payload(**fields: Any) -> bytes:
    body: dict[str, Any] = {"ts": TS, "seq": 1}
    body.update(fields)
    return orjson.dumps({k: v for k, v in body.items() if v is not _DROP})


_DROP: Any = object()


def raw_frame(header: dict[str, Any], body: bytes | None = None) -> bytes:
    """A frame built by hand, so a test can break any part of it."""
    full: dict[str, Any] = {
        "ts": TS,
        "seq": 1,
        "width": 2,
        "height": 2,
        "dtype": "<u2",
        "scale": 0.01,
        "offset": -273.15,
    }
    full.update(header)
    full = {k: v for k, v in full.items() if v is not _DROP}
    if body is None:
        body = np.full(4, 29315, dtype="<u2").tobytes()  # 20 °C everywhere
    return orjson.dumps(full) + b"\n" + body


def accept(t: str, data: bytes, *, limits: Limits = LIMITS, now: datetime = NOW) -> Decoded:
    result = decode(t, data, now=now, limits=limits)
    assert isinstance(result, Decoded), result
    return result


def reject(
    t: str,
    data: bytes,
    reason: Reason,
    *needles: str,
    limits: Limits = LIMITS,
    now: datetime = NOW,
) -> Rejection:
    result = decode(t, data, now=now, limits=limits)
    assert isinstance(result, Rejection), result
    assert result.reason is reason, result
    for needle in needles:
        assert needle in result.detail, (needle, result.detail)
    return result


# --------------------------------------------------------------------------- bad_topic


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("fw/v2/zilai/SMK-001/reading", "expected fw/v1/{site}/{device_id}/{channel}"),
        ("xx/v1/zilai/SMK-001/reading", "expected fw/v1/"),
        ("fw/v1/zilai/SMK-001/reading/extra", "expected fw/v1/"),
        ("fw/v1/zilai/SMK-001", "expected fw/v1/"),
        ("/fw/v1/zilai/SMK-001/reading", "expected fw/v1/"),
        ("", "expected fw/v1/"),
        ("fw/v1/Zilai/SMK-001/reading", "site 'Zilai'"),
        ("fw/v1/zi_lai/SMK-001/reading", "site 'zi_lai'"),
        ("fw/v1//SMK-001/reading", "site ''"),
        (f"fw/v1/{'a' * 33}/SMK-001/reading", "site 'aaaa"),
        ("fw/v1/zilai/SMK.001/reading", "device id 'SMK.001'"),
        ("fw/v1/zilai/SMK 001/reading", "device id 'SMK 001'"),
        ("fw/v1/zilai//reading", "device id ''"),
        (f"fw/v1/zilai/{'D' * 65}/reading", "device id 'DDDD"),
        ("fw/v1/zilai/SMK-001/readings", "channel 'readings'"),
        ("fw/v1/zilai/SMK-001/Reading", "channel 'Reading'"),
        ("fw/v1/zilai/SMK-001/", "channel ''"),
        ("fw/v1/zilai/SMK-001/+", "channel '+'"),
    ],
)
def test_bad_topic_names_the_wrong_part(bad, needle):
    rejection = reject(bad, payload(values={"temperature_c": 20}), Reason.BAD_TOPIC, needle)
    assert rejection.device_id is None


def test_channel_rejection_lists_the_channels():
    rejection = reject(topic("alarm"), payload(type="alarm"), Reason.BAD_TOPIC)
    for channel in Channel:
        assert channel.value in rejection.detail


def test_longest_site_and_device_id_are_accepted():
    site, device = "s" * 32, "D" * 64
    message = accept(topic(site=site, device=device), payload(values={"temperature_c": 20}))
    assert (message.site, message.device_id) == (site, device)


# --------------------------------------------------------------------------- oversize


def test_oversize_reading_at_default_limit():
    data = payload(values={"temperature_c": 20}).ljust(256 * 1024 + 1, b" ")
    rejection = reject(topic(), data, Reason.OVERSIZE, "reading payload", "262145", "262144")
    assert rejection.device_id == DEVICE


def test_reading_exactly_at_limit_is_accepted():
    limits = Limits(max_payload_bytes=1024)
    data = payload(values={"temperature_c": 20}).ljust(1024, b" ")
    assert accept(topic(), data, limits=limits).values == {"temperature_c": 20.0}
    reject(topic(), data + b" ", Reason.OVERSIZE, "1025", "1024", limits=limits)


@pytest.mark.parametrize("channel", ["event", "status"])
def test_oversize_applies_to_event_and_status(channel):
    data = payload().ljust(2000, b" ")
    reject(topic(channel), data, Reason.OVERSIZE, f"{channel} payload", limits=Limits(1024))


def test_frame_uses_the_frame_limit_not_the_payload_limit():
    # Larger than the reading limit but within the frame limit: a real 256x256 frame.
    temps = np.full((512, 512), 25.0)
    data = encode_frame(temps, ts=TS, seq=1)
    assert 256 * 1024 < len(data) <= 1024 * 1024
    assert accept(topic("frame", device="CAM-1"), data).channel is Channel.FRAME
    # The same bytes on the reading channel are oversize.
    reject(topic("reading"), data, Reason.OVERSIZE, "reading payload")


def test_oversize_frame_at_default_limit():
    data = raw_frame({}, b"\x00" * (1024 * 1024))
    assert len(data) > 1024 * 1024
    rejection = reject(
        topic("frame", device="CAM-1"),
        data,
        Reason.OVERSIZE,
        "frame payload",
        str(len(data)),
        "1048576",
    )
    assert rejection.device_id == "CAM-1"


# --------------------------------------------------------------------------- malformed


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"", "not JSON"),
        (b"not json", "not JSON"),
        (b'{"ts": "2025-06-01T12:00:00Z", "seq": 1,', "not JSON"),
        (b"\xff\xfe{}", "not JSON"),
        (b'{"ts": NaN}', "not JSON"),
        (b'{"ts": "\\ud800", "seq": 1}', "not JSON"),  # a lone surrogate is not UTF-8
        # Strict JSON has no Infinity; a literal that overflows a double is refused by orjson.
        (
            b'{"ts": "2025-06-01T12:00:00Z", "seq": 1, "values": {"temperature_c": 1e400}}',
            "not JSON",
        ),
        (b"[1, 2, 3]", "payload must be a JSON object"),
        (b'"a string"', "payload must be a JSON object"),
        (b"42", "payload must be a JSON object"),
        (b"null", "payload must be a JSON object"),
    ],
)
def test_malformed(data, needle):
    rejection = reject(topic(), data, Reason.MALFORMED, needle)
    assert rejection.device_id == DEVICE


def test_malformed_frames():
    cam = topic("frame", device="CAM-1")
    reject(cam, b"no newline at all", Reason.MALFORMED, "no header line")
    reject(cam, b"x" * 2000 + b"\n", Reason.MALFORMED, "no header line", "1024")
    reject(cam, b"{not json\n\x00\x00", Reason.MALFORMED, "header is not JSON")
    reject(cam, raw_frame({}, b"\x00" * 7), Reason.MALFORMED, "body has 7 bytes", "needs 8")
    reject(cam, raw_frame({}, b"\x00" * 10), Reason.MALFORMED, "body has 10 bytes", "2x2")
    reject(cam, raw_frame({}, b""), Reason.MALFORMED, "body has 0 bytes")


# --------------------------------------------------------------------------- schema: seq


@pytest.mark.parametrize("seq", [_DROP, True, False, -1, 1.0, 1.5, "1", None, [1], MAX_SEQ + 1])
def test_bad_seq(seq):
    reject(topic(), payload(seq=seq, values={"temperature_c": 20}), Reason.SCHEMA, "'seq'")


@pytest.mark.parametrize("seq", [0, 1, MAX_SEQ])
def test_seq_bounds_accepted(seq):
    assert accept(topic(), payload(seq=seq, values={"temperature_c": 20})).seq == seq


# --------------------------------------------------------------------------- schema: ts


@pytest.mark.parametrize(
    ("ts", "needle"),
    [
        (_DROP, "'ts' must be"),
        (None, "'ts' must be"),
        (True, "'ts' must be"),
        (float(NOW_MS), "'ts' must be"),
        ([TS], "'ts' must be"),
        ("", "'ts' must be"),
        ("2025-06-01T12:00:00.000000000000000000000000Z", "'ts' must be"),  # over 40 characters
        ("yesterday", "is not RFC 3339"),
        ("2025-06-01T25:00:00Z", "is not RFC 3339"),
        ("2025-06-01T12:00:00+25:00", "is not RFC 3339"),
        ("2025-06-01T12:00:00", "has no UTC offset"),
        ("2025-06-01", "has no UTC offset"),
        ("1999-12-31T23:59:59Z", "not between 2000 and 2100"),
        ("2100-01-01T00:00:00Z", "not between 2000 and 2100"),
        (1_748_779_200, "not epoch milliseconds"),  # epoch seconds: a unit mistake
        (1_748_779_200_000_000, "not epoch milliseconds"),  # epoch microseconds
        (0, "not epoch milliseconds"),
        (-1, "not epoch milliseconds"),
        (946_684_799_999, "not epoch milliseconds"),
        (4_102_444_800_001, "not epoch milliseconds"),
    ],
)
def test_bad_ts(ts, needle):
    reject(topic(), payload(ts=ts, values={"temperature_c": 20}), Reason.SCHEMA, needle)


def test_naive_ts_tells_the_owner_to_add_an_offset():
    data = payload(ts="2025-06-01T12:00:00", values={"temperature_c": 20})
    reject(topic(), data, Reason.SCHEMA, "'2025-06-01T12:00:00'", "add Z or +08:00")


def test_epoch_ms_bounds_are_syntactically_valid():
    # The window ends are valid epoch milliseconds; they are then stale or far in the future.
    reject(topic(), payload(ts=946_684_800_000, values={"temperature_c": 1}), Reason.STALE)
    reject(
        topic(),
        payload(ts=4_102_444_800_000, values={"temperature_c": 1}),
        Reason.FUTURE_TIMESTAMP,
    )


# --------------------------------------------------------------------------- schema: fields


@pytest.mark.parametrize(
    ("channel", "fields"),
    [
        ("reading", {"values": {"temperature_c": 20}, "unit": "C"}),
        ("event", {"type": "alarm", "kind": "smoke"}),
        ("status", {"battery_pct": 90, "uptime_s": 10}),
    ],
)
def test_unknown_field(channel, fields):
    extra = next(k for k in fields if k not in {"values", "type", "battery_pct"})
    reject(topic(channel), payload(**fields), Reason.SCHEMA, "unknown fields", extra)


def test_unknown_metric():
    data = payload(values={"temperature_c": 20, "humidity_pct": 40})
    reject(topic(), data, Reason.SCHEMA, "unknown metric 'humidity_pct'")


@pytest.mark.parametrize("values", [_DROP, None, {}, [], [["temperature_c", 20]], "20", 20])
def test_values_must_be_a_non_empty_object(values):
    reject(topic(), payload(values=values), Reason.SCHEMA, "'values' must be a non-empty object")


@pytest.mark.parametrize("value", ["20", None, True, False, [20], {"v": 20}])
def test_metric_value_must_be_a_number(value):
    data = payload(values={"temperature_c": value})
    reject(topic(), data, Reason.SCHEMA, "metric 'temperature_c' must be a number")


@pytest.mark.parametrize("event_type", [_DROP, None, "fire", "ALARM", "", 1, ["alarm"]])
def test_bad_event_type(event_type):
    rejection = reject(topic("event"), payload(type=event_type), Reason.SCHEMA, "'type' must be")
    assert "alarm" in rejection.detail and "tamper" in rejection.detail


@pytest.mark.parametrize("detail", ["text", [1, 2], 3, True])
def test_event_detail_must_be_an_object(detail):
    data = payload(type="alarm", detail=detail)
    reject(topic("event"), data, Reason.SCHEMA, "'detail' must be an object")


@pytest.mark.parametrize(
    "detail",
    [
        {"note": "a\x00b"},
        {"a\x00": 1},
        {"nested": {"deeper": ["ok", "bad\x00"]}},
    ],
)
def test_event_detail_must_not_hold_nul(detail):
    data = payload(type="alarm", detail=detail)
    reject(topic("event"), data, Reason.SCHEMA, "'detail'", "NUL")


def test_deeply_nested_detail_is_rejected_without_crashing():
    # orjson refuses nesting beyond its own limit (malformed); below it the depth check does,
    # since the database's JSON encoder would run out of stack on it.
    nested: Any = "x"
    for _ in range(200):
        nested = {"d": nested}
    reject(topic("event"), payload(type="alarm", detail=nested), Reason.SCHEMA, "deeper than 16")
    ok: Any = "x"
    for _ in range(15):
        ok = {"d": ok}
    assert accept(topic("event"), payload(type="alarm", detail=ok)).detail == ok
    deep = b'{"ts":"2025-06-01T12:00:00Z","seq":1,"type":"alarm","detail":' + b'{"d":' * 5000
    deep += b"1" + b"}" * 5001
    reject(topic("event"), deep, Reason.MALFORMED, "not JSON")


@pytest.mark.parametrize(
    ("channel", "key", "value"),
    [
        ("reading", "region", "zone\x00a"),
        ("reading", "preset", "p\x00"),
        ("reading", "region", ""),
        ("reading", "region", "r" * 65),
        ("reading", "region", 5),
        ("reading", "preset", "line\nbreak"),
        ("status", "firmware", "1.2\x00"),
        ("status", "firmware", 12),
        ("status", "firmware", ""),
    ],
)
def test_short_text_fields(channel, key, value):
    fields: dict[str, Any] = {key: value}
    if channel == "reading":
        fields["values"] = {"max_temp_c": 40}
    reject(topic(channel), payload(**fields), Reason.SCHEMA, f"'{key}' must be a printable string")


@pytest.mark.parametrize("metric", ["frame_max_temp_c", "frame_avg_temp_c", "frame_min_temp_c"])
def test_device_may_not_send_frame_metrics(metric):
    data = payload(values={"max_temp_c": 40, metric: 40})
    reject(topic(device="CAM-1"), data, Reason.SCHEMA, "frame_* metrics")


@pytest.mark.parametrize(
    ("header", "needle"),
    [
        ({"dtype": "<f4"}, "'dtype' must be '<u2'"),
        ({"dtype": ">u2"}, "'dtype'"),
        ({"dtype": _DROP}, "'dtype'"),
        ({"width": 0}, "'width' must be an integer 1..4096"),
        ({"width": 4097}, "'width'"),
        ({"width": 2.0}, "'width'"),
        ({"width": True}, "'width'"),
        ({"height": _DROP}, "'height'"),
        ({"scale": 0}, "'scale' must be positive"),
        ({"scale": -0.01}, "'scale' must be positive"),
        ({"scale": "0.01"}, "'scale' must be a finite number"),
        ({"scale": True}, "'scale'"),
        ({"offset": None}, "'offset' must be a finite number"),
        ({"preset": ""}, "'preset'"),
        ({"preset": "p" * 65}, "'preset'"),
        ({"preset": "a\x00"}, "'preset'"),
        ({"emissivity": 0.95}, "unknown header fields: emissivity"),
        ({"ts": "2025-06-01T12:00:00"}, "has no UTC offset"),
        ({"ts": _DROP}, "'ts' must be"),
        ({"seq": -1}, "'seq'"),
        ({"seq": _DROP}, "'seq'"),
    ],
)
def test_bad_frame_header(header, needle):
    rejection = reject(topic("frame", device="CAM-1"), raw_frame(header), Reason.SCHEMA, needle)
    assert rejection.device_id == "CAM-1"


def test_frame_header_must_be_an_object():
    data = b"[1, 2]\n" + b"\x00" * 8
    reject(topic("frame", device="CAM-1"), data, Reason.SCHEMA, "header must be a JSON object")


@pytest.mark.parametrize(
    ("channel", "fields", "needle"),
    [
        ("status", {"battery_pct": "full"}, "metric 'battery_pct' must be a number"),
        ("status", {"rssi_dbm": None}, "metric 'rssi_dbm' must be a number"),
    ],
)
def test_status_schema(channel, fields, needle):
    reject(topic(channel), payload(**fields), Reason.SCHEMA, needle)


# --------------------------------------------------------------------------- out_of_range


@pytest.mark.parametrize(
    ("channel", "fields", "needle"),
    [
        ("reading", {"values": {"residual_current_ma": 10001}}, "residual_current_ma=10001"),
        ("reading", {"values": {"obscuration_pct_per_m": -1}}, "obscuration_pct_per_m=-1"),
        ("reading", {"values": {"obscuration_pct_per_m": 100.5}}, "obscuration_pct_per_m"),
        ("reading", {"values": {"temperature_c": -40.1}}, "temperature_c=-40.1"),
        ("reading", {"values": {"temperature_c": 1e308}}, "temperature_c=1e+308"),
        ("reading", {"values": {"cable_temp_c": -1e308}}, "cable_temp_c"),
        ("reading", {"values": {"current_a": 2**64 - 1}}, "current_a"),
        ("reading", {"values": {"voltage_v": 1e30}}, "voltage_v=1e+30"),
        ("reading", {"values": {"max_temp_c": 1201}}, "max_temp_c=1201"),
        ("status", {"battery_pct": 101}, "battery_pct=101"),
        ("status", {"battery_pct": -0.5}, "battery_pct=-0.5"),
        ("status", {"rssi_dbm": 3}, "rssi_dbm=3"),
        ("status", {"rssi_dbm": -151}, "rssi_dbm=-151"),
    ],
)
def test_out_of_range(channel, fields, needle):
    reject(topic(channel), payload(**fields), Reason.OUT_OF_RANGE, needle, "outside")


def test_out_of_range_names_the_range():
    data = payload(values={"residual_current_ma": 10001})
    reject(topic(device="ELE-1"), data, Reason.OUT_OF_RANGE, "outside 0..10000")


@pytest.mark.parametrize(
    ("values"),
    [
        {"obscuration_pct_per_m": 0, "temperature_c": -40},
        {"obscuration_pct_per_m": 100, "temperature_c": 1200},
        {"residual_current_ma": 10000, "current_a": 0, "voltage_v": 1000},
    ],
)
def test_range_ends_are_inclusive(values):
    message = accept(topic(), payload(values=values))
    assert message.values == {k: float(v) for k, v in values.items()}


def test_frame_out_of_range():
    # An offset that puts every pixel above 2000 °C.
    reject(
        topic("frame", device="CAM-1"),
        raw_frame({"offset": 2500.0}),
        Reason.OUT_OF_RANGE,
        "frame_max_temp_c=",
        "outside -273.15..2000",
    )


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_frame_with_a_scale_that_overflows_float32_is_out_of_range():
    rejection = reject(
        topic("frame", device="CAM-1"),
        raw_frame({"scale": 1e300}),
        Reason.OUT_OF_RANGE,
        "frame_max_temp_c",
    )
    assert rejection.device_id == "CAM-1"


# --------------------------------------------------------------------------- time window


def test_future_timestamp():
    ts = (NOW + timedelta(minutes=5, seconds=1)).isoformat()
    rejection = reject(
        topic(),
        payload(ts=ts, values={"temperature_c": 20}),
        Reason.FUTURE_TIMESTAMP,
        "301 s ahead",
        "NTP",
    )
    assert rejection.device_id == DEVICE


def test_future_timestamp_epoch_ms_and_frame():
    ts = NOW_MS + 3600_000
    reject(topic(), payload(ts=ts, values={"temperature_c": 20}), Reason.FUTURE_TIMESTAMP, "3600 s")
    frame = encode_frame(np.full((2, 2), 20.0), ts=ts, seq=1)
    reject(topic("frame", device="CAM-1"), frame, Reason.FUTURE_TIMESTAMP, "ahead")


def test_future_tolerance_edge_is_accepted():
    ts = (NOW + timedelta(minutes=5)).isoformat()
    assert accept(topic(), payload(ts=ts, values={"temperature_c": 20})).ts == NOW + timedelta(
        minutes=5
    )


def test_future_tolerance_is_settable():
    ts = (NOW + timedelta(seconds=1)).isoformat()
    data = payload(ts=ts, values={"temperature_c": 20})
    reject(topic(), data, Reason.FUTURE_TIMESTAMP, limits=Limits(future_tolerance=timedelta(0)))
    accept(topic(), data)


def test_stale():
    ts = (NOW - timedelta(days=7, seconds=1)).isoformat()
    rejection = reject(
        topic("event"), payload(ts=ts, type="fault"), Reason.STALE, "older than 7 days"
    )
    assert rejection.device_id == DEVICE


# A wrong device clock: fire and tamper events are judged anyway, stamped with their arrival.
ARRIVED = NOW - timedelta(milliseconds=250)


@pytest.mark.parametrize(
    "event_type",
    [
        "alarm",
        "fire_detected",
        "smoke_detected",
        "tamper",
        "temperature_alarm",
        "temperature_prealarm",
    ],
)
@pytest.mark.parametrize(
    "offset", [timedelta(hours=1), timedelta(minutes=5, microseconds=1), -timedelta(days=8)]
)
def test_fire_and_tamper_events_outside_the_window_are_restamped(
    event_type: str, offset: timedelta
) -> None:
    device_ts = NOW + offset
    data = payload(ts=device_ts.isoformat(), type=event_type, detail={"chamber": "optical"})
    result = decode(topic("event"), data, now=NOW, limits=LIMITS, arrived=ARRIVED)
    assert isinstance(result, Decoded), result
    assert (result.ts, result.device_ts) == (ARRIVED, device_ts)
    assert result.detail == {"chamber": "optical"}  # the device's detail, untouched
    skew = result.clock_skew()
    assert skew == {
        "device_ts": device_ts.isoformat(),
        "skew_s": round((device_ts - ARRIVED).total_seconds(), 3),
    }


def test_restamped_without_an_arrival_takes_now() -> None:
    data = payload(ts=NOW_MS + 3600_000, type="alarm")
    result = accept(topic("event"), data)
    assert result.ts == NOW and result.device_ts == NOW + timedelta(hours=1)
    assert result.clock_skew() == {"device_ts": "2025-06-01T13:00:00+00:00", "skew_s": 3600.0}


def test_an_event_in_the_window_keeps_its_time_and_has_no_skew() -> None:
    result = accept(topic("event"), payload(type="alarm"))
    assert result.ts == NOW and result.device_ts is None and result.clock_skew() is None


@pytest.mark.parametrize(
    "event_type", ["alarm_cleared", "test", "fault", "fault_cleared", "button"]
)
def test_other_events_outside_the_window_stay_dead_letters(event_type: str) -> None:
    reject(topic("event"), payload(ts=NOW_MS + 3600_000, type=event_type), Reason.FUTURE_TIMESTAMP)
    reject(topic("event"), payload(ts=NOW_MS - 8 * 86_400_000, type=event_type), Reason.STALE)


def test_readings_status_and_frames_outside_the_window_stay_dead_letters() -> None:
    ahead = NOW_MS + 3600_000
    reject(topic(), payload(ts=ahead, values={"temperature_c": 20}), Reason.FUTURE_TIMESTAMP)
    reject(topic("status"), payload(ts=ahead, battery_pct=50), Reason.FUTURE_TIMESTAMP)
    frame = encode_frame(np.full((2, 2), 20.0), ts=NOW_MS - 8 * 86_400_000, seq=1)
    reject(topic("frame", device="CAM-1"), frame, Reason.STALE)


@pytest.mark.parametrize(
    "ts",
    [
        "2000-01-01T00:00:00Z",
        "2099-12-31T23:59:59.999999+14:00",
        946_684_800_000,
        4_102_444_800_000,
    ],
)
def test_a_clock_at_the_ends_of_the_contract_still_raises_the_alarm(ts: object) -> None:
    result = accept(topic("event"), payload(ts=ts, type="alarm"))
    assert result.ts == NOW and result.device_ts is not None
    skew = result.clock_skew()
    assert skew is not None and abs(skew["skew_s"]) > 7 * 86400


@pytest.mark.parametrize(
    ("fields", "reason"),
    [
        ({"ts": "2150-01-01T00:00:00Z", "type": "alarm"}, Reason.SCHEMA),  # beyond the contract
        ({"ts": 1_748_779_200, "type": "alarm"}, Reason.SCHEMA),  # epoch seconds
        ({"ts": NOW_MS + 3600_000, "type": "alarm", "detail": {"x": "\x00"}}, Reason.SCHEMA),
        ({"ts": NOW_MS + 3600_000, "type": "alarm", "extra": 1}, Reason.SCHEMA),
        ({"ts": NOW_MS + 3600_000, "type": "ALARM"}, Reason.SCHEMA),
    ],
)
def test_a_skewed_alarm_is_still_validated_first(fields: dict[str, Any], reason: Reason) -> None:
    reject(topic("event"), payload(**fields), reason)


def test_a_skewed_alarm_too_big_is_oversize() -> None:
    big = payload(ts=NOW_MS + 3600_000, type="alarm", detail={"pad": "x" * (256 * 1024)})
    reject(topic("event"), big, Reason.OVERSIZE)


def test_a_skewed_alarm_from_a_kind_without_alarms_is_a_kind_mismatch() -> None:
    result = accept(topic("event", device="CAM-1"), payload(ts=NOW_MS + 3600_000, type="alarm"))
    verdict = check_kind(result, Kind.THERMAL_CAMERA)
    assert verdict is not None and verdict.reason is Reason.KIND_MISMATCH


def test_stale_edge_is_accepted_and_limit_is_settable():
    ts = (NOW - timedelta(days=7)).isoformat()
    data = payload(ts=ts, values={"temperature_c": 20})
    assert accept(topic(), data).ts == NOW - timedelta(days=7)
    reject(topic(), data, Reason.STALE, "1 day", limits=Limits(stale_after=timedelta(days=1)))


def test_schema_errors_win_over_time_checks():
    # A payload that is both stale and schema-invalid is reported as the schema error.
    data = payload(ts="2020-01-01T00:00:00Z", values={"nope": 1})
    reject(topic(), data, Reason.SCHEMA, "unknown metric")


# --------------------------------------------------------------------------- accepted


@pytest.mark.parametrize(
    "ts",
    [
        "2025-06-01T12:00:00Z",
        "2025-06-01T12:00:00+00:00",
        "2025-06-01T20:00:00+08:00",
        "2025-06-01T07:30:00-04:30",
        "2025-06-01T12:00:00.000Z",
        NOW_MS,
    ],
)
def test_accepted_timestamps_are_utc(ts):
    message = accept(topic(), payload(ts=ts, values={"temperature_c": 21.5}))
    assert message.ts == NOW
    assert message.ts.utcoffset() == timedelta(0)


def test_fractional_seconds_are_kept():
    message = accept(topic(), payload(ts="2025-06-01T12:00:00.250+08:00", values={"voltage_v": 1}))
    assert message.ts == NOW - timedelta(hours=8) + timedelta(milliseconds=250)
    message = accept(topic(), payload(ts=NOW_MS + 123, values={"voltage_v": 1}))
    assert message.ts == NOW + timedelta(milliseconds=123)


def test_reading_with_region_and_preset():
    data = payload(
        seq=42,
        values={"max_temp_c": 48.5, "avg_temp_c": 31, "min_temp_c": 12.25},
        region="loading-bay",
        preset="P1 north",
    )
    message = accept(topic(device="CAM-7"), data)
    assert message.channel is Channel.READING
    assert (message.site, message.device_id, message.seq) == (SITE, "CAM-7", 42)
    assert message.values == {"max_temp_c": 48.5, "avg_temp_c": 31.0, "min_temp_c": 12.25}
    assert all(type(v) is float for v in message.values.values())
    assert (message.region, message.preset) == ("loading-bay", "P1 north")
    assert message.event_type is None


def test_reading_without_region():
    message = accept(topic(), payload(values={"obscuration_pct_per_m": 1.2}))
    assert message.region is None and message.preset is None


def test_event_with_detail():
    detail = {"zone": 3, "note": "测试 ok", "nested": {"list": [1, "two", None]}}
    message = accept(topic("event"), payload(type="alarm", detail=detail, seq=7))
    assert message.channel is Channel.EVENT
    assert (message.event_type, message.detail, message.seq) == ("alarm", detail, 7)
    assert message.values == {}


@pytest.mark.parametrize("event_type", ["alarm_cleared", "test", "tamper", "fire_detected"])
def test_event_without_detail(event_type):
    message = accept(topic("event"), payload(type=event_type))
    assert message.event_type == event_type
    assert message.detail is None


def test_status_with_battery_rssi_firmware():
    data = payload(battery_pct=87, rssi_dbm=-71.5, firmware="fw-2.4.1+build.7")
    message = accept(topic("status"), data)
    assert message.channel is Channel.STATUS
    assert message.values == {"battery_pct": 87.0, "rssi_dbm": -71.5}
    assert message.firmware == "fw-2.4.1+build.7"


def test_bare_heartbeat_status():
    message = accept(topic("status"), payload())
    assert message.values == {} and message.firmware is None


def test_frame_round_trip():
    rng = np.random.default_rng(7)
    temps = rng.uniform(15.0, 95.0, size=(24, 32))
    data = encode_frame(temps, ts=TS, seq=9, preset="dock")
    message = accept(topic("frame", device="CAM-1"), data)
    assert message.channel is Channel.FRAME
    assert (message.seq, message.ts, message.preset) == (9, NOW, "dock")
    _, pixels = decode_frame(data)
    assert pixels.shape == (24, 32) and pixels.dtype == np.float32
    np.testing.assert_allclose(pixels, temps, atol=0.006)
    assert set(message.values) == {"frame_max_temp_c", "frame_avg_temp_c", "frame_min_temp_c"}
    assert message.values["frame_max_temp_c"] == pytest.approx(temps.max(), abs=0.006)
    assert message.values["frame_min_temp_c"] == pytest.approx(temps.min(), abs=0.006)
    assert message.values["frame_avg_temp_c"] == pytest.approx(temps.mean(), abs=0.006)


def test_frame_with_epoch_ms_and_custom_scale():
    temps = np.array([[-20.0, 0.0, 20.0], [100.0, 250.0, 600.0]])
    data = encode_frame(temps, ts=NOW_MS, seq=0, scale=0.1, offset=-100.0)
    message = accept(topic("frame", device="CAM-1"), data)
    assert message.ts == NOW and message.preset is None
    np.testing.assert_allclose(decode_frame(data)[1], temps, atol=0.051)
    assert message.values["frame_max_temp_c"] == pytest.approx(600.0, abs=0.051)


def test_frame_pixels_are_row_major_little_endian():
    body = np.array([[0, 1, 2], [3, 4, 1999]], dtype="<u2").tobytes()
    data = raw_frame({"width": 3, "height": 2, "scale": 1.0, "offset": 0.0}, body)
    message = accept(topic("frame", device="CAM-1"), data)
    assert decode_frame(data)[1].tolist() == [[0, 1, 2], [3, 4, 1999]]
    assert message.values["frame_max_temp_c"] == 1999.0


# --------------------------------------------------------------------------- check_kind


def _decoded(channel: str, fields: dict[str, Any], device: str = "DEV-1") -> Decoded:
    return accept(topic(channel, device=device), payload(**fields))


def test_smoke_device_sending_residual_current_is_a_kind_mismatch():
    message = _decoded("reading", {"values": {"residual_current_ma": 120}})
    rejection = check_kind(message, Kind.SMOKE)
    assert rejection is not None
    assert rejection.reason is Reason.KIND_MISMATCH
    assert "smoke" in rejection.detail and "residual_current_ma" in rejection.detail
    assert rejection.device_id == "DEV-1"


def test_mismatch_lists_every_foreign_metric():
    message = _decoded(
        "reading", {"values": {"temperature_c": 20, "voltage_v": 230, "current_a": 1}}
    )
    rejection = check_kind(message, Kind.SMOKE)
    assert rejection is not None and rejection.reason is Reason.KIND_MISMATCH
    assert "current_a, voltage_v" in rejection.detail
    assert "temperature_c" not in rejection.detail


def test_electrical_device_sending_a_frame_is_a_kind_mismatch():
    message = accept(topic("frame"), encode_frame(np.full((2, 2), 20.0), ts=TS, seq=1))
    rejection = check_kind(message, Kind.ELECTRICAL)
    assert rejection is not None
    assert rejection.reason is Reason.KIND_MISMATCH
    assert "electrical" in rejection.detail and "frames" in rejection.detail


def test_camera_sending_an_alarm_event_is_a_kind_mismatch():
    rejection = check_kind(_decoded("event", {"type": "alarm"}), Kind.THERMAL_CAMERA)
    assert rejection is not None
    assert rejection.reason is Reason.KIND_MISMATCH
    assert "thermal_camera" in rejection.detail and "'alarm'" in rejection.detail


def test_smoke_device_sending_fire_detected_is_a_kind_mismatch():
    rejection = check_kind(_decoded("event", {"type": "fire_detected"}), Kind.SMOKE)
    assert rejection is not None and "'fire_detected'" in rejection.detail


@pytest.mark.parametrize(
    ("kind", "channel", "fields"),
    [
        (Kind.SMOKE, "reading", {"values": {"obscuration_pct_per_m": 2, "temperature_c": 24}}),
        (Kind.SMOKE, "event", {"type": "alarm"}),
        (Kind.SMOKE, "event", {"type": "button"}),
        (Kind.SMOKE, "status", {"battery_pct": 15, "rssi_dbm": -90, "firmware": "1.0"}),
        (Kind.ELECTRICAL, "reading", {"values": {"residual_current_ma": 320, "cable_temp_c": 41}}),
        (Kind.ELECTRICAL, "event", {"type": "alarm"}),
        (Kind.ELECTRICAL, "status", {"rssi_dbm": -60}),
        (Kind.THERMAL_CAMERA, "reading", {"values": {"max_temp_c": 60}, "region": "r1"}),
        (Kind.THERMAL_CAMERA, "event", {"type": "fire_detected", "detail": {"x": 1, "y": 2}}),
        (Kind.THERMAL_CAMERA, "event", {"type": "smoke_detected"}),
        (Kind.THERMAL_CAMERA, "status", {}),
    ],
)
def test_kind_allows_what_it_measures(kind, channel, fields):
    assert check_kind(_decoded(channel, fields), kind) is None


def test_camera_frame_is_allowed():
    message = accept(topic("frame"), encode_frame(np.full((3, 3), 40.0), ts=TS, seq=1))
    assert check_kind(message, Kind.THERMAL_CAMERA) is None
