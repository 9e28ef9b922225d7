"""Request limits on a real socket: an oversize body is refused with a 413 before it is read
whole, parsed or authenticated, declared or chunked; 422s stay small whatever was sent."""

from __future__ import annotations

import contextlib
import select
import socket
from collections.abc import Iterator

import orjson
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.limits import MAX_BODY_BYTES
from api.validation import EXCERPT_CHARS, MAX_ERRORS
from firewatch.testing import serving
from registry.device_import import MAX_IMPORT_BYTES
from settings import Settings
from tests.api.registry_helpers import Api


@pytest.fixture()
def base_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


@pytest.fixture()
def api(settings: Settings, database_url: str, site: str) -> Iterator[Api]:
    with TestClient(create_app(settings)) as client:
        yield Api(client, database_url, site)


def _exchange(base_url: str, head: bytes, body: bytes = b"") -> tuple[int, dict[str, object]]:
    """Sends a raw request (head, then as much of the body as given) and reads the answer."""
    host, port = base_url.removeprefix("http://").split(":")
    answer = b""
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(head + b"\r\n")
        # The server answers, then closes on the rest of a refused body: the answer is read as
        # soon as it is there, and a reset after it (unread data at the close) is no error.
        for start in range(0, len(body), 65536):
            if select.select([sock], [], [], 0)[0]:
                break
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(body[start : start + 65536])
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                answer += chunk
    status_line, _, rest = answer.partition(b"\r\n")
    _, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), orjson.loads(payload)


def _head(path: str, *headers: str) -> bytes:
    lines = [f"POST {path} HTTP/1.1", "Host: test", "Content-Type: application/json", *headers]
    return "".join(f"{line}\r\n" for line in lines).encode()


def test_a_declared_oversize_body_is_refused_before_a_byte_of_it_is_read(base_url: str) -> None:
    """150 MB announced, none sent, no token: the answer comes at once, and it is a 413."""
    status, body = _exchange(base_url, _head("/api/v1/devices", "Content-Length: 150000000"))
    assert status == 413
    assert body == {"detail": "the body is over this route's limit of 256 KiB"}


def test_a_chunked_oversize_body_is_cut_off_at_the_limit(base_url: str) -> None:
    chunk = b"x" * 65536
    framed = (b"%x\r\n" % len(chunk) + chunk + b"\r\n") * (MAX_BODY_BYTES // len(chunk) + 1)
    head = _head("/api/v1/devices", "Transfer-Encoding: chunked", "Connection: close")
    status, body = _exchange(base_url, head, framed)  # the server answers without the rest
    assert status == 413 and "256 KiB" in str(body["detail"])


def test_a_body_within_the_limit_reaches_authentication(base_url: str) -> None:
    payload = b"{}"
    head = _head("/api/v1/devices", f"Content-Length: {len(payload)}", "Connection: close")
    assert _exchange(base_url, head, payload)[0] == 401


def test_the_import_keeps_its_32_mib(api: Api) -> None:
    tech = api.as_("technician")
    larger = b"id,kind,site\n" + b" \n" * MAX_BODY_BYTES  # blank lines: no rows
    response = tech.post(
        "/api/v1/devices/import", content=larger, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 200, response.text  # larger than other bodies, and no rows
    too_large = b" " * (MAX_IMPORT_BYTES + 1)
    refused = tech.post(
        "/api/v1/devices/import", content=too_large, headers={"Content-Type": "text/csv"}
    )
    assert refused.status_code == 413 and "32 MiB" in refused.json()["detail"]


def test_a_422_lists_a_bounded_number_of_errors_with_excerpts(api: Api) -> None:
    """A body of many unknown keys once came back as a 422 of 30 MB echoing the input."""
    keys = {f"k{i}": i for i in range(15_000)}
    body = {"name": "x" * 10_000, "role": "viewer", **keys}
    response = api.as_("admin").post("/api/v1/users", json=body)
    assert response.status_code == 422
    assert len(response.content) < 20_000
    answer = response.json()
    assert len(answer["detail"]) == MAX_ERRORS
    assert answer["omitted"] == 15_000 + 1 - MAX_ERRORS  # every unknown key, and the long name
    for error in answer["detail"]:
        if isinstance(error.get("input"), str):
            assert len(error["input"]) <= EXCERPT_CHARS + 1


def test_a_422_excerpts_a_large_input_object(api: Api) -> None:
    """A missing field echoes the whole object it is missing from; only its start comes back."""
    response = api.as_("admin").post("/api/v1/users", json={"role": "viewer", "note": "y" * 5000})
    assert response.status_code == 422
    [missing] = [e for e in response.json()["detail"] if e["type"] == "missing"]
    assert isinstance(missing["input"], str) and missing["input"].endswith("…")
    assert len(missing["input"]) == EXCERPT_CHARS + 1
