"""A local camera speaking ISAPI's preset goto, as Hikvision's PTZ service publishes it:
``PUT /ISAPI/PTZCtrl/channels/{channel}/presets/{preset}/goto``, no inbound data, answered with
a ``ResponseStatus`` (statusCode 1: OK). Every request must carry HTTP digest authentication
(RFC 7616 / RFC 2617, qop=auth), checked here with the server's own arithmetic: the realm, a
nonce this server issued, the request's own URI and method, and the response hash. It records
what it was sent, and which presets it moved to."""

from __future__ import annotations

import hashlib
import re
import secrets
import socket
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.request import parse_http_list, parse_keqv_list

REALM = "DS-2DE4425IW"
_GOTO = re.compile(r"^/ISAPI/PTZCtrl/channels/(\d+)/presets/(\d+)/goto$")
_HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def response_status(url: str, code: int, text: str, sub: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ResponseStatus version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\n'
        f"<requestURL>{url}</requestURL>\n<statusCode>{code}</statusCode>\n"
        f"<statusString>{text}</statusString>\n<subStatusCode>{sub}</subStatusCode>\n"
        "</ResponseStatus>\n"
    ).encode()


@dataclass
class Seen:
    method: str
    path: str
    body: bytes
    authorized: bool
    authorization: dict[str, str] | None


@dataclass
class FakeCamera:
    username: str = "firewatch"
    password: str = "Circle of Life"
    presets: frozenset[int] = frozenset({1, 2, 3, 9})
    channels: frozenset[int] = frozenset({1})
    algorithms: tuple[str, ...] = ("MD5",)  # offered, one WWW-Authenticate header each
    url: str = ""
    seen: list[Seen] = field(default_factory=list)
    moves: list[tuple[int, int]] = field(default_factory=list)  # (channel, preset)
    nonces: set[str] = field(default_factory=set)

    def verified(self, header: str | None, method: str, path: str) -> dict[str, str] | None:
        """The Authorization's fields if it answers one of our challenges correctly."""
        if not header or not header.startswith("Digest "):
            return None
        f = parse_keqv_list(parse_http_list(header[len("Digest ") :]))
        algorithm = f.get("algorithm", "MD5")
        if (
            algorithm not in self.algorithms
            or f.get("realm") != REALM
            or f.get("nonce") not in self.nonces
            or f.get("uri") != path
            or f.get("username") != self.username
            or f.get("qop") != "auth"
            or not re.fullmatch(r"[0-9a-f]{8}", f.get("nc", ""))
            or not f.get("cnonce")
        ):
            return None

        def h(text: str) -> str:
            return _HASH[algorithm](text.encode()).hexdigest()

        ha1 = h(f"{self.username}:{REALM}:{self.password}")
        ha2 = h(f"{method}:{path}")
        expected = h(f"{ha1}:{f['nonce']}:{f['nc']}:{f['cnonce']}:auth:{ha2}")
        return f if f.get("response") == expected else None

    def challenge_headers(self) -> list[str]:
        nonce = secrets.token_hex(16)
        self.nonces.add(nonce)
        opaque = secrets.token_hex(8)
        return [
            f'Digest realm="{REALM}", qop="auth", nonce="{nonce}", opaque="{opaque}", algorithm={a}'
            for a in self.algorithms
        ]


def _handler(camera: FakeCamera) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: object) -> None:
            pass

        def _answer(self, code: int, body: bytes, headers: Sequence[tuple[str, str]] = ()) -> None:
            self.send_response(code)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Type", 'application/xml; charset="UTF-8"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            auth = camera.verified(self.headers.get("Authorization"), "PUT", self.path)
            camera.seen.append(Seen("PUT", self.path, body, auth is not None, auth))
            if auth is None:
                challenge = camera.challenge_headers()
                self._answer(
                    401,
                    response_status(self.path, 4, "Invalid Operation", "unAuthorized"),
                    [("WWW-Authenticate", c) for c in challenge],
                )
                return
            goto = _GOTO.match(self.path)
            if goto is None or body:
                self._answer(400, response_status(self.path, 6, "Invalid Content", "badParameters"))
                return
            channel, preset = int(goto.group(1)), int(goto.group(2))
            if channel not in camera.channels or preset not in camera.presets:
                self._answer(403, response_status(self.path, 4, "Invalid Operation", "invalidID"))
                return
            camera.moves.append((channel, preset))
            self._answer(200, response_status(self.path, 1, "OK", "ok"))

        def do_GET(self) -> None:
            camera.seen.append(Seen("GET", self.path, b"", False, None))
            self._answer(405, b"")

    return Handler


@contextmanager
def fake_camera(**options: object) -> Iterator[FakeCamera]:
    camera = FakeCamera(**options)  # type: ignore[arg-type]
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(camera))
    camera.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="fake-isapi", daemon=True)
    thread.start()
    try:
        yield camera
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def silent_camera() -> Iterator[str]:
    """A camera whose port takes the connection and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections complete in the backlog; none is ever read
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"


def closed_port() -> str:
    """An address where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@contextmanager
def answering_camera(answer: bytes) -> Iterator[str]:
    """A camera that answers every request with ``answer``, as it stands (a hostile or broken
    one): its address."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)

        def serve() -> None:
            while True:
                try:
                    conn, _ = listener.accept()
                except OSError:  # the listener is closed: the test is over
                    return
                with conn:
                    conn.recv(65536)
                    conn.sendall(answer)

        thread = threading.Thread(target=serve, name="answering-camera", daemon=True)
        thread.start()
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
        listener.shutdown(socket.SHUT_RDWR)
    thread.join(timeout=5)
