"""Bodies a reviewer found still reaching a 500, a chunked import over its limit, and bodies
cut off by a client that goes away."""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.validation import MAX_DEPTH
from firewatch.testing import serving
from registry.device_import import MAX_IMPORT_BYTES
from settings import Settings
from tests.api.registry_helpers import Api
from tests.conftest import Registry
from tests.gateways.isapi_helpers import DEVICE_PASSWORD, add_camera
from tests.gateways.push_helpers import push_settings
from tests.tokens import token


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


def _cut_off(base: str, head: str, sent: bytes) -> bytes:
    """A request whose headers promise more body than ``sent``, then the client leaves (half
    closed, so any answer could still be read); what came back before the server closed."""
    port = int(base.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(f"{head}Host: 127.0.0.1\r\nContent-Length: 4096\r\n\r\n".encode() + sent)
        conn.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


@pytest.mark.parametrize("route", ["import", "onenet", "ctwing", "isapi"])
def test_a_body_cut_off_by_a_client_that_leaves_is_no_error_of_ours(
    settings: Settings,
    database_url: str,
    registry: Registry,
    db: psycopg.Connection[Any],
    site: str,
    capfd: pytest.CaptureFixture[str],
    route: str,
) -> None:
    """The routes that read their own body met the disconnect as ClientDisconnect, unhandled:
    an "Exception in ASGI application" traceback each time a phone or camera lost its link."""
    admin = token(database_url, f"admin-{site}", "admin")
    camera = add_camera(registry, db, f"{site}-TC1")
    basic = base64.b64encode(f"{camera}:{DEVICE_PASSWORD}".encode()).decode()
    heads = {
        "import": f"POST /api/v1/devices/import HTTP/1.1\r\nAuthorization: Bearer {admin}\r\n"
        "Content-Type: text/csv\r\n",
        "onenet": "POST /api/v1/gateways/onenet HTTP/1.1\r\nContent-Type: application/json\r\n",
        "ctwing": "POST /api/v1/gateways/ctwing HTTP/1.1\r\nContent-Type: application/json\r\n"
        "application: a\r\ntimestamp: 1\r\nsignature: x\r\n",
        "isapi": f"POST /api/v1/gateways/isapi HTTP/1.1\r\nAuthorization: Basic {basic}\r\n"
        "Content-Type: application/xml\r\n",
    }
    with serving(create_app(push_settings(settings))) as base:
        capfd.readouterr()
        answer = _cut_off(base, heads[route], b'{"msg": <EventNotificationAlert')
        time.sleep(0.5)  # the server logs after it has closed the connection
    assert b" 500 " not in answer.split(b"\r\n", 1)[0]
    logged = capfd.readouterr().err
    assert "Exception in ASGI application" not in logged, logged[-2000:]
    assert "ClientDisconnect" not in logged
