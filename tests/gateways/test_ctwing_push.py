"""CTWing's subscription push over real HTTP (uvicorn), into a real ingest and PostgreSQL:
reports built here in the shape CTWing publishes, signed as docs/gateways.md says."""

from __future__ import annotations

import base64
import time
from typing import Any

import httpx2
import orjson
import psycopg
import pytest

from api.app import create_app
from contract.kinds import Kind
from firewatch.testing import serving
from ingest.service import IngestService
from settings import Settings
from tests.conftest import Registry
from tests.gateways.push_helpers import (
    base_url,
    configure,
    count,
    ctwing_headers,
    dead_letters,
    push_settings,
)

__all__ = ["base_url"]  # a fixture

CTWING_ID = "d01308047f864601a821e02dc328eab4"
STREAMS = {
    "smoke_state": "alarm",
    "battery_value": "battery_pct",
    "leakage_current": "residual_current_ma",
    "cable_temp": "cable_temp_c",
}


def _ms(seconds_ago: float = 0) -> int:
    return int((time.time() - seconds_ago) * 1000)


def _data_report(service_data: dict[str, Any], *, at: int, device: str = CTWING_ID) -> bytes:
    return orjson.dumps(
        {
            "upPacketSN": -1,
            "upDataSN": -1,
            "topic": "v1/up/ad",
            "timestamp": at,
            "tenantId": "2000033827",
            "serviceId": "",
            "protocol": "lwm2m",
            "productId": "15045240",
            "payload": {"serviceId": "smoke", "serviceData": service_data},
            "messageType": "dataReport",
            "deviceType": "",
            "deviceId": device,
            "assocAssetId": "",
            "IMSI": "undefined",
            "IMEI": "861941770261953",
        }
    )


@pytest.fixture()
def monitor(registry: Registry, db: psycopg.Connection[Any], site: str) -> str:
    device = registry.add(f"EM-{site}", Kind.ELECTRICAL)
    configure(db, device, "ctwing", {"dev_id": CTWING_ID, "streams": STREAMS})
    return device


