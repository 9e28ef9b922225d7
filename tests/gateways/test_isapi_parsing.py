"""The ISAPI receiver's pure parts: the body read in any chunking gives the same alert, any
bytes give a notification or a refusal with a reason (never another exception), hostile XML
is refused before it costs anything, and Digest answers as RFC 7616 computes them."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.messages import Reason
from gateways import http_auth
from gateways.isapi import contract_messages, notification
from gateways.isapi_body import Body, BodyReader, Refused, Syntax, read_body
from tests.gateways.isapi_helpers import MULTIPART, fire_xml, multipart, tma_xml

SHANGHAI = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 12, 5, 19, 30, 0, tzinfo=SHANGHAI)
CONTENT_TYPES = st.sampled_from(
    [
        "application/xml",
        'application/xml; charset="UTF-8"',
        "application/json",
        "text/plain",
        "",
        MULTIPART,
        "multipart/mixed; boundary=MIME_boundary",
        "multipart/form-data",
    ]
)


def _parse(content_type: str, chunks: list[bytes]) -> Body:
    reader = BodyReader(content_type)
    for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


@given(cuts=st.lists(st.integers(min_value=0, max_value=700_000), max_size=12))
@settings(max_examples=60, deadline=None)
def test_any_chunking_gives_the_same_alert(cuts: list[int]) -> None:
    alert = fire_xml(AT)
    body = multipart(alert, b"\xff\xd8" + bytes(300_000) + b"\xff\xd9", b"\r\n--boundar" * 50)
    edges = [0, *sorted(c % (len(body) + 1) for c in cuts), len(body)]
    found = _parse(MULTIPART, [body[a:b] for a, b in pairwise(edges)])
    assert found.alert.strip() == alert.strip()
    assert (found.syntax, found.pictures) == (Syntax.XML, 2)
    assert found.dropped_bytes >= 300_004


@given(body=st.binary(max_size=4096), content_type=CONTENT_TYPES)
@settings(max_examples=400, deadline=None)
def test_any_bytes_are_a_notification_or_a_refusal(body: bytes, content_type: str) -> None:
    try:
        found = notification(read_body(content_type, body), assume_tz=SHANGHAI)
    except Refused as refused:
        assert refused.reason in Reason and refused.detail
        return
    contract_messages(found, site="s", device_id="D", received_at=datetime.now(UTC))


_TAGS = st.sampled_from(
    [
        "eventType",
        "eventState",
        "dateTime",
        "activePostCount",
        "channelID",
        "TMA",
        "TMPA",
        "currTemperature",
        "maxTemperature",
        "thermometryUnit",
        "presetNo",
        "regionID",
        "DetectionRegionList",
        "DetectionRegionEntry",
        "FireDetection",
        "fireMaxTemperature",
        "ruleType",
        "x",
    ]
)
_TEXTS = st.one_of(
    st.sampled_from(
        [
            "TMA",
            "TMPA",
            "fireDetection",
            "smokeDetection",
            "heartBeat",
            "videoloss",
            "active",
            "inactive",
            "2026-12-05T19:30:00+08:00",
            "2026-12-05T19:30:00",
            "NaN",
            "1e999",
            "-40",
            "1200.5",
            "fahrenheit",
            "kelvin",
            "lowest",
            "average",
            "diff",
            "0",
        ]
    ),
    st.text(max_size=20),
)
_TREES = st.recursive(
    _TEXTS.map(lambda t: t.replace("&", "&amp;").replace("<", "&lt;")),
    lambda children: st.lists(st.tuples(_TAGS, children), max_size=5).map(
        lambda items: "".join(f"<{tag}>{inner}</{tag}>" for tag, inner in items)
    ),
    max_leaves=30,
)


@given(tree=_TREES)
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_alert_shaped_xml_is_a_notification_or_a_refusal(tree: str) -> None:
    text = f"<EventNotificationAlert>{tree}</EventNotificationAlert>"
    try:
        found = notification(read_body("application/xml", text.encode()), assume_tz=SHANGHAI)
    except Refused as refused:
        assert refused.reason in (Reason.MALFORMED, Reason.SCHEMA)
        return
    for message in contract_messages(found, site="s", device_id="D", received_at=AT):
        assert message.topic.startswith("fw/v1/s/D/")


@pytest.mark.parametrize(
    "xml",
    [
        # Billion laughs: ten levels of ten, 10^9 "lol"s if expanded.
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        + b"".join(
            b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
            for i in range(1, 10)
        )
        + b"]><EventNotificationAlert>&lol9;</EventNotificationAlert>",
        b'<!DOCTYPE a [<!ENTITY e SYSTEM "http://127.0.0.1:1/x">]><EventNotificationAlert>&e;'
        b"</EventNotificationAlert>",
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:1/x.dtd"><EventNotificationAlert/>',
        b"<EventNotificationAlert>"
        + b"<a>" * 50_000
        + b"</a>" * 50_000
        + b"</EventNotificationAlert>",
        b"<EventNotificationAlert>" + b"<a/>" * 10_000 + b"</EventNotificationAlert>",
    ],
    ids=["billion-laughs", "external-entity", "external-dtd", "deep", "wide"],
)
def test_hostile_xml_is_refused_at_once(xml: bytes) -> None:
    started = time.perf_counter()
    with pytest.raises(Refused) as refused:
        notification(Body(xml, Syntax.XML), assume_tz=SHANGHAI)
    assert refused.value.reason is Reason.MALFORMED
    assert time.perf_counter() - started < 1.0


def test_deep_json_is_refused() -> None:
    with pytest.raises(Refused, match="nests deeper"):
        notification(Body(b'{"a":' * 200 + b"1" + b"}" * 200, Syntax.JSON), assume_tz=SHANGHAI)


def test_a_camera_clock_without_offset_is_read_on_the_site_clock() -> None:
    naive = tma_xml(AT, 60.0).replace(b"+08:00", b"")
    found = notification(read_body("application/xml", naive), assume_tz=SHANGHAI)
    assert found.at == AT


def test_a_repeat_makes_the_same_messages_and_the_next_post_another() -> None:
    def payloads(body: bytes) -> list[bytes]:
        found = notification(read_body("application/xml", body), assume_tz=SHANGHAI)
        received = datetime.now(UTC)
        return [
            m.payload
            for m in contract_messages(found, site="s", device_id="D", received_at=received)
        ]

    assert payloads(tma_xml(AT, 61.0)) == payloads(tma_xml(AT, 61.0))
    assert payloads(tma_xml(AT, 61.0)) != payloads(tma_xml(AT, 61.0, count=2))
    assert payloads(fire_xml(AT)) != payloads(fire_xml(AT, state="inactive"))


# --- Digest ------------------------------------------------------------------------------

KEY = b"k" * 32


def _md5(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()  # RFC 7616's MD5


def _answer(nonce: str, *, password: str, uri: str = "/api/v1/gateways/isapi") -> str:
    """RFC 7616 section 3.4.1 with qop=auth, computed here from the RFC."""
    ha1 = _md5(f"CAM-1:firewatch:{password}")
    ha2 = _md5(f"POST:{uri}")
    response = _md5(f"{ha1}:{nonce}:00000001:0a4f113b:auth:{ha2}")
    return (
        f'Digest username="CAM-1", realm="firewatch", nonce="{nonce}", uri="{uri}", '
        f'qop=auth, nc=00000001, cnonce="0a4f113b", response="{response}", algorithm=MD5'
    )


def _check(header: str, *, now: float) -> http_auth.DigestCheck:
    auth = http_auth.parse(header)
    assert auth is not None
    return http_auth.check_digest(
        auth,
        method="POST",
        path="/api/v1/gateways/isapi",
        realm="firewatch",
        password="secret",
        key=KEY,
        now=now,
    )


def test_digest_right_wrong_stale_forged() -> None:
    now = 1_800_000_000.0
    nonce = http_auth.nonce(key=KEY, now=now)
    assert _check(_answer(nonce, password="secret"), now=now + 10) is http_auth.DigestCheck.OK
    assert _check(_answer(nonce, password="guess"), now=now) is http_auth.DigestCheck.WRONG
    later = now + http_auth.NONCE_TTL_S + 1
    assert _check(_answer(nonce, password="secret"), now=later) is http_auth.DigestCheck.STALE
    forged = f"{int(now)}.{'0' * 32}"
    assert _check(_answer(forged, password="secret"), now=now) is http_auth.DigestCheck.WRONG
    elsewhere = _answer(nonce, password="secret", uri="/api/v1/other")
    assert _check(elsewhere, now=now) is http_auth.DigestCheck.WRONG


@given(header=st.text(max_size=300))
@settings(max_examples=300, deadline=None)
def test_any_authorization_header_parses_or_is_none(header: str) -> None:
    for candidate in (header, "Digest " + header, "Basic " + header):
        found = http_auth.parse(candidate)
        if found is not None and found.scheme is http_auth.Scheme.DIGEST:
            check = http_auth.check_digest(
                found,
                method="POST",
                path="/p",
                realm="firewatch",
                password="x",
                key=KEY,
                now=time.time(),
            )
            assert check is http_auth.DigestCheck.WRONG


def test_stale_window_is_the_nonce_life() -> None:
    now = time.time()
    nonce = http_auth.nonce(key=KEY, now=now - timedelta(minutes=4).total_seconds())
    assert _check(_answer(nonce, password="secret"), now=now) is http_auth.DigestCheck.OK


def _kinds(body: bytes) -> list[tuple[str, str | None]]:
    found = notification(read_body("application/xml", body), assume_tz=SHANGHAI)
    out = []
    for message in contract_messages(found, site="s", device_id="D", received_at=AT):
        channel = message.topic.rsplit("/", 1)[1]
        out.append((channel, orjson.loads(message.payload).get("type")))
    return out


@pytest.mark.parametrize(
    ("event_type", "state", "expected"),
    [
        ("fireDetection", "active", [("event", "fire_detected")]),
        ("smokeDetection", "active", [("event", "smoke_detected")]),
        (
            "smokeAndFireDetection",
            "active",
            [("event", "fire_detected"), ("event", "smoke_detected")],
        ),
        ("smokeAndFireDetection", "inactive", [("event", "alarm_cleared")]),
        ("videoloss", "active", [("event", "fault")]),
        ("videoloss", "inactive", [("status", None)]),
        ("heartBeat", "active", [("status", None)]),
        ("VMD", "active", [("status", None)]),
    ],
)
def test_each_event_type_becomes_what_the_docs_say(
    event_type: str, state: str, expected: list[tuple[str, str | None]]
) -> None:
    body = fire_xml(AT, state=state, kind=event_type)
    assert _kinds(body) == expected


def test_thermometry_is_the_cameras_verdict_and_its_readings() -> None:
    assert _kinds(tma_xml(AT, 80.0)) == [("event", "temperature_alarm"), ("reading", None)]
    assert _kinds(tma_xml(AT, 50.0, kind="TMPA")) == [
        ("event", "temperature_prealarm"),
        ("reading", None),
    ]
    assert _kinds(tma_xml(AT, 40.0, state="inactive")) == [
        ("event", "temperature_alarm_cleared"),
        ("reading", None),
    ]


def test_a_difference_rule_is_its_verdict_alone_and_no_temperature_refused() -> None:
    difference = tma_xml(AT, 12.0).replace(
        b"highest temp is higher than", b"temperature diff is higher than"
    )
    assert _kinds(difference) == [("event", "temperature_alarm")]
    bare = tma_xml(AT, 12.0).replace(b"<currTemperature>12.0</currTemperature>", b"")
    with pytest.raises(Refused, match="without a temperature"):
        _kinds(bare)
