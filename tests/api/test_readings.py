"""A device's bucketed history and a camera's heat map, from the real database."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest
from fastapi.testclient import TestClient

from contract.frames import encode_frame
from contract.kinds import Kind
from store.timeseries import PartitionKeeper
from tests.conftest import Registry
from tests.tokens import auth, token


@pytest.fixture()
def viewer(database_url: str, site: str) -> dict[str, str]:
    return auth(token(database_url, f"viewer-{site}", "viewer"))


def test_readings_come_in_buckets_with_min_mean_max(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    viewer: dict[str, str],
) -> None:
    device = registry.add(f"{registry.site}-EM1", Kind.ELECTRICAL)
    t0 = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
    PartitionKeeper(db).ensure(db, {t0.date()})
    rows = [
        (t0 + timedelta(seconds=10 * i), device, "cable_temp_c", 30.0 + i, i) for i in range(12)
    ]
    rows.append((t0, device, "leakage_ma", 5.0, 100))
    with db.cursor() as cur:
        cur.executemany(
            "INSERT INTO readings (ts, device_id, metric, value, seq, received_at)"
            " VALUES (%s, %s, %s, %s, %s, now())",
            rows,
        )
    got = client.get(
        f"/api/v1/devices/{device}/readings",
        params={
            "metric": "cable_temp_c",
            "from": t0.isoformat(),
            "to": (t0 + timedelta(minutes=5)).isoformat(),
            "bucket": 60,
        },
        headers=viewer,
    )
    assert got.status_code == 200, got.text
    body = got.json()
    assert (body["bucket_s"], body["metric"], body["from"]) == (
        60,
        "cable_temp_c",
        "2026-11-28T10:00:00Z",
    )
    assert [(p["t"], p["min"], p["avg"], p["max"], p["n"]) for p in body["points"]] == [
        ("2026-11-28T10:00:00Z", 30.0, 32.5, 35.0, 6),
        ("2026-11-28T10:01:00Z", 36.0, 38.5, 41.0, 6),
    ]
    # Without a bucket: about 300 over the span, in whole 5-minute roll-up buckets over a day.
    auto = client.get(
        f"/api/v1/devices/{device}/readings", params={"metric": "leakage_ma"}, headers=viewer
    ).json()
    assert auto["bucket_s"] == 300 and auto["points"] == []


def test_readings_refuse_what_cannot_be_answered(
    client: TestClient, registry: Registry, viewer: dict[str, str]
) -> None:
    device = registry.add(f"{registry.site}-EM2", Kind.ELECTRICAL)
    url = f"/api/v1/devices/{device}/readings"
    now = datetime.now(UTC)
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({}, 422, "metric"),
        ({"metric": "cable temp"}, 422, "metric"),
        ({"metric": "cable_temp_c", "bucket": 0}, 422, "bucket"),
        (
            {
                "metric": "cable_temp_c",
                "from": now.isoformat(),
                "to": (now - timedelta(hours=1)).isoformat(),
            },
            400,
            "from must be before to",
        ),
        (
            {"metric": "cable_temp_c", "from": (now - timedelta(days=40)).isoformat()},
            400,
            "31 days",
        ),
        (
            {"metric": "cable_temp_c", "from": (now - timedelta(days=7)).isoformat(), "bucket": 1},
            400,
            "too many",
        ),
        ({"metric": "cable_temp_c", "from": "2026-11-28T10:00:00"}, 400, "time zone"),
        ({"metric": "cable_temp_c", "to": "0001-01-01T00:00:00Z"}, 400, "between 2000 and 2100"),
    ]
    for params, code, said in cases:
        bad = client.get(url, params=params, headers=viewer)
        assert bad.status_code == code, (params, bad.text)
        assert said in bad.text, (params, bad.text)
    missing = client.get("/api/v1/devices/NOPE-1/readings", params={"metric": "x"}, headers=viewer)
    assert (missing.status_code, missing.json()["detail"]) == (
        404,
        "no device 'NOPE-1' is registered",
    )
    assert client.get(url, params={"metric": "cable_temp_c"}).status_code == 401


def _png_pixels(body: bytes) -> np.ndarray[Any, np.dtype[np.uint8]]:
    """Reads back the PNG our encoder writes: checks every chunk's CRC on the way."""
    assert body[:8] == b"\x89PNG\r\n\x1a\n"
    at, chunks = 8, {}
    while at < len(body):
        (length,) = struct.unpack(">I", body[at : at + 4])
        kind, data = body[at + 4 : at + 8], body[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", body[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF, kind
        chunks[kind] = data
        at += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 2)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(height, -1)
    assert (rows[:, 0] == 0).all()  # filter type none on every row
    return rows[:, 1:].reshape(height, width, 3)


def test_a_camera_frame_is_served_as_a_heat_map(
    client: TestClient,
    registry: Registry,
    db: psycopg.Connection[Any],
    viewer: dict[str, str],
) -> None:
    camera = registry.add(f"{registry.site}-TC1", Kind.THERMAL_CAMERA)
    smoke = registry.add(f"{registry.site}-SD1", Kind.SMOKE)
    url = f"/api/v1/devices/{camera}/frame.png"
    assert client.get(url, headers=viewer).json()["detail"] == f"{camera} has sent no frame yet"
    assert client.get(f"/api/v1/devices/{smoke}/frame.png", headers=viewer).status_code == 404

    temps = np.full((48, 64), 22.0)
    temps[10:14, 40:44] = 350.0  # a hot spot
    db.execute(
        "INSERT INTO camera_frames_latest (device_id, ts, seq, payload) VALUES (%s, %s, 7, %s)",
        (
            camera,
            datetime(2026, 11, 28, 2, 0, tzinfo=UTC),
            encode_frame(temps, ts="2026-11-28T02:00:00Z", seq=7),
        ),
    )
    got = client.get(url, headers=viewer)
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/png"
    assert got.headers["last-modified"] == "Sat, 28 Nov 2026 02:00:00 GMT"
    assert float(got.headers["x-frame-max-c"]) == pytest.approx(350.0, abs=0.01)
    pixels = _png_pixels(got.content)
    assert pixels.shape == (48, 64, 3)
    assert pixels[12, 42].tolist() == [255, 255, 210]  # hottest: the top of the scale
    assert pixels[0, 0].tolist() == [0, 0, 0]  # coolest: black
    fixed = _png_pixels(client.get(url, params={"low": 0, "high": 700}, headers=viewer).content)
    assert 0 < fixed[12, 42].sum() < 255 * 3  # half way up a fixed scale
    inverted = client.get(url, params={"low": 50, "high": 10}, headers=viewer)
    assert (inverted.status_code, inverted.json()) == (400, {"detail": "low must be below high"})
