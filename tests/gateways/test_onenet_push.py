"""OneNET's HTTP push over real HTTP (uvicorn), into a real ingest and PostgreSQL: the URL
check and the bodies are built here from OneNET's published algorithm and format."""

from __future__ import annotations

import threading
import time
from typing import Any
from urllib.parse import quote

import httpx2
import psycopg
import pytest

from api.app import create_app
from contract.kinds import Kind
from firewatch.testing import serving, wait_until
from ingest.service import IngestService
from settings import Settings
from tests.conftest import Registry
from tests.gateways.push_helpers import (
    base_url,
    configure,
    count,
    dead_letters,
    onenet_plain,
    onenet_secure,
    onenet_signature,
    push_settings,
)

__all__ = ["base_url"]  # a fixture

DEV_ID = 52013
STREAMS = {"smoke_state": "alarm", "temperature": "temperature_c", "battery": "battery_pct"}


def _at(seconds_ago: float = 0) -> int:
    return int((time.time() - seconds_ago) * 1000)


@pytest.fixture()
def detector(registry: Registry, db: psycopg.Connection[Any], site: str) -> str:
    device = registry.add(f"SD-{site}", Kind.SMOKE)
    configure(db, device, "onenet", {"dev_id": str(DEV_ID), "streams": STREAMS})
    return device


def _post(base_url: str, body: bytes) -> httpx2.Response:
    return httpx2.post(
        f"{base_url}/api/v1/gateways/onenet",
        content=body,
        headers={"content-type": "application/json"},
        timeout=30,
    )


def _readings(db: psycopg.Connection[Any], device: str) -> int:
    return count(db, "SELECT count(*) FROM readings WHERE device_id = %s", device)


def _events(db: psycopg.Connection[Any], device: str, event_type: str) -> int:
    return count(
        db, "SELECT count(*) FROM events WHERE device_id = %s AND type = %s", device, event_type
    )


def _heartbeats(db: psycopg.Connection[Any], device: str) -> int:
    return count(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", device)


def test_url_check_answers_msg(base_url: str) -> None:
    msg, nonce = "a7Zp+Q/9", "n0nce123"
    signature = onenet_signature(nonce, msg)
    answer = httpx2.get(
        f"{base_url}/api/v1/gateways/onenet",
        params={"msg": msg, "nonce": nonce, "signature": signature},
    )
    assert (answer.status_code, answer.text) == (200, msg)
    # The platform's own URL may leave '+' unescaped, which a query string reads as a space.
    raw = f"msg={quote(msg)}&nonce={nonce}&signature={signature.replace('/', '%2F')}"
    assert httpx2.get(f"{base_url}/api/v1/gateways/onenet?{raw}").text == msg


def test_url_check_with_a_wrong_signature_is_refused_and_dead_lettered(
    base_url: str, ingest: IngestService, db: psycopg.Connection[Any], site: str
) -> None:
    wrong = onenet_signature("n0nce123", "hello", token="not-the-token")
    answer = httpx2.get(
        f"{base_url}/api/v1/gateways/onenet",
        params={"msg": "hello", "nonce": "n0nce123", "signature": wrong},
    )
    assert answer.status_code == 403
    letters = dead_letters(db, f"gw/onenet/{site}/127.0.0.1")
    assert [reason for reason, _, _ in letters] == ["bad_signature"]


def test_a_plain_push_is_committed_before_its_200_and_a_retry_stores_nothing_twice(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any]
) -> None:
    at = _at(60)
    msg = [
        {"at": at, "type": 1, "ds_id": "temperature", "value": 23.5, "dev_id": DEV_ID},
        {"at": at, "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": DEV_ID},
        {"at": at, "type": 1, "ds_id": "battery", "value": "87", "dev_id": DEV_ID},
        {"at": at, "type": 2, "status": 1, "login_type": 10, "dev_id": DEV_ID},
        {"at": at, "type": 1, "ds_id": "imei", "value": "861941770261953", "dev_id": DEV_ID},
    ]
    body = onenet_plain(msg)
    answer = _post(base_url, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"messages": 5, "refused": 0, "ignored": 1}
    # Committed when the 200 came: read at once, not eventually.
    value = db.execute(
        "SELECT metric, value FROM readings WHERE device_id = %s", (detector,)
    ).fetchall()
    assert value == [("temperature_c", 23.5)]
    assert _events(db, detector, "alarm") == 1
    batteries = db.execute(
        "SELECT battery_pct FROM heartbeats WHERE device_id = %s ORDER BY battery_pct",
        (detector,),
    ).fetchall()
    # The battery stream, the online message, and the IMEI (not mapped: the device heard).
    assert batteries == [(87.0,), (None,), (None,)]
    for _ in range(2):  # the platform sends again: the same messages, stored once
        assert _post(base_url, body).status_code == 200
    assert _readings(db, detector) == 1
    assert _events(db, detector, "alarm") == 1
    assert _heartbeats(db, detector) == 3


