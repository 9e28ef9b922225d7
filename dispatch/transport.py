"""Sending one request with the standard library, and what came back.

No redirects are followed: urllib would turn a redirected POST into a GET without its body,
so a moved robot address is reported (a 3xx, not retried) rather than half sent.

urllib's timeout bounds each socket operation, not the request: a receiver answering a byte at
a time would hold a sender's worker, and its row's lock, for as long as it liked. So each send
has an overall deadline too, at which its socket is shut down from a timer thread."""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

from dispatch.model import HttpRequest

# Robots answer in a few hundred bytes; a runaway reply is not read whole.
REPLY_MAX_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    body: bytes


class Unreachable(Exception):
    """No reply: the connection was refused or cut, the name did not resolve, or the
    receiver did not answer within the timeout."""


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: object, **_kwargs: object) -> None:
        return None  # urllib then raises the 3xx as an HTTPError


class _Deadline:
    """Shuts down the sockets of one send once it has run out of time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.passed = False

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.append(sock)
            if self.passed:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            self.passed = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """A blocked read or write in the sending thread returns at once."""
    with contextlib.suppress(OSError):  # closed already
        sock.shutdown(socket.SHUT_RDWR)


class _Watching(urllib.request.AbstractHTTPHandler):
    """Hands each connection's socket to the send's deadline (through a proxy too)."""

    def __init__(self, deadline: _Deadline, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._deadline = deadline

    def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
        deadline = self._deadline

        class Watched(http_class):  # type: ignore[misc]
            def connect(self) -> None:
                super().connect()
                deadline.watch(self.sock)

        return super().do_open(Watched, req, **kwargs)


class _Http(_Watching, urllib.request.HTTPHandler):
    pass


class _Https(_Watching, urllib.request.HTTPSHandler):
    pass


def send(request: HttpRequest, *, timeout_s: float) -> Reply:
    """Blocks for at most about ``timeout_s`` in all (connecting, sending, the reply); run it
    in a thread."""
    deadline = _Deadline()
    opener = urllib.request.build_opener(_NoRedirects, _Http(deadline), _Https(deadline))
    outgoing = urllib.request.Request(  # noqa: S310 - channel addresses are checked http(s)
        request.url,
        data=request.body if request.method != "GET" else None,
        headers=request.headers,
        method=request.method,
    )
    timer = threading.Timer(timeout_s, deadline.expire)
    timer.daemon = True
    timer.start()
    try:
        reply = _exchange(opener, outgoing, timeout_s=timeout_s)
    except Unreachable:
        if deadline.passed:
            raise Unreachable(f"no reply within {timeout_s:g} s") from None
        raise
    finally:
        timer.cancel()
    if deadline.passed:  # what came may be cut short
        raise Unreachable(f"no reply within {timeout_s:g} s")
    return reply


def _exchange(
    opener: urllib.request.OpenerDirector, outgoing: urllib.request.Request, *, timeout_s: float
) -> Reply:
    try:
        with opener.open(outgoing, timeout=timeout_s) as response:
            return Reply(response.status, response.read(REPLY_MAX_BYTES))
    except urllib.error.HTTPError as exc:
        body = exc.read(REPLY_MAX_BYTES) if exc.fp is not None else b""
        return Reply(exc.code, body)
    except urllib.error.URLError as exc:
        raise Unreachable(f"unreachable: {exc.reason}") from exc
    except TimeoutError as exc:
        raise Unreachable(f"no reply within {timeout_s:g} s") from exc
    except (OSError, http.client.HTTPException) as exc:
        raise Unreachable(f"connection failed: {exc!r}") from exc
