"""The transport against a real local server: a redirect is reported, never followed (urllib
would turn the POST into a GET without its body), and a reply's status and body come back
whatever the status."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from dispatch.model import HttpRequest
from dispatch.transport import Reply, Unreachable, send


@pytest.fixture()
def server() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path}")
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = b'{"errcode": 0}'
            self.send_response(418 if self.path == "/teapot" else 200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", seen
    httpd.shutdown()
    httpd.server_close()


def test_a_redirect_is_reported_not_followed(server: tuple[str, list[str]]) -> None:
    base, seen = server
    reply = send(HttpRequest(method="POST", url=f"{base}/moved", body=b"{}"), timeout_s=2)
    assert reply.status == 302
    assert seen == ["POST /moved"]


def test_any_status_comes_back_with_its_body(server: tuple[str, list[str]]) -> None:
    base, _ = server
    assert send(HttpRequest(method="POST", url=f"{base}/ok", body=b"{}"), timeout_s=2) == Reply(
        200, b'{"errcode": 0}'
    )
    assert send(HttpRequest(method="GET", url=f"{base}/teapot"), timeout_s=2).status == 418


def test_nobody_listening_is_unreachable() -> None:
    with pytest.raises(Unreachable, match="refused"):
        send(HttpRequest(method="POST", url="http://127.0.0.1:9/x", body=b"{}"), timeout_s=2)