def test_a_secure_push_is_decrypted_and_stored(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any]
) -> None:
    msg = {"at": _at(30), "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": DEV_ID}
    answer = _post(base_url, onenet_secure(msg))
    assert answer.status_code == 200, answer.text
    assert _events(db, detector, "alarm") == 1
    cleared = {**msg, "value": 0, "at": _at(10)}
    assert _post(base_url, onenet_secure(cleared)).status_code == 200
    assert _events(db, detector, "alarm_cleared") == 1


def test_without_ingest_the_push_gets_503_and_is_stored_once_when_ingest_runs(
    settings: Settings, registry: Registry, db: psycopg.Connection[Any], site: str
) -> None:
    device = registry.add(f"SD-{site}", Kind.SMOKE)
    configure(db, device, "onenet", {"dev_id": str(DEV_ID), "streams": STREAMS})
    msg = {"at": _at(20), "type": 1, "ds_id": "temperature", "value": 21.0, "dev_id": DEV_ID}
    body = onenet_plain(msg)
    app = create_app(push_settings(settings, gateway_commit_timeout_s=0.5))
    with serving(app) as url:
        answer = _post(url, body)
        assert answer.status_code == 503
        assert answer.headers["retry-after"].isdigit()
        assert _readings(db, device) == 0
        with _ingest_running(settings):
            wait_until(lambda: _readings(db, device) == 1, timeout=10, what="the kept push")
            retried = _post(url, body)  # the platform's retry after the 503
            assert retried.status_code == 200, retried.text
            assert _readings(db, device) == 1


def _ingest_running(settings: Settings) -> Any:
    class Running:
        def __enter__(self) -> IngestService:
            self.service = IngestService(settings)
            self.stop = threading.Event()
            self.thread = threading.Thread(target=self.service.run, args=(self.stop,), daemon=True)
            self.thread.start()
            wait_until(lambda: self.service.ready, timeout=10, what="ingest to connect")
            return self.service

        def __exit__(self, *_: object) -> None:
            self.stop.set()
            self.thread.join(timeout=10)

    return Running()


def test_a_wrong_signature_is_403_and_dead_lettered_as_it_came(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any], site: str
) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": DEV_ID}
    body = onenet_plain(msg, token="someone-else")
    answer = _post(base_url, body)
    assert answer.status_code == 403
    assert "msg_signature" in answer.json()["detail"]
    assert _events(db, detector, "alarm") == 0
    assert dead_letters(db, f"gw/onenet/{site}/127.0.0.1") == [
        ("bad_signature", "msg_signature does not match msg", body)
    ]


