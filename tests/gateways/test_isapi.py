"""The camera alarm receiver on a real socket, with a real ingest and PostgreSQL: a thermal
camera's ISAPI notifications become the same alerts its readings would raise, 200 only after
commit, a re-post stores nothing twice, and wrong logins, bad bodies and ingest away each get
their answer."""

from __future__ import annotations

import base64
import hashlib
import math
import re
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx2
import orjson
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.routers import gateways_isapi
from contract.kinds import Kind
from firewatch.testing import serving, wait_until
from ingest.service import IngestService
from settings import Settings
from simulators.isapi_camera import IsapiCamera, Post, fake_jpeg
from simulators.publisher import Publisher
from store.dead_letters import PAYLOAD_KEEP_BYTES
from tests.conftest import Registry
from tests.gateways.isapi_helpers import (
    CAMERA_PASSWORD,
    DEVICE_PASSWORD,
    MULTIPART,
    QUICK_RULES,
    URL_PATH,
    add_camera,
    base_url,
    fire_xml,
    heartbeat_xml,
    multipart,
    scalar,
    tma_xml,
)

__all__ = ["base_url"]  # the fixture, used by name

XML = {"content-type": 'application/xml; charset="UTF-8"'}


def _post(
    base_url: str,
    body: bytes,
    *,
    headers: dict[str, str] | None = None,
    auth: Any = None,
    device: str | None = None,
) -> httpx2.Response:
    if auth is None:
        assert device is not None
        auth = httpx2.BasicAuth(device, DEVICE_PASSWORD)
    return httpx2.post(
        base_url + URL_PATH, content=body, headers=headers or XML, auth=auth, timeout=30
    )


def _readings(db: psycopg.Connection[Any], device: str) -> list[tuple[Any, ...]]:
    return db.execute(
        "SELECT metric, value, region, preset FROM readings WHERE device_id = %s ORDER BY ts",
        (device,),
    ).fetchall()


def _alert(db: psycopg.Connection[Any], device: str, rule: str) -> tuple[Any, ...] | None:
    return db.execute(
        "SELECT rule, class, state, count, detail FROM alerts WHERE device_id = %s AND rule = %s",
        (device, rule),
    ).fetchone()


def test_a_tma_alarm_raises_the_alert_equivalent_readings_raise(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    settings: Settings,
    site: str,
) -> None:
    """Posts at a roof's 30 °C, then the alarm at 80 °C: the readings are judged like a twin
    camera's that published them on MQTT (the same region-rule decisions), and the camera's own
    verdicts make its alert the same fire-class camera_hotspot."""
    camera = add_camera(registry, db, f"{site}-CAM")
    twin = registry.add(f"{site}-TWIN", Kind.THERMAL_CAMERA)
    db.execute(
        "UPDATE devices SET config = %s::jsonb WHERE id = %s",
        (orjson.dumps(QUICK_RULES).decode(), twin),
    )
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=60)
    temps = [30.0, 30.5, 30.2, 30.4, 80.0, 81.0, 82.0]
    with Publisher(settings.mqtt, client_id=f"pub-{settings.site}") as pub:
        for i, celsius in enumerate(temps):
            at = start + timedelta(seconds=5 * i)
            kind = "TMA" if celsius >= 55 else "TMPA"
            response = _post(base_url, tma_xml(at, celsius, count=i + 1, kind=kind), device=camera)
            assert response.status_code == 200, response.text
            assert b"<statusString>OK</statusString>" in response.content
            reading = {
                "ts": at.isoformat(),
                "seq": i,
                "values": {"max_temp_c": celsius},
                "region": "rule-1",
                "preset": "1",
            }
            pub.publish(f"fw/v1/{settings.site}/{twin}/reading", orjson.dumps(reading))
    # Committed before the 200: no waiting for the camera's readings.
    assert _readings(db, camera) == [("max_temp_c", c, "rule-1", "1") for c in temps]
    wait_until(lambda: _alert(db, twin, "camera_hotspot") is not None, timeout=15, what="twin")
    ours, theirs = _alert(db, camera, "camera_hotspot"), _alert(db, twin, "camera_hotspot")
    assert ours is not None and theirs is not None
    assert ours[:2] == theirs[:2] == ("camera_hotspot", "fire")


