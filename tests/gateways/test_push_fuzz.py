"""Bodies from hypothesis never make a platform push route answer 500: each is taken or refused
with a reason, over real HTTP into a real ingest, and a valid push still goes through after."""

from __future__ import annotations

import time
from typing import Any

import httpx2
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.kinds import Kind
from ingest.service import IngestService
from tests.conftest import Registry
from tests.gateways.push_helpers import (
    base_url,
    compact,
    configure,
    count,
    ctwing_headers,
    onenet_plain,
    onenet_secure,
)

__all__ = ["base_url"]  # a fixture

FUZZ = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ANSWERS = {200, 400, 403}

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["1", "0", "true", "23.5", "", "NaN", "1e999", "\x00"])
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
now_ms = int(time.time() * 1000)
onenet_messages = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from([1, 2, 7, "1", None, True]) | json_values,
        "dev_id": st.sampled_from([52013, "52013", -1, 2**80, "x"]) | json_values,
        "ds_id": st.sampled_from(["temperature", "smoke_state", "other", ""]) | json_values,
        "at": st.sampled_from([now_ms, str(now_ms), 0, 2**64, now_ms + 10**9]) | json_values,
        "value": json_values,
        "status": st.sampled_from([0, 1, 2, False]) | json_values,
    },
)
ctwing_reports = st.fixed_dictionaries(
    {},
    optional={
        "messageType": st.sampled_from(
            ["dataReport", "eventReport", "deviceOnlineOfflineReport", "commandResponse"]
        )
        | json_values,
        "deviceId": st.sampled_from(["fuzzdev", "", "x" * 80, "a/b"]) | json_values,
        "timestamp": st.sampled_from([now_ms, 0, 2**63, -5]) | json_values,
        "payload": st.fixed_dictionaries(
            {}, optional={"serviceData": json_values, "APPdata": json_values}
        )
        | json_values,
        "eventContent": json_values,
        "eventType": st.sampled_from([0, 1, 2]) | json_values,
    },
)


@pytest.fixture()
def mapped(registry: Registry, db: psycopg.Connection[Any], site: str) -> str:
    device = registry.add(f"FZ-{site}", Kind.SMOKE)
    configure(
        db,
        device,
        "onenet",
        {"dev_id": "52013", "streams": {"temperature": "temperature_c", "smoke_state": "alarm"}},
    )
    configure(db, device, "ctwing", {"dev_id": "fuzzdev", "streams": {"smoke_state": "alarm"}})
    return device


def _onenet(url: str, body: bytes) -> int:
    return httpx2.post(f"{url}/api/v1/gateways/onenet", content=body, timeout=30).status_code


def _ctwing(url: str, body: bytes, *, signed: bool = True) -> int:
    headers = ctwing_headers(body) if signed else {}
    return httpx2.post(
        f"{url}/api/v1/gateways/ctwing", content=body, headers=headers, timeout=30
    ).status_code


def _still_taking(url: str, db: psycopg.Connection[Any], device: str) -> None:
    msg = {
        "at": int(time.time() * 1000),
        "type": 1,
        "ds_id": "temperature",
        "value": 30.5,
        "dev_id": 52013,
    }
    assert _onenet(url, onenet_plain(msg)) == 200
    sql = "SELECT count(*) FROM readings WHERE device_id = %s AND value = 30.5"
    assert count(db, sql, device) >= 1


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(lambda v: compact(v).encode()))
def test_onenet_any_body(
    base_url: str, ingest: IngestService, mapped: str, db: psycopg.Connection[Any], body: bytes
) -> None:
    assert _onenet(base_url, body) in ANSWERS


@FUZZ
@given(msg=onenet_messages | st.lists(onenet_messages, min_size=1, max_size=4) | json_values)
def test_onenet_any_signed_msg(
    base_url: str, ingest: IngestService, mapped: str, db: psycopg.Connection[Any], msg: Any
) -> None:
    assert _onenet(base_url, onenet_plain(msg)) in ANSWERS
    assert _onenet(base_url, onenet_secure(msg)) in ANSWERS


def test_onenet_valid_pushes_go_on_after_the_fuzz(
    base_url: str, ingest: IngestService, mapped: str, db: psycopg.Connection[Any]
) -> None:
    huge = (
        b'{"msg":{"type":1,"dev_id":123456789012345678901234567890,"at":1},'
        b'"msg_signature":"x","nonce":"abcdefgh"}'
    )
    assert _onenet(base_url, huge) == 403
    _still_taking(base_url, db, mapped)


@FUZZ
@given(report=ctwing_reports | json_values, signed=st.booleans())
def test_ctwing_any_report(
    base_url: str,
    ingest: IngestService,
    mapped: str,
    db: psycopg.Connection[Any],
    report: Any,
    signed: bool,
) -> None:
    assert _ctwing(base_url, compact(report).encode(), signed=signed) in ANSWERS


@FUZZ
@given(body=st.binary(max_size=300))
def test_ctwing_any_signed_bytes(
    base_url: str, ingest: IngestService, mapped: str, db: psycopg.Connection[Any], body: bytes
) -> None:
    assert _ctwing(base_url, body) in ANSWERS


@pytest.mark.parametrize("member", ["nonce", "msg_signature", "enc_msg"])
def test_onenet_a_lone_surrogate_in_a_signed_member_is_a_400(
    base_url: str, ingest: IngestService, mapped: str, db: psycopg.Connection[Any], member: str
) -> None:
    """Valid JSON (an escaped lone surrogate) that no string can be UTF-8 encoded from: the
    signature's hash met it and answered 500."""
    fields = {"nonce": '"Ab12Cd34"', "msg_signature": '"x"', "enc_msg": '"AAAA"'}
    fields[member] = '"ab\\ud800cd"'
    body = "{" + ",".join(f'"{k}":{v}' for k, v in fields.items()) + "}"
    response = httpx2.post(f"{base_url}/api/v1/gateways/onenet", content=body, timeout=30)
    assert response.status_code == 400, response.text
    assert member in response.json()["detail"] and "surrogate" in response.json()["detail"]
    _still_taking(base_url, db, mapped)