def _post(base_url: str, body: bytes, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.post(
        f"{base_url}/api/v1/gateways/ctwing",
        content=body,
        headers=ctwing_headers(body) if headers is None else headers,
        timeout=30,
    )


def _readings(db: psycopg.Connection[Any], device: str) -> list[tuple[str, float]]:
    rows = db.execute(
        "SELECT metric, value FROM readings WHERE device_id = %s ORDER BY metric", (device,)
    ).fetchall()
    return [(r[0], r[1]) for r in rows]


def _events(db: psycopg.Connection[Any], device: str) -> list[str]:
    rows = db.execute(
        "SELECT type FROM events WHERE device_id = %s ORDER BY ts, type", (device,)
    ).fetchall()
    return [r[0] for r in rows]


def test_a_data_report_is_committed_before_its_200_and_a_retry_stores_nothing_twice(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    body = _data_report(
        {"leakage_current": 312, "cable_temp": "41.5", "battery_value": 90, "IMEI": "8619"},
        at=_ms(30),
    )
    answer = _post(base_url, body)
    assert answer.status_code == 200, answer.text
    assert answer.json() == {"messages": 2, "refused": 0, "ignored": 1}
    assert _readings(db, monitor) == [("cable_temp_c", 41.5), ("residual_current_ma", 312.0)]
    for timestamp in ("1764906000001", "1764906000002"):  # retried, signed anew
        assert _post(base_url, body, ctwing_headers(body, timestamp=timestamp)).status_code == 200
    assert len(_readings(db, monitor)) == 2
    assert count(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", monitor) == 1


def test_event_reports_raise_and_clear(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    for seconds_ago, state in ((20, 1), (10, 0)):
        report = {
            "timestamp": _ms(seconds_ago),
            "tenantId": "2000033827",
            "serviceId": 1002,
            "protocol": "lwm2m",
            "productId": "15045240",
            "messageType": "eventReport",
            "eventType": 2,
            "eventContent": {"smoke_state": state},
            "deviceSn": "",
            "deviceId": CTWING_ID,
            "IMSI": "undefined",
            "IMEI": "861941770261953",
        }
        assert _post(base_url, orjson.dumps(report)).status_code == 200
    assert _events(db, monitor) == ["alarm", "alarm_cleared"]


def test_online_is_a_heartbeat_and_offline_is_not_stored(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    for event_type in (1, 0):
        report = {
            "timestamp": _ms(5 - event_type),
            "tenantId": "2000033827",
            "protocol": "lwm2m",
            "productId": "15045240",
            "messageType": "deviceOnlineOfflineReport",
            "iccid": "undefined",
            "eventType": event_type,
            "deviceId": CTWING_ID,
        }
        assert _post(base_url, orjson.dumps(report)).status_code == 200
    assert count(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", monitor) == 1


def test_passed_through_app_data_of_json_is_read(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    app_data = base64.b64encode(orjson.dumps({"leakage_current": 120.5})).decode()
    report = orjson.loads(_data_report({}, at=_ms(5)))
    report["payload"] = {"APPdata": app_data}
    assert _post(base_url, orjson.dumps(report)).status_code == 200
    assert _readings(db, monitor) == [("residual_current_ma", 120.5)]


def test_passed_through_bytes_it_cannot_read_are_dead_lettered(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any], site: str
) -> None:
    report = orjson.loads(_data_report({}, at=_ms(5)))
    report["payload"] = {"APPdata": "UFUAPBAAAAYBAAMAJwMnuwpogDAwYGck"}
    answer = _post(base_url, orjson.dumps(report))
    assert answer.status_code == 200
    assert answer.json()["refused"] == 1
    [(reason, detail, _)] = dead_letters(db, f"gw/ctwing/{site}/127.0.0.1")
    assert reason == "schema" and "APPdata" in detail


def test_an_unknown_device_is_listed_as_pending(
    base_url: str, ingest: IngestService, db: psycopg.Connection[Any], site: str
) -> None:
    stranger = f"ffff{site}"
    assert _post(base_url, _data_report({"smoke_state": 1}, at=_ms(5), device=stranger)).is_success
    pending = f"ctwing-{stranger}"
    assert count(db, "SELECT count(*) FROM pending_devices WHERE device_id = %s", pending) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"application": "fwApp01", "timestamp": "1764906000000"},
        {"application": "fwApp01", "timestamp": "1764906000000", "signature": "AAAA"},
    ],
)
def test_a_push_not_signed_with_the_secret_is_403_and_dead_lettered(
    base_url: str,
    ingest: IngestService,
    monitor: str,
    db: psycopg.Connection[Any],
    site: str,
    headers: dict[str, str],
) -> None:
    body = _data_report({"smoke_state": 1}, at=_ms(5))
    answer = _post(base_url, body, {"content-type": "application/json", **headers})
    assert answer.status_code == 403
    assert _events(db, monitor) == []
    assert [r for r, _, _ in dead_letters(db, f"gw/ctwing/{site}/127.0.0.1")] == ["bad_signature"]


def test_a_body_changed_after_signing_does_not_check(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    body = _data_report({"smoke_state": 0}, at=_ms(5))
    forged = body.replace(b'"smoke_state":0', b'"smoke_state":1')
    assert _post(base_url, forged, ctwing_headers(body)).status_code == 403
    assert _events(db, monitor) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [(b"{not json", "not JSON"), (b"[]", "one report"), (b'"text"', "one report")],
)
def test_a_malformed_body_is_400_and_dead_lettered(
    base_url: str,
    ingest: IngestService,
    db: psycopg.Connection[Any],
    site: str,
    body: bytes,
    says: str,
) -> None:
    answer = _post(base_url, body)
    assert answer.status_code == 400
    assert says in answer.json()["detail"]
    assert [r for r, _, _ in dead_letters(db, f"gw/ctwing/{site}/127.0.0.1")] == ["malformed"]


def test_a_report_from_a_wrong_clock_is_dead_lettered_not_stored(
    base_url: str, ingest: IngestService, monitor: str, db: psycopg.Connection[Any]
) -> None:
    future = _data_report({"leakage_current": 100}, at=_ms(-3600))
    assert _post(base_url, future).status_code == 200
    assert _readings(db, monitor) == []
    reasons = db.execute("SELECT reason FROM dead_letters WHERE device_id = %s", (monitor,))
    assert reasons.fetchall() == [("future_timestamp",)]


def test_the_route_is_off_until_its_secret_is_set(settings: Settings) -> None:
    with serving(create_app(settings)) as url:
        answer = _post(url, b"{}")
        assert answer.status_code == 404
        assert "FIREWATCH_CTWING_APP_SECRET" in answer.json()["detail"]


def test_without_ingest_the_push_gets_503(
    settings: Settings, monitor: str, db: psycopg.Connection[Any], site: str
) -> None:
    with serving(create_app(push_settings(settings, gateway_commit_timeout_s=0.3))) as url:
        answer = _post(url, _data_report({"leakage_current": 100}, at=_ms(5)))
        assert answer.status_code == 503
        assert answer.headers["retry-after"].isdigit()
    assert _readings(db, monitor) == []
    db.execute("DELETE FROM gateway_inbox WHERE site = %s", (site,))  # kept for no one
