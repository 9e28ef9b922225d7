"""Values inside otherwise well-formed input that once made a 500: a Digest response that is
not ASCII, a post count beyond 64 bits, a report nested deeper than the JSON encoder goes."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from gateways import ctwing, http_auth, isapi
from gateways.isapi_body import read_body
from tests.gateways.isapi_helpers import fire_xml

KEY = b"k" * 32


def test_a_digest_response_that_is_not_ascii_is_wrong_not_an_error() -> None:
    now = time.time()
    nonce = http_auth.nonce(key=KEY, now=now)
    header = (
        f'Digest username="CAM-1", realm="firewatch", nonce="{nonce}", uri="/x", '
        'response="éé", qop=auth, nc=00000001, cnonce="c"'
    )
    auth = http_auth.parse(header)
    assert auth is not None
    found = http_auth.check_digest(
        auth, method="POST", path="/x", realm="firewatch", password="p", key=KEY, now=now
    )
    assert found is http_auth.DigestCheck.WRONG
    assert http_auth.nonce_age("1.é", key=KEY, now=now) is None


def test_a_post_count_beyond_any_integer_column_is_left_out() -> None:
    body = fire_xml(datetime.now(UTC)).replace(
        b"<activePostCount>1</activePostCount>", b"<activePostCount>1e30</activePostCount>"
    )
    assert b"1e30" in body
    found = isapi.notification(read_body("application/xml", body), assume_tz=ZoneInfo("UTC"))
    made = isapi.contract_messages(found, site="s", device_id="C", received_at=datetime.now(UTC))
    assert [m.topic.rsplit("/", 1)[1] for m in made] == ["event"]


@pytest.mark.parametrize("depth", [300, 5000])
def test_a_report_nested_deeper_than_the_encoder_goes_is_refused(depth: int) -> None:
    nested: object = 1
    for _ in range(depth):
        nested = {"a": nested}
    report = {
        "messageType": "dataReport",
        "deviceId": "d1",
        "timestamp": int(time.time() * 1000),
        "payload": {"serviceData": nested},
    }
    out = ctwing.translate(report, site="s", devices=lambda _: None, received_at=datetime.now(UTC))
    assert out.problems and "deeper" in out.problems[0][0]