def test_a_camera_that_posts_only_while_alarming_raises_its_own_verdict(
    ingest: IngestService, registry: Registry, db: psycopg.Connection[Any], base_url: str, site: str
) -> None:
    """No baseline for the region rule (a steady 80 °C): the camera's TMA is a fire-class
    camera_hotspot all the same; its end ends the condition, and the fire stays latched for a
    person to resolve."""
    camera = add_camera(registry, db, f"{site}-CAM")
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(seconds=30)
    for i in range(3):
        at = start + timedelta(seconds=5 * i)
        response = _post(base_url, tma_xml(at, 80.0, count=i + 1, kind="TMA"), device=camera)
        assert response.status_code == 200, response.text
    alert = _alert(db, camera, "camera_hotspot")
    assert alert is not None and alert[:3] == ("camera_hotspot", "fire", "active_unack")
    ended = tma_xml(start + timedelta(seconds=20), 50.0, count=1, kind="TMA", state="inactive")
    assert _post(base_url, ended, device=camera).status_code == 200
    row = db.execute(
        "SELECT state, condition_active FROM alerts WHERE device_id = %s AND rule = %s",
        (camera, "camera_hotspot"),
    ).fetchone()
    assert row == ("active_unack", False)


def test_fire_detection_raises_camera_fire_which_latches(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    body = multipart(fire_xml(at), fake_jpeg(200_000), fake_jpeg(150_000))
    response = _post(base_url, body, headers={"content-type": MULTIPART}, device=camera)
    assert response.status_code == 200, response.text
    row = _alert(db, camera, "camera_fire")
    assert row is not None and row[1:3] == ("fire", "active_unack")
    detail = scalar(
        db, "SELECT detail FROM events WHERE device_id = %s AND type = 'fire_detected'", camera
    )
    assert detail["regions"] == [
        {"region": "1", "max_temp_c": 68.0, "distance_m": -1.0},
        {"region": "4", "max_temp_c": 101.0, "distance_m": -1.0},
    ]
    assert detail["mac"] == "a4:4c:62:22:d7:3c" and detail["channel"] == "2"
    cleared = fire_xml(at + timedelta(seconds=30), state="inactive")
    assert _post(base_url, cleared, device=camera).status_code == 200
    types = db.execute(
        "SELECT type FROM events WHERE device_id = %s ORDER BY ts", (camera,)
    ).fetchall()
    assert [t[0] for t in types] == ["fire_detected", "alarm_cleared"]
    row = _alert(db, camera, "camera_fire")
    assert row is not None and row[2] == "active_unack"  # a fire alarm latches


def test_a_camera_whose_clock_was_never_set_still_raises_its_fire(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """Back from a power cut with no time server, a camera says 1970: its fire detection is
    stored at its arrival and raises camera_fire, with the camera's own words kept; its
    heartbeat, which needs no re-stamping, is dead-lettered as stale. A dome's own TMA verdict
    likewise raises camera_hotspot."""
    camera = add_camera(registry, db, f"{site}-CAM")
    unset = datetime(1970, 1, 1, 8, 0, 12, tzinfo=UTC)
    before = datetime.now(UTC)
    assert _post(base_url, fire_xml(unset), device=camera).status_code == 200
    row = _alert(db, camera, "camera_fire")
    assert row is not None and row[1:3] == ("fire", "active_unack")
    found = db.execute(
        "SELECT ts, detail FROM events WHERE device_id = %s AND type = 'fire_detected'",
        (camera,),
    ).fetchone()
    assert found is not None
    ts, detail = found
    assert before - timedelta(seconds=1) <= ts <= datetime.now(UTC)
    assert detail["date_time"] == "1970-01-01T08:00:12+00:00"
    assert detail["clock_skew"]["device_ts"].startswith("2000-01-01")
    assert _post(base_url, heartbeat_xml(unset), device=camera).status_code == 200
    reasons = db.execute(
        "SELECT reason FROM dead_letters WHERE device_id = %s", (camera,)
    ).fetchall()
    assert reasons == [("stale",)]
    # Another dome's own thermometry alarm (TMA): its verdict re-stamped and alerted, the
    # temperatures it carries dead-lettered as stale.
    dome = add_camera(registry, db, f"{site}-DOME")
    assert _post(base_url, tma_xml(unset, 95.0), device=dome).status_code == 200
    row = _alert(db, dome, "camera_hotspot")
    assert row is not None and row[1:3] == ("fire", "active_unack")
    reasons = db.execute(
        "SELECT DISTINCT reason FROM dead_letters WHERE device_id = %s", (dome,)
    ).fetchall()
    assert reasons == [("stale",)]


def test_smoke_detection_returns_when_inactive_and_heartbeat(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    assert _post(base_url, fire_xml(at, kind="smokeDetection"), device=camera).status_code == 200
    row = _alert(db, camera, "camera_smoke")
    assert row is not None and row[1:3] == ("prealarm", "active_unack")
    over = fire_xml(at + timedelta(seconds=5), kind="smokeDetection", state="inactive")
    assert _post(base_url, over, device=camera).status_code == 200
    row = _alert(db, camera, "camera_smoke")
    assert row is not None and row[2] == "returned_unack"
    assert (
        _post(base_url, heartbeat_xml(at + timedelta(seconds=1)), device=camera).status_code == 200
    )
    assert scalar(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", camera) == 1


def test_a_repost_stores_nothing_twice(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """The camera did not get our 200 and sends the same notification again: 200 again, the
    same rows. The next post of the same alarm (activePostCount + 1) is a new reading."""
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    for _ in range(3):
        assert _post(base_url, tma_xml(at, 61.5), device=camera).status_code == 200
        assert _post(base_url, fire_xml(at), device=camera).status_code == 200
    assert len(_readings(db, camera)) == 1
    # The fire detection and the thermometry verdict, once each.
    assert scalar(db, "SELECT count(*) FROM events WHERE device_id = %s", camera) == 2
    assert _post(base_url, tma_xml(at, 61.5, count=2), device=camera).status_code == 200
    assert len(_readings(db, camera)) == 2


def test_json_alone_and_fahrenheit(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """The JSON form (as firmware with parameterFormatType JSON posts it) and a camera set to
    Fahrenheit give °C readings."""
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    alert = {
        "ipAddress": "192.168.1.64",
        "portNo": 80,
        "protocol": "HTTP",
        "macAddress": "4c:f5:dc:12:34:56",
        "channelID": 2,
        "dateTime": at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "activePostCount": 1,
        "eventType": "TMPA",
        "eventState": "active",
        "eventDescription": "Temperature Measurement Precautionary Alarm",
        "DetectionRegionList": {
            "DetectionRegionEntry": {
                "regionID": 2,
                "TMPA": {
                    "thermometryUnit": "celsius",
                    "ruleTemperature": 45,
                    "currTemperature": 57.6,
                    "ruleCalibType": "region",
                    "ruleType": "highest temp is higher than",
                    "presetNo": 3,
                },
            }
        },
    }
    json_headers = {"content-type": "application/json"}
    assert (
        _post(base_url, orjson.dumps(alert), headers=json_headers, device=camera).status_code == 200
    )
    fahrenheit = tma_xml(at + timedelta(seconds=1), 140.0, unit="fahrenheit", rule=3)
    assert _post(base_url, fahrenheit, device=camera).status_code == 200
    assert _readings(db, camera) == [
        ("max_temp_c", 57.6, "rule-2", "3"),
        ("max_temp_c", 60.0, "rule-3", "1"),
    ]


def test_a_nonce_from_one_api_replica_is_good_at_another(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    settings: Settings,
    site: str,
) -> None:
    """Behind one address, a camera's challenge and its answer may reach different replicas
    (the shipped nginx takes turns): the answer must check at either, not be told stale."""
    camera = add_camera(registry, db, f"{site}-CAM")
    body = tma_xml(datetime.now(UTC).replace(microsecond=0), 58.0)
    with serving(create_app(settings)) as first, serving(create_app(settings)) as second:
        challenge = httpx2.post(first + URL_PATH, content=body, headers=XML, timeout=30)
        assert challenge.status_code == 401
        digest = next(
            v for v in challenge.headers.get_list("www-authenticate") if v.startswith("Digest")
        )
        nonce = re.search(r'nonce="([^"]+)"', digest)
        assert nonce is not None
        ha1 = hashlib.md5(f"{camera}:firewatch:{CAMERA_PASSWORD}".encode()).hexdigest()
        ha2 = hashlib.md5(f"POST:{URL_PATH}".encode()).hexdigest()
        answer = hashlib.md5(f"{ha1}:{nonce[1]}:00000001:c0ffee:auth:{ha2}".encode()).hexdigest()
        header = (
            f'Digest username="{camera}", realm="firewatch", nonce="{nonce[1]}", '
            f'uri="{URL_PATH}", qop=auth, nc=00000001, cnonce="c0ffee", response="{answer}"'
        )
        response = httpx2.post(
            second + URL_PATH, content=body, headers={**XML, "Authorization": header}, timeout=30
        )
    assert response.status_code == 200, response.text


def test_digest_as_the_camera_answers_it(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """Digest (RFC 7616, the cameras' MD5digest) against the camera's own login, by two
    clients: the simulated camera and httpx's own Digest."""
    camera = add_camera(registry, db, f"{site}-CAM")
    sim = IsapiCamera(base_url, camera, CAMERA_PASSWORD, auth="digest")
    at = datetime.now(UTC).replace(microsecond=0)
    post = sim.multipart(
        sim.fire_xml(at=at, max_c=90), name="fireDetection", pictures=[fake_jpeg(50_000)]
    )
    status, _ = sim.post(post)
    assert status == 200
    response = _post(base_url, tma_xml(at, 58.0), auth=httpx2.DigestAuth(camera, CAMERA_PASSWORD))
    assert response.status_code == 200, response.text
    assert len(_readings(db, camera)) == 1
    assert _alert(db, camera, "camera_fire") is not None


def test_no_credentials_is_a_challenge_and_wrong_ones_a_dead_letter(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    camera = add_camera(registry, db, f"{site}-CAM", camera_login=False)
    at = datetime.now(UTC).replace(microsecond=0)
    bare = httpx2.post(base_url + URL_PATH, content=tma_xml(at, 60.0), headers=XML)
    assert bare.status_code == 401
    challenges = bare.headers.get_list("www-authenticate")
    assert challenges[0].startswith('Digest realm="firewatch", qop="auth"')
    assert challenges[1].startswith("Basic")
    assert scalar(db, "SELECT count(*) FROM dead_letters WHERE topic LIKE 'gw/isapi/%%'") == 0

    wrong = _post(base_url, tma_xml(at, 60.0), auth=httpx2.BasicAuth(camera, "guess"))
    unknown = _post(base_url, tma_xml(at, 60.0), auth=httpx2.BasicAuth(f"{site}-404", "guess"))
    # Digest needs the camera's login, which this camera has not been given.
    digest = _post(base_url, tma_xml(at, 60.0), auth=httpx2.DigestAuth(camera, DEVICE_PASSWORD))
    assert [r.status_code for r in (wrong, unknown, digest)] == [401, 401, 401]
    rows = db.execute(
        "SELECT reason, detail, device_id, payload FROM dead_letters WHERE topic = %s ORDER BY id",
        (f"gw/isapi/{site}/127.0.0.1",),
    ).fetchall()
    assert [(r[0], r[2]) for r in rows] == [
        ("bad_signature", camera),
        ("bad_signature", None),
        ("bad_signature", camera),
    ]
    assert "wrong password" in rows[0][1] and f"no registered camera '{site}-404'" in rows[1][1]
    assert "needs the camera's login" in rows[2][1]
    assert b"guess" not in b"".join(bytes(r[3]) for r in rows)  # never the password
    assert _readings(db, camera) == []


def test_wrong_logins_are_dead_lettered_at_a_bounded_rate(
    ingest: IngestService, db: psycopg.Connection[Any], base_url: str, site: str
) -> None:
    """A scanner guessing passwords gets its 401s; past the burst of 20, at most one dead
    letter a second is kept, and the rest only counted."""
    guesses = 60
    started = time.monotonic()
    answers = [
        _post(base_url, b"<x/>", auth=httpx2.BasicAuth(f"{site}-404", f"guess{i}")).status_code
        for i in range(guesses)
    ]
    took = time.monotonic() - started
    assert set(answers) == {401}
    stored = scalar(
        db, "SELECT count(*) FROM dead_letters WHERE topic LIKE %s", f"gw/isapi/{site}/%"
    )
    assert 20 <= stored <= min(guesses - 1, 20 + math.ceil(took))
    metrics = httpx2.get(base_url + "/metrics").text
    assert f'firewatch_gateway_isapi_refused_total{{reason="bad_signature"}} {guesses}.0' in metrics
    assert f"firewatch_gateway_isapi_unrecorded_total {guesses - stored}.0" in metrics


@pytest.mark.parametrize(
    ("body", "content_type", "reason", "status"),
    [
        (b"<EventNotificationAlert><eventType>TMA", "application/xml", "malformed", 400),
        (b"<ResponseStatus/>", "application/xml", "malformed", 400),
        (b'{"eventType": "TMA"}', "application/json", "schema", 400),
        (b"\x89PNG....", "image/png", "malformed", 400),
        (
            b"--b\r\nContent-Type: image/jpeg\r\n\r\n\xff\xd8\r\n--b--",
            "multipart/mixed; boundary=b",
            "malformed",
            400,
        ),
        (
            b"<EventNotificationAlert>" + b"<a>" * 40 + b"</a>" * 40 + b"</EventNotificationAlert>",
            "application/xml",
            "malformed",
            400,
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">'
            b"]><EventNotificationAlert>&b;</EventNotificationAlert>",
            "application/xml",
            "malformed",
            400,
        ),
        (
            b'<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b"<EventNotificationAlert>&x;</EventNotificationAlert>",
            "application/xml",
            "malformed",
            400,
        ),
        (
            b"<EventNotificationAlert><eventType>TMA</eventType><dateTime>yesterday</dateTime>"
            b"</EventNotificationAlert>",
            "application/xml",
            "schema",
            400,
        ),
        (
            b"<EventNotificationAlert>" + b" " * 70_000 + b"</EventNotificationAlert>",
            "application/xml",
            "oversize",
            413,
        ),
    ],
    ids=[
        "truncated",
        "not-an-alert",
        "no-date",
        "png",
        "pictures-only",
        "deep",
        "entities",
        "external-entity",
        "bad-date",
        "alert-over-64k",
    ],
)
def test_bad_bodies_are_refused_and_dead_lettered(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
    body: bytes,
    content_type: str,
    reason: str,
    status: int,
) -> None:
    camera = add_camera(registry, db, f"{site}-CAM")
    response = _post(base_url, body, headers={"content-type": content_type}, device=camera)
    assert response.status_code == status, response.text
    row = db.execute(
        "SELECT reason, device_id, payload FROM dead_letters WHERE topic = %s",
        (f"gw/isapi/{site}/127.0.0.1",),
    ).fetchone()
    assert row is not None and row[:2] == (reason, camera)
    assert bytes(row[2]) == body[:PAYLOAD_KEEP_BYTES]
    assert _readings(db, camera) == []


def test_big_pictures_never_cost_the_alarm(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """Three 4 MiB pictures, sent chunked: the alarm is committed, the pictures dropped."""
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    body = multipart(tma_xml(at, 70.0), *(fake_jpeg(4 * 2**20) for _ in range(3)), name="TMA")

    def chunks() -> Any:
        for i in range(0, len(body), 65536):
            yield body[i : i + 65536]

    response = httpx2.post(
        base_url + URL_PATH,
        content=chunks(),
        headers={"content-type": MULTIPART},
        auth=httpx2.BasicAuth(camera, DEVICE_PASSWORD),
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert _readings(db, camera) == [("max_temp_c", 70.0, "rule-1", "1")]
    metrics = httpx2.get(base_url + "/metrics").text
    assert "firewatch_gateway_isapi_pictures_dropped_total 3.0" in metrics
    over = _post(
        base_url, b"x" * (16 * 2**20 + 1), headers={"content-type": MULTIPART}, device=camera
    )
    assert over.status_code == 413  # the whole body's ceiling, before a byte is read


def test_without_ingest_the_camera_is_told_to_send_again(
    registry: Registry,
    db: psycopg.Connection[Any],
    settings: Settings,
    site: str,
) -> None:
    """No ingest: 503 with Retry-After after the commit timeout; the camera's repeat, once
    ingest runs, is committed and answered 200, and stored once."""
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    quick = settings.model_copy(update={"gateway_commit_timeout_s": 0.5})
    with serving(create_app(quick)) as url:
        first = _post(url, tma_xml(at, 66.0), device=camera)
        assert first.status_code == 503 and first.headers["retry-after"] == "5"
        service = IngestService(settings)
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        try:
            wait_until(lambda: service.ready, timeout=10, what="ingest")
            wait_until(lambda: len(_readings(db, camera)) == 1, timeout=10, what="the first")
            again = _post(url, tma_xml(at, 66.0), device=camera)
            assert again.status_code == 200
        finally:
            stop.set()
            thread.join(timeout=10)
    assert _readings(db, camera) == [("max_temp_c", 66.0, "rule-1", "1")]


_FUZZ_TYPES = st.sampled_from(
    ["application/xml", "application/json", MULTIPART, "multipart/mixed; boundary=x", "", "a/b"]
)
_ALERTISH = st.sampled_from(
    [
        b"",
        b"<EventNotificationAlert>",
        b"--boundary\r\n",
        b"<eventType>TMA</eventType>",
        b"<currTemperature>1e400</currTemperature>",
        b'{"eventType":"fireDetection","dateTime":"2026-01-01T00:00:00+08:00"}',
        b"</EventNotificationAlert>",
        b"\r\n\r\n",
        b"Content-Type: application/xml\r\n",
    ]
)


@given(
    pieces=st.lists(st.one_of(_ALERTISH, st.binary(max_size=64)), max_size=12),
    content_type=_FUZZ_TYPES,
    authorization=st.one_of(
        st.none(), st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=120)
    ),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_fuzzed_posts_never_fail_the_server(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
    pieces: list[bytes],
    content_type: str,
    authorization: str | None,
) -> None:
    """Bodies from hypothesis, logged in (the body is read) or with any Authorization at all:
    every answer is one the route documents, never a 5xx; valid traffic carries on."""
    camera = f"{site}-CAM"
    if scalar(db, "SELECT count(*) FROM devices WHERE id = %s", camera) == 0:
        add_camera(registry, db, camera)
    body = b"".join(pieces)
    logged_in = _post(base_url, body, headers={"content-type": content_type}, device=camera)
    assert logged_in.status_code in (200, 400, 413), logged_in.text
    headers = {"content-type": content_type}
    if authorization and authorization.strip():  # h11 sends no value with outer spaces
        headers["authorization"] = authorization.strip()
    anyone = httpx2.post(base_url + URL_PATH, content=body, headers=headers, timeout=30)
    assert anyone.status_code == 401
    at = datetime.now(UTC).replace(microsecond=0)
    assert _post(base_url, heartbeat_xml(at), device=camera).status_code == 200


def test_the_simulated_camera_in_each_of_its_forms(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    base_url: str,
    site: str,
) -> None:
    """What the demo's cameras will send: Basic this time, XML with a picture, JSON, a
    pre-alarm, a heartbeat; each committed."""
    camera = add_camera(registry, db, f"{site}-CAM")
    sim = IsapiCamera(base_url, camera, DEVICE_PASSWORD, auth="basic")
    at = datetime.now(UTC).replace(microsecond=0)
    xml = sim.thermometry_xml(at=at, max_c=58.5, pre_alarm=True)
    sent = [
        sim.post(sim.multipart(xml, name="TMPA", pictures=[fake_jpeg(30_000)])),
        sim.post(
            Post(
                sim.thermometry_json(at=at + timedelta(seconds=1), max_c=61.0, rule=2),
                "application/json",
            )
        ),
        sim.post(Post(sim.heartbeat_xml(at=at + timedelta(seconds=2)), "application/xml")),
    ]
    assert [status for status, _ in sent] == [200, 200, 200]
    assert _readings(db, camera) == [
        ("max_temp_c", 58.5, "rule-1", "1"),
        ("max_temp_c", 61.0, "rule-2", "1"),
    ]
    assert scalar(db, "SELECT count(*) FROM heartbeats WHERE device_id = %s", camera) == 1


def test_a_body_that_never_finishes_is_a_408(
    ingest: IngestService,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A logged-in client that sends half its body and waits: answered 408 once the read time
    is up (shortened here from 30 s), nothing stored, and the next camera served."""
    monkeypatch.setattr(gateways_isapi, "READ_TIMEOUT_S", 1.0)
    camera = add_camera(registry, db, f"{site}-CAM")
    at = datetime.now(UTC).replace(microsecond=0)
    body = tma_xml(at, 70.0)
    login = base64.b64encode(f"{camera}:{DEVICE_PASSWORD}".encode()).decode()
    with serving(create_app(settings)) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            sock.sendall(
                f"POST {URL_PATH} HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {login}\r\n"
                f"Content-Type: application/xml\r\nContent-Length: {len(body)}\r\n\r\n".encode()
                + body[:100]
            )
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
        assert _post(url, tma_xml(at, 71.0), device=camera).status_code == 200
    assert _readings(db, camera) == [("max_temp_c", 71.0, "rule-1", "1")]
