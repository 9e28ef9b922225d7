"""Sending one request with the standard library, and what came back.

No redirects are followed: urllib would turn a redirected POST into a GET without its body,
so a moved robot address is reported (a 3xx, not retried) rather than half sent."""

from __future__ import annotations

import http.client
import urllib.error
import urllib.request
from dataclasses import dataclass

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


def send(request: HttpRequest, *, timeout_s: float) -> Reply:
    """Blocks for at most about ``timeout_s`` per network step (urllib's timeout is per socket
    operation); run it in a thread."""
    opener = urllib.request.build_opener(_NoRedirects)
    outgoing = urllib.request.Request(  # noqa: S310 - channel addresses are checked http(s)
        request.url,
        data=request.body if request.method != "GET" else None,
        headers=request.headers,
        method=request.method,
    )
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