def test_a_burst_of_forged_pushes_fills_no_dead_letters(
    base_url: str, ingest: IngestService, db: psycopg.Connection[Any], site: str
) -> None:
    """The route faces the internet: past a small burst, a forger's pushes are answered 403
    and only counted, so the site's dead letters (capped) and the inbox stay for real ones."""
    msg = {"at": _at(5), "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": DEV_ID}
    for n in range(40):
        forged = onenet_plain({**msg, "value": n}, token="someone-else")
        assert _post(base_url, forged).status_code == 403
    recorded = len(dead_letters(db, f"gw/onenet/{site}/127.0.0.1"))
    assert 20 <= recorded < 40


def test_a_tampered_body_does_not_check(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any]
) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "smoke_state", "value": 0, "dev_id": DEV_ID}
    body = onenet_plain(msg).replace(b'"value":0', b'"value":1')
    assert _post(base_url, body).status_code == 403
    assert _events(db, detector, "alarm") == 0


def test_an_unknown_dev_id_is_listed_as_pending(
    base_url: str, ingest: IngestService, db: psycopg.Connection[Any]
) -> None:
    dev_id = 990000 + int(time.time()) % 10000
    msg = {"at": _at(5), "type": 1, "ds_id": "smoke_state", "value": 1, "dev_id": dev_id}
    assert _post(base_url, onenet_plain(msg)).status_code == 200
    pending = f"onenet-{dev_id}"
    assert count(db, "SELECT count(*) FROM pending_devices WHERE device_id = %s", pending) == 1


def test_a_message_it_cannot_use_is_dead_lettered_and_the_rest_stored(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any], site: str
) -> None:
    at = _at(5)
    msg = [
        {"at": at, "type": 1, "ds_id": "temperature", "value": "hot", "dev_id": DEV_ID},
        {"at": at, "type": 1, "ds_id": "smoke_state", "value": 7, "dev_id": DEV_ID},
        {"at": "yesterday", "type": 1, "ds_id": "temperature", "value": 1, "dev_id": DEV_ID},
        {"at": at, "type": 1, "ds_id": "temperature", "value": 22.0, "dev_id": DEV_ID},
        {"at": at, "type": 7, "cmd_type": 1, "cmd_id": "c1", "dev_id": DEV_ID},
    ]
    answer = _post(base_url, onenet_plain(msg))
    assert answer.status_code == 200
    assert answer.json() == {"messages": 1, "refused": 3, "ignored": 1}
    assert _readings(db, detector) == 1
    details = sorted(d for _, d, _ in dead_letters(db, f"gw/onenet/{site}/127.0.0.1"))
    assert details == [
        "'at' must be epoch milliseconds between 2000 and 2100",
        "smoke_state: 7 is neither 1/true nor 0/false",
        "temperature: 'hot' is not a number",
    ]


def test_a_value_out_of_range_is_dead_lettered_by_ingest(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any]
) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "temperature", "value": 5000, "dev_id": DEV_ID}
    assert _post(base_url, onenet_plain(msg)).status_code == 200
    assert _readings(db, detector) == 0
    reasons = db.execute(
        "SELECT reason FROM dead_letters WHERE device_id = %s", (detector,)
    ).fetchall()
    assert reasons == [("out_of_range",)]


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (b"not json", "not a JSON object"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"msg": {}, "msg_signature": "x"}', "'nonce' must be a string"),
        (b'{"nonce": "abcdefgh", "msg_signature": "x"}', "neither 'msg' nor 'enc_msg'"),
        (b'{"nonce": "a", "nonce": "b", "msg_signature": "x", "msg": {}}', "given twice"),
        (b'{"nonce": "abcdefgh", "msg_signature": "x", "msg": {}} trailing', "follows"),
        (b"\xff\xfe", "not a JSON object"),
        (b"{" * 100_000, "not a JSON object"),
    ],
)
def test_a_malformed_body_is_400_with_what_is_wrong_and_dead_lettered(
    base_url: str,
    ingest: IngestService,
    db: psycopg.Connection[Any],
    site: str,
    body: bytes,
    says: str,
) -> None:
    answer = _post(base_url, body)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["detail"]
    letters = dead_letters(db, f"gw/onenet/{site}/127.0.0.1")
    assert [reason for reason, _, _ in letters] == ["malformed"]


