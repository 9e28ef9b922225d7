"""Bodies a reviewer found still reaching a 500, and a chunked import over its limit."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.validation import MAX_DEPTH
from registry.device_import import MAX_IMPORT_BYTES
from settings import Settings
from tests.api.registry_helpers import Api


@pytest.fixture()
def api(settings: Settings, database_url: str, site: str) -> Iterator[Api]:
    with TestClient(create_app(settings), raise_server_exceptions=False) as client:
        yield Api(client, database_url, site)


def test_a_body_that_is_not_json_is_a_422_not_a_500(api: Api) -> None:
    """FastAPI hands the raw bytes to the model; their echo could not be encoded."""
    response = api.as_("admin").post(
        "/api/v1/users", content=b"\xff\xfe\x00abc", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 422, response.text
    assert "\\xff" in response.text  # the bytes echoed as escapes


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 600, 900])
def test_deeply_nested_json_is_a_422_not_a_500(api: Api, depth: int) -> None:
    body = '{"name": ' + "[" * depth + "]" * depth + ', "role": "viewer"}'
    response = api.as_("admin").post(
        "/api/v1/users", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (400, 422), response.text
    assert "…" in response.text or response.status_code == 400


def test_a_chunked_import_over_its_limit_is_a_413_and_no_error(
    settings: Settings, database_url: str, site: str
) -> None:
    """The import reads its own body: the disconnect it is handed once the 413 has gone out
    must not surface as an error (raised here, logged as a traceback under uvicorn)."""

    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(MAX_IMPORT_BYTES // 2**20 + 2):
            yield b" " * 2**20

    with TestClient(create_app(settings), raise_server_exceptions=True) as client:
        tech = Api(client, database_url, site).as_("technician")
        response = tech.post(
            "/api/v1/devices/import", content=chunks(), headers={"Content-Type": "text/csv"}
        )
    assert response.status_code == 413 and "32 MiB" in response.json()["detail"]
