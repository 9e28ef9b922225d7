"""The transport against a real local server: a redirect is reported, never followed (urllib
would turn the POST into a GET without its body), and a reply's status and body come back
whatever the status; a receiver that drips its answer is given up at the overall deadline."""

from __future__ import annotations

import socket
import threading
import time
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


@pytest.fixture()
def dripping() -> Iterator[str]:
    """A receiver that takes the request, then answers a byte every 0.2 s for 8 s: each read
    gets its byte well within any per-read timeout."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.recv(65536)
                reply = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n" + b"X-Slow: " + b"." * 40
                for byte in reply:
                    if stop.wait(0.2):
                        break
                    try:
                        conn.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/drip"
    stop.set()
    listener.close()
    thread.join(timeout=5)


def test_a_dripping_receiver_is_given_up_at_the_overall_deadline(dripping: str) -> None:
    """Review finding: urllib's timeout is per read, so a receiver sending a byte now and then
    held a sender's worker (and its row's lock) for as long as it liked."""
    started = time.monotonic()
    with pytest.raises(Unreachable, match="no reply within 1 s"):
        send(HttpRequest(method="POST", url=dripping, body=b"{}"), timeout_s=1)
    assert time.monotonic() - started < 2.5