def test_a_signed_msg_that_is_not_messages_is_400(base_url: str, ingest: IngestService) -> None:
    answer = _post(base_url, onenet_plain("just text"))
    assert answer.status_code == 400
    assert "'msg' must be an object or a non-empty array" in answer.json()["detail"]


def test_enc_msg_that_does_not_decrypt_is_400(base_url: str, ingest: IngestService) -> None:
    enc = "QUJDREVGR0hJSktMTU5PUA=="  # one block of Base64, sealed with no key of ours
    signature = onenet_signature("abcdefgh", enc)
    body = f'{{"enc_msg":"{enc}","msg_signature":"{signature}","nonce":"abcdefgh"}}'.encode()
    answer = _post(base_url, body)
    assert answer.status_code == 400
    assert "enc_msg" in answer.json()["detail"]


def test_an_oversize_body_is_413(base_url: str) -> None:
    answer = _post(base_url, b"{" + b" " * (300 * 1024) + b"}")
    assert answer.status_code == 413


def test_the_route_is_off_until_its_token_is_set(settings: Settings) -> None:
    with serving(create_app(settings)) as url:
        answer = _post(url, onenet_plain({"type": 2}))
        assert answer.status_code == 404
        assert "FIREWATCH_ONENET_TOKEN" in answer.json()["detail"]
        check = httpx2.get(
            f"{url}/api/v1/gateways/onenet", params={"msg": "m", "nonce": "n", "signature": "s"}
        )
        assert check.status_code == 404


def test_secure_mode_without_the_key_set_asks_to_send_again(settings: Settings) -> None:
    with serving(create_app(push_settings(settings, onenet_aes_key=""))) as url:
        answer = _post(url, onenet_secure({"type": 2}))
        assert answer.status_code == 503
        assert "FIREWATCH_ONENET_AES_KEY" in answer.json()["detail"]


def test_the_metrics_count_per_gateway(base_url: str, ingest: IngestService, detector: str) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "temperature", "value": 20.0, "dev_id": DEV_ID}
    assert _post(base_url, onenet_plain(msg)).status_code == 200
    assert _post(base_url, onenet_plain(msg, token="wrong")).status_code == 403
    scraped = httpx2.get(f"{base_url}/metrics").text
    assert 'firewatch_gateway_push_answered_total{gateway="onenet",status="200"} 1.0' in scraped
    assert 'firewatch_gateway_push_answered_total{gateway="onenet",status="403"} 1.0' in scraped
    assert 'firewatch_gateway_push_messages_total{gateway="onenet"} 1.0' in scraped
    assert (
        'firewatch_gateway_push_refused_total{gateway="onenet",reason="bad_signature"} 1.0'
        in scraped
    )


def test_a_device_added_later_is_mapped_within_seconds(
    base_url: str,
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "temperature", "value": 20.0, "dev_id": DEV_ID}
    assert _post(base_url, onenet_plain(msg)).status_code == 200  # unknown: pending
    device = registry.add(f"SD-{site}", Kind.SMOKE)
    configure(db, device, "onenet", {"dev_id": str(DEV_ID), "streams": STREAMS})
    later = {**msg, "at": _at(1)}

    def stored() -> bool:
        assert _post(base_url, onenet_plain(later)).status_code == 200
        return _readings(db, device) == 1

    wait_until(stored, timeout=15, what="the new mapping to be read")


def test_a_report_of_nothing_mapped_is_still_the_device_heard(
    base_url: str, ingest: IngestService, detector: str, db: psycopg.Connection[Any]
) -> None:
    msg = {"at": _at(5), "type": 1, "ds_id": "csq", "value": 21, "dev_id": DEV_ID}
    answer = _post(base_url, onenet_plain(msg))
    assert answer.json() == {"messages": 1, "refused": 0, "ignored": 1}
    assert _heartbeats(db, detector) == 1
    assert _readings(db, detector) == 0
