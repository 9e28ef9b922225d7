"""Property tests of the codec: total on any input, exact on valid input."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import orjson
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from contract.codec import MAX_SEQ, Limits, check_kind, decode
from contract.frames import decode_frame, encode_frame
from contract.kinds import (
    CLOCK_EXEMPT_EVENTS,
    EVENT_TYPES,
    FRAME_METRICS,
    METRIC_RANGES,
    STATUS_METRICS,
    Kind,
)
from contract.messages import Decoded, Reason, Rejection
from contract.topics import DEVICE_ID_RE, SITE_RE, Channel, parse_topic

NOW = datetime(2025, 6, 1, 12, 0, 0, tzinfo=UTC)
LIMITS = Limits()
# database=None: no example database is written (hypothesis still keeps a small cache).
FAST = settings(
    max_examples=300, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

sites = st.from_regex(SITE_RE, fullmatch=True)
device_ids = st.from_regex(DEVICE_ID_RE, fullmatch=True)
channels = st.sampled_from(list(Channel))


@st.composite
def valid_topics(draw: st.DrawFn, channel: Channel | None = None) -> str:
    chosen = channel if channel is not None else draw(channels)
    return f"fw/v1/{draw(sites)}/{draw(device_ids)}/{chosen.value}"


# JSON values of every shape, including the awkward ones: big integers, huge floats, NUL.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["", "\x00", "2025-06-01T12:00:00Z", "alarm", "<u2"]),
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def check_outcome(topic: str, result: Decoded | Rejection, limits: Limits = LIMITS) -> None:
    """What any outcome must satisfy, whatever the input was."""
    assert isinstance(result, Decoded | Rejection)
    event(result.reason.value if isinstance(result, Rejection) else "decoded")
    if isinstance(result, Rejection):
        assert isinstance(result.reason, Reason)
        assert isinstance(result.detail, str) and result.detail
        if result.reason is Reason.BAD_TOPIC:
            assert result.device_id is None
        else:
            assert result.device_id == parse_topic(topic).device_id
        assert result.reason not in {Reason.UNKNOWN_DEVICE, Reason.KIND_MISMATCH}
        return
    parsed = parse_topic(topic)
    assert (result.site, result.device_id, result.channel) == (
        parsed.site,
        parsed.device_id,
        parsed.channel,
    )
    assert result.ts.utcoffset() == timedelta(0)
    assert NOW - limits.stale_after <= result.ts <= NOW + limits.future_tolerance
    if result.device_ts is not None:  # re-stamped for a wrong clock: fire and tamper only
        assert result.channel is Channel.EVENT and result.event_type in CLOCK_EXEMPT_EVENTS
        assert result.ts == NOW
        assert not NOW - limits.stale_after <= result.device_ts <= NOW + limits.future_tolerance
    assert 0 <= result.seq <= MAX_SEQ
    for name, value in result.values.items():
        assert type(value) is float and math.isfinite(value)
        assert METRIC_RANGES[name].low <= value <= METRIC_RANGES[name].high
    if result.channel is Channel.READING:
        assert result.values and not (FRAME_METRICS & result.values.keys())
    elif result.channel is Channel.STATUS:
        assert result.values.keys() <= STATUS_METRICS
    elif result.channel is Channel.EVENT:
        assert result.event_type in EVENT_TYPES
        assert result.detail is None or isinstance(result.detail, dict)
    else:
        assert result.values.keys() == FRAME_METRICS
    for kind in Kind:
        verdict = check_kind(result, kind)
        assert verdict is None or verdict.reason is Reason.KIND_MISMATCH


# --------------------------------------------------------------------------- (a) any bytes


@FAST
@given(topic=st.text(max_size=120), data=st.binary(max_size=512))
def test_any_bytes_on_any_topic(topic, data):
    result = decode(topic, data, now=NOW, limits=LIMITS)
    if isinstance(result, Rejection) and result.reason is Reason.BAD_TOPIC:
        assert result.device_id is None and result.detail
    else:
        check_outcome(topic, result)


@FAST
@given(topic=valid_topics(), data=st.binary(max_size=1024))
def test_any_bytes_on_a_valid_topic(topic, data):
    check_outcome(topic, decode(topic, data, now=NOW, limits=LIMITS))


@FAST
@given(topic=valid_topics(), body=json_values)
def test_any_json_on_a_valid_topic(topic, body):
    check_outcome(topic, decode(topic, orjson.dumps(body), now=NOW, limits=LIMITS))


@FAST
@given(
    topic=valid_topics(Channel.FRAME),
    header=st.dictionaries(
        st.sampled_from(
            ["ts", "seq", "width", "height", "dtype", "scale", "offset", "preset", "x"]
        ),
        json_scalars,
    ),
    body=st.binary(max_size=256),
)
def test_any_frame_header_and_body(topic, header, body):
    check_outcome(topic, decode(topic, orjson.dumps(header) + b"\n" + body, now=NOW, limits=LIMITS))


@FAST
@given(topic=valid_topics(), data=st.binary(min_size=0, max_size=64), extra=st.integers(0, 64))
def test_oversize_is_checked_before_anything_else(topic, data, extra):
    limits = Limits(max_payload_bytes=len(data) + extra, max_frame_bytes=len(data) + extra)
    padded = data + b"\xff" * (extra + 1)
    result = decode(topic, padded, now=NOW, limits=limits)
    assert isinstance(result, Rejection) and result.reason is Reason.OVERSIZE
    assert str(len(padded)) in result.detail


# --------------------------------------------------------------------------- (b) near-valid


@st.composite
def mostly(draw: st.DrawFn, good: st.SearchStrategy[Any], bad: st.SearchStrategy[Any]) -> Any:
    """Usually a valid value, sometimes anything: so the deeper checks are reached too."""
    return draw(good) if draw(st.integers(0, 4)) < 4 else draw(bad)


zones = st.sampled_from(
    [UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))]
)
# Around the accepted window (NOW - 7 days .. NOW + 5 minutes), so both edges are crossed.
good_ts = st.one_of(
    st.datetimes(
        min_value=datetime(2025, 5, 24),
        max_value=datetime(2025, 6, 1, 12, 10),
        timezones=zones,
    ).map(lambda d: d.isoformat()),
    st.integers(1_748_174_400_000 - 86_400_000, 1_748_779_200_000 + 600_000),
)
bad_ts = st.one_of(
    json_scalars,
    st.integers(-(2**63), 2**64 - 1),
    st.datetimes().map(lambda d: d.isoformat()),  # naive, any year
    st.datetimes(timezones=zones).map(lambda d: d.isoformat()),  # any year
)
maybe_ts = mostly(good_ts, bad_ts)
maybe_seq = mostly(
    st.integers(0, MAX_SEQ), st.one_of(st.integers(-(2**63), 2**64 - 1), json_scalars)
)
reading_metrics = sorted(set(METRIC_RANGES) - FRAME_METRICS)
metric_names = mostly(
    st.sampled_from(reading_metrics), st.sampled_from(sorted(FRAME_METRICS)) | st.text(max_size=12)
)
metric_values = mostly(
    st.floats(min_value=-40, max_value=100),
    st.one_of(
        st.floats(min_value=-300, max_value=2100),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(min_value=-(2**63), max_value=2**64 - 1),
        json_scalars,
    ),
)
printable = st.text(
    st.characters(categories=["L", "N", "P", "S"]) | st.just(" "), min_size=1, max_size=64
)
short_texts = mostly(st.none() | printable, st.one_of(st.text(max_size=70), json_scalars))


def _with_noise(fixed: dict[str, Any], drop: list[str], extra: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in fixed.items() if k not in drop}
    body.update(extra)
    return body


noise_keys = mostly(
    st.just([]), st.lists(st.sampled_from(["ts", "seq", "values", "type"]), max_size=2)
)
extras = mostly(
    st.just({}),
    st.dictionaries(
        st.sampled_from(["unit", "kind", "values", "type", "detail"]), json_values, max_size=1
    ),
)


@FAST
@given(
    topic=valid_topics(Channel.READING),
    ts=maybe_ts,
    seq=maybe_seq,
    values=mostly(
        st.dictionaries(metric_names, metric_values, min_size=1, max_size=4), json_values
    ),
    region=short_texts,
    preset=short_texts,
    drop=noise_keys,
    extra=extras,
)
def test_near_valid_readings(topic, ts, seq, values, region, preset, drop, extra):
    fixed = {"ts": ts, "seq": seq, "values": values, "region": region, "preset": preset}
    result = decode(topic, orjson.dumps(_with_noise(fixed, drop, extra)), now=NOW, limits=LIMITS)
    check_outcome(topic, result)


@FAST
@given(
    topic=valid_topics(Channel.EVENT),
    ts=maybe_ts,
    seq=maybe_seq,
    event_type=mostly(st.sampled_from(sorted(EVENT_TYPES)), json_scalars),
    detail=mostly(st.none() | st.dictionaries(st.text(max_size=8), json_values), json_values),
    drop=noise_keys,
    extra=extras,
)
def test_near_valid_events(topic, ts, seq, event_type, detail, drop, extra):
    fixed = {"ts": ts, "seq": seq, "type": event_type, "detail": detail}
    result = decode(topic, orjson.dumps(_with_noise(fixed, drop, extra)), now=NOW, limits=LIMITS)
    check_outcome(topic, result)


@FAST
@given(
    topic=valid_topics(Channel.STATUS),
    ts=maybe_ts,
    seq=maybe_seq,
    battery=metric_values,
    rssi=mostly(st.floats(-150, 0), metric_values),
    firmware=short_texts,
    present=st.sets(st.sampled_from(["battery_pct", "rssi_dbm", "firmware"])),
    drop=noise_keys,
    extra=extras,
)
def test_near_valid_status(topic, ts, seq, battery, rssi, firmware, present, drop, extra):
    full = {"battery_pct": battery, "rssi_dbm": rssi, "firmware": firmware}
    fixed = {"ts": ts, "seq": seq, **{k: v for k, v in full.items() if k in present}}
    result = decode(topic, orjson.dumps(_with_noise(fixed, drop, extra)), now=NOW, limits=LIMITS)
    check_outcome(topic, result)


@FAST
@given(
    topic=valid_topics(Channel.FRAME),
    ts=maybe_ts,
    seq=maybe_seq,
    width=mostly(st.integers(1, 6), json_scalars),
    height=mostly(st.integers(1, 6), json_scalars),
    dtype=mostly(st.just("<u2"), json_scalars),
    scale=mostly(st.sampled_from([0.01, 0.02, 0.04]), st.floats(-1.0, 1e6) | json_scalars),
    offset=mostly(st.floats(-273.15, 100.0), st.floats(-1e6, 1e6) | json_scalars),
    preset=short_texts,
    drop=noise_keys,
    extra=extras,
    body_delta=mostly(st.just(0), st.integers(-3, 3)),
    fill=st.binary(min_size=2, max_size=2),
)
def test_near_valid_frames(
    topic, ts, seq, width, height, dtype, scale, offset, preset, drop, extra, body_delta, fill
):
    fixed = {
        "ts": ts,
        "seq": seq,
        "width": width,
        "height": height,
        "dtype": dtype,
        "scale": scale,
        "offset": offset,
        "preset": preset,
    }
    pixels = width * height if isinstance(width, int) and isinstance(height, int) else 1
    body = fill * max(0, min(pixels, 64)) + b"\x00" * max(0, body_delta)
    if body_delta < 0:
        body = body[:body_delta]
    header = orjson.dumps(_with_noise(fixed, drop, extra))
    check_outcome(topic, decode(topic, header + b"\n" + body, now=NOW, limits=LIMITS))


# --------------------------------------------------------------------------- (c) exact


@st.composite
def metric_value(draw: st.DrawFn, name: str) -> float | int:
    limits = METRIC_RANGES[name]
    if draw(st.booleans()):
        return draw(st.integers(math.ceil(limits.low), math.floor(limits.high)))
    return draw(st.floats(limits.low, limits.high, allow_nan=False, allow_infinity=False))


@st.composite
def valid_readings(draw: st.DrawFn) -> tuple[dict[str, Any], datetime]:
    names = draw(st.lists(st.sampled_from(reading_metrics), min_size=1, max_size=6, unique=True))
    values = {name: draw(metric_value(name)) for name in names}
    # Millisecond precision: epoch milliseconds cannot say more, and RFC 3339 may say less.
    offset_ms = draw(st.integers(-7 * 86400 * 1000, 300 * 1000))
    when = NOW + timedelta(milliseconds=offset_ms)
    if draw(st.booleans()):
        ts: str | int = int(NOW.timestamp() * 1000) + offset_ms
    else:
        zone = timezone(timedelta(minutes=draw(st.integers(-12 * 60, 14 * 60))))
        spec = "milliseconds" if when.microsecond else draw(st.sampled_from(["seconds", "auto"]))
        ts = when.astimezone(zone).isoformat(timespec=spec)
        if ts.endswith("+00:00") and draw(st.booleans()):
            ts = ts.removesuffix("+00:00") + "Z"
    body: dict[str, Any] = {"ts": ts, "seq": draw(st.integers(0, MAX_SEQ)), "values": values}
    for key in ("region", "preset"):
        if draw(st.booleans()):
            body[key] = draw(printable)
    return body, when


@FAST
@given(topic=valid_topics(Channel.READING), reading=valid_readings())
def test_valid_reading_decodes_to_exactly_its_values(topic, reading):
    body, when = reading
    result = decode(topic, orjson.dumps(body), now=NOW, limits=LIMITS)
    assert isinstance(result, Decoded), result
    assert result.values == {k: float(v) for k, v in body["values"].items()}
    assert result.ts == when
    assert result.seq == body["seq"]
    assert result.region == body.get("region") and result.preset == body.get("preset")
    check_outcome(topic, result)


@FAST
@given(
    topic=valid_topics(Channel.READING),
    name=st.sampled_from(reading_metrics),
    excess=st.floats(min_value=1e-3, max_value=1e12),
    below=st.booleans(),
)
def test_values_outside_the_range_are_out_of_range(topic, name, excess, below):
    limits = METRIC_RANGES[name]
    value = limits.low - excess if below else limits.high + excess
    body = {"ts": NOW.isoformat(), "seq": 1, "values": {name: value}}
    result = decode(topic, orjson.dumps(body), now=NOW, limits=LIMITS)
    assert isinstance(result, Rejection) and result.reason is Reason.OUT_OF_RANGE
    assert name in result.detail


# --------------------------------------------------------------------------- (d) frames


@st.composite
def frames(draw: st.DrawFn) -> tuple[np.ndarray, float, float]:
    scale = draw(st.sampled_from([0.01, 0.02, 0.05, 0.1, 0.25]))
    offset = draw(st.sampled_from([-273.15, -100.0, -40.0, 0.0]))
    # Stay a step below 2000 °C: a pixel of exactly 2000 may quantise to 2000.0001, out of range.
    top = min(offset + 65535 * scale, 2000.0 - scale)
    shape = (draw(st.integers(1, 8)), draw(st.integers(1, 8)))
    temps = draw(
        hnp.arrays(
            np.float64,
            shape,
            elements=st.floats(max(offset, -273.0), top, allow_nan=False, allow_infinity=False),
        )
    )
    return temps, scale, offset


@FAST
@given(
    topic=valid_topics(Channel.FRAME),
    frame=frames(),
    seq=st.integers(0, MAX_SEQ),
    preset=st.none() | st.sampled_from(["p1", "north gate", "预置位 3"]),
)
def test_frames_round_trip_within_quantisation(topic, frame, seq, preset):
    temps, scale, offset = frame
    data = encode_frame(
        temps, ts=NOW.isoformat(), seq=seq, preset=preset, scale=scale, offset=offset
    )
    result = decode(topic, data, now=NOW, limits=LIMITS)
    assert isinstance(result, Decoded), result
    _, pixels = decode_frame(data)
    assert pixels.shape == temps.shape
    # Half a quantisation step, plus float32 arithmetic on values up to a few thousand.
    tolerance = scale / 2 + 1e-3
    assert np.max(np.abs(pixels.astype(np.float64) - temps)) <= tolerance
    assert abs(result.values["frame_max_temp_c"] - temps.max()) <= tolerance
    assert abs(result.values["frame_min_temp_c"] - temps.min()) <= tolerance
    assert abs(result.values["frame_avg_temp_c"] - temps.mean()) <= tolerance
    assert (result.seq, result.preset, result.ts) == (seq, preset, NOW)
    check_outcome(topic, result)


# --------------------------------------------------------------------------- (e) device clocks


@FAST
@given(
    topic=valid_topics(Channel.EVENT),
    event_type=st.sampled_from(sorted(EVENT_TYPES)),
    offset_ms=st.integers(-10 * 365 * 86_400_000, 10 * 365 * 86_400_000),
    arrival_ms=st.integers(-2000, 0),
    tolerance_s=st.integers(0, 3600),
    stale_s=st.integers(60, 30 * 86400),
)
def test_the_time_window_decides_between_kept_restamped_and_dead_lettered(
    topic, event_type, offset_ms, arrival_ms, tolerance_s, stale_s
):
    limits = Limits(
        future_tolerance=timedelta(seconds=tolerance_s), stale_after=timedelta(seconds=stale_s)
    )
    sent = NOW + timedelta(milliseconds=offset_ms)
    arrived = NOW + timedelta(milliseconds=arrival_ms)
    body = {"ts": int(sent.timestamp() * 1000), "seq": 1, "type": event_type}
    result = decode(topic, orjson.dumps(body), now=NOW, limits=limits, arrived=arrived)
    inside = NOW - limits.stale_after <= sent <= NOW + limits.future_tolerance
    if inside:
        assert isinstance(result, Decoded) and (result.ts, result.device_ts) == (sent, None)
    elif event_type in CLOCK_EXEMPT_EVENTS:
        event("restamped")
        assert isinstance(result, Decoded) and (result.ts, result.device_ts) == (arrived, sent)
        skew = result.clock_skew()
        assert skew is not None
        assert skew["skew_s"] == round((sent - arrived).total_seconds(), 3)
        assert datetime.fromisoformat(skew["device_ts"]) == sent
    else:
        assert isinstance(result, Rejection)
        assert result.reason is (Reason.FUTURE_TIMESTAMP if sent > NOW else Reason.STALE)
