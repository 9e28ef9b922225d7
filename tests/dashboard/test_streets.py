"""The plan's street lines: read from a GeoJSON file (registry/streets.py) and served to the
console at GET /api/v1/streets."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from registry.streets import MAX_BYTES, StreetFileError, street_lines
from settings import Settings
from tests.dashboard.test_dashboard_browser import _token

LANE = [[113.2650, 23.0970], [113.2660, 23.0970, 12.5]]  # a height is allowed and dropped


def _file(*features: dict[str, Any]) -> bytes:
    return json.dumps({"type": "FeatureCollection", "features": list(features)}).encode()


def _feature(geometry: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    return {"type": "Feature", "properties": {"name": name} if name else None, "geometry": geometry}


def test_lines_are_kept_with_their_names_and_the_rest_left_out() -> None:
    got = street_lines(
        _file(
            _feature({"type": "LineString", "coordinates": LANE}, "紫来街"),
            _feature({"type": "MultiLineString", "coordinates": [LANE, LANE[::-1]]}),
            _feature({"type": "Point", "coordinates": LANE[0]}, "a shop"),
            _feature({"type": "Polygon", "coordinates": [[*LANE, LANE[0]]]}),
            {"type": "Feature", "properties": {}, "geometry": None},
        )
    )
    flat = [[113.265, 23.097], [113.266, 23.097]]
    assert got == {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": [flat]},
                "properties": {"name": "紫来街"},
            },
            {
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": [flat, flat[::-1]]},
                "properties": {},
            },
        ],
    }


def test_a_bare_geometry_is_a_file_of_one_line() -> None:
    got = street_lines(json.dumps({"type": "LineString", "coordinates": LANE}).encode())
    assert [f["geometry"]["coordinates"] for f in got["features"]] == [[[p[:2] for p in LANE]]]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "not a GeoJSON object"),
        (json.dumps({"type": "FeatureCollection"}).encode(), "a list of features"),
        (_file(_feature({"type": "Point", "coordinates": LANE[0]})), "no LineString"),
        (_file(_feature({"type": "LineString", "coordinates": [LANE[0]]})), "two points"),
        (
            _file(_feature({"type": "LineString", "coordinates": [[113.2, 23.1], [200, 1]]})),
            "[200, 1] is not a [lon, lat] point",
        ),
        (_file(_feature({"type": "LineString", "coordinates": [["a", 1], [1, 1]]})), "not a"),
        (_file(_feature({"type": "MultiLineString", "coordinates": 5})), "a list of lines"),
        (b" " * (MAX_BYTES + 1), "larger than"),
    ],
)
def test_a_file_that_is_not_street_lines_says_what_is_wrong(raw: bytes, why: str) -> None:
    with pytest.raises(StreetFileError, match=why.replace("[", r"\[")):
        street_lines(raw)


@pytest.fixture()
def token(database_url: str, site: str) -> str:
    return _token(database_url, f"streets-{site}", "viewer")


def _client(settings: Settings, streets: Path | None) -> TestClient:
    return TestClient(create_app(settings.model_copy(update={"streets_file": streets})))


def test_the_console_reads_the_configured_file(
    settings: Settings, token: str, tmp_path: Path
) -> None:
    path = tmp_path / "streets.geojson"
    path.write_bytes(_file(_feature({"type": "LineString", "coordinates": LANE}, "紫来街")))
    auth = {"Authorization": f"Bearer {token}"}
    with _client(settings, path) as client:
        assert client.get("/api/v1/streets").status_code == 401
        first = client.get("/api/v1/streets", headers=auth)
        assert first.status_code == 200
        assert first.json()["features"][0]["properties"] == {"name": "紫来街"}
        # A new file is read again; a broken one is the server's fault, said plainly.
        path.write_bytes(_file(_feature({"type": "LineString", "coordinates": [LANE, LANE]})))
        broken = client.get("/api/v1/streets", headers=auth)
        assert broken.status_code == 503
        assert "unusable" in broken.json()["detail"]
        path.unlink()
        gone = client.get("/api/v1/streets", headers=auth)
        assert gone.status_code == 503
        assert str(tmp_path) not in gone.text, "the server's paths are not told to users"


def test_no_file_configured_is_no_streets(settings: Settings, token: str) -> None:
    with _client(settings, None) as client:
        answer = client.get("/api/v1/streets", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 404
    assert "FIREWATCH_STREETS_FILE" in answer.json()["detail"]
