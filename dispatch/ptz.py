"""Moving a camera to a preset through its own HTTP API, behind a small driver interface.

The one real driver speaks Hikvision ISAPI: ``PUT /ISAPI/PTZCtrl/channels/{ch}/presets/{n}/goto``
with no body, HTTP digest authentication (``dispatch.digest``), and a ``ResponseStatus`` XML
answer whose ``statusCode`` 1 means OK. Drivers block (the standard library's ``http.client``)
and are run in a thread with a deadline, so a camera that does not answer costs the operator a
few seconds and an error that says so, and holds nothing else (no database connection, no
lock) while it is awaited.
"""

from __future__ import annotations

import asyncio
import http.client
import re
import secrets
import time
from dataclasses import dataclass, field
from email.message import Message
from typing import Protocol
from urllib.parse import quote, urlsplit

from dispatch import digest

REPLY_MAX_BYTES = 64 * 1024  # a ResponseStatus is a few hundred bytes


class CameraError(Exception):
    """The camera answered, or could not be reached, but did not move; the message says why
    in the operator's words."""


class CameraTimeout(CameraError):
    """The camera did not answer in time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PtzTarget:
    """Where a camera's API is and how to log in to it (``config.ptz`` and its credentials)."""

    camera_id: str
    driver: str
    url: str
    channel: int
    username: str
    password: str = field(repr=False)


class PtzDriver(Protocol):
    def goto_preset(self, target: PtzTarget, number: int, *, timeout_s: float) -> None:
        """Moves the camera to preset ``number`` within about ``timeout_s``; raises
        CameraTimeout, or CameraError for any other failure."""


@dataclass(frozen=True, slots=True)
class _Reply:
    status: int
    headers: Message
    body: bytes


class IsapiDriver:
    """Hikvision ISAPI (also spoken by other vendors' domes) over http or https."""

    def goto_preset(self, target: PtzTarget, number: int, *, timeout_s: float) -> None:
        base = urlsplit(target.url)
        path = (
            f"{base.path.rstrip('/')}/ISAPI/PTZCtrl/channels/{target.channel}/presets/{number}/goto"
        )
        deadline = time.monotonic() + timeout_s
        reply = _put(target, path, headers={}, deadline=deadline)
        if reply.status == 401:
            challenge = digest.choose(reply.headers.get_all("WWW-Authenticate") or [])
            if challenge is None:
                offered = ", ".join(reply.headers.get_all("WWW-Authenticate") or ["none"])
                raise CameraError(
                    f"camera {target.camera_id} asks for a login we cannot give "
                    f"(offered: {offered[:200]}); digest MD5 or SHA-256 is supported"
                )
            answer = digest.authorization(
                challenge,
                method="PUT",
                uri=path,
                username=target.username,
                password=target.password,
                cnonce=secrets.token_hex(16),
            )
            reply = _put(target, path, headers={"Authorization": answer}, deadline=deadline)
            if reply.status == 401:
                raise CameraError(
                    f"camera {target.camera_id} refused the login of {target.username!r}; "
                    f"set the right one with PUT /api/v1/cameras/{quote(target.camera_id)}"
                    "/credentials"
                )
        code = _status_code(reply.body)
        if reply.status != 200 or code not in (None, 1):
            raise CameraError(
                f"camera {target.camera_id} did not move to preset {number}: HTTP "
                f"{reply.status}{_isapi_reason(reply.body)}"
            )


def _put(target: PtzTarget, path: str, *, headers: dict[str, str], deadline: float) -> _Reply:
    """One request on a connection of its own, within what is left of the deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise CameraTimeout(f"camera {target.camera_id} did not answer in time")
    base = urlsplit(target.url)
    kind = http.client.HTTPSConnection if base.scheme == "https" else http.client.HTTPConnection
    try:
        conn = kind(base.hostname or "", base.port, timeout=left)
    except ValueError as exc:  # a port that is not a number: the registry refuses these
        raise CameraError(f"camera {target.camera_id}: bad address {target.url!r}") from exc
    try:
        conn.request("PUT", path, body=b"", headers={**headers, "Content-Length": "0"})
        response = conn.getresponse()
        return _Reply(response.status, response.msg, response.read(REPLY_MAX_BYTES))
    except TimeoutError as exc:
        raise CameraTimeout(
            f"camera {target.camera_id} did not answer within {left:.1f} s at {target.url}"
        ) from exc
    except (OSError, http.client.HTTPException) as exc:
        raise CameraError(
            f"camera {target.camera_id} could not be reached at {target.url}: "
            f"{exc.strerror if isinstance(exc, OSError) and exc.strerror else exc!r}"
        ) from exc
    finally:
        conn.close()


def _status_code(body: bytes) -> int | None:
    """ISAPI's ResponseStatus ``statusCode`` (1: OK), None when the body holds none; -1 for a
    number of more digits than any code has (int() of one over 4,300 digits raises)."""
    found = re.search(rb"<statusCode>\s*(\d+)\s*</statusCode>", body)
    if found is None:
        return None
    return int(found.group(1)) if len(found.group(1)) <= 9 else -1


def _isapi_reason(body: bytes) -> str:
    """`` (statusString / subStatusCode)`` from a ResponseStatus, if it has them."""
    parts = [
        found.group(1).decode("utf-8", "replace").strip()
        for tag in (rb"statusString", rb"subStatusCode")
        if (found := re.search(rb"<" + tag + rb">([^<]{1,100})</" + tag + rb">", body))
    ]
    return f" ({' / '.join(parts)})" if parts else ""


DRIVERS: dict[str, PtzDriver] = {"isapi": IsapiDriver()}


async def goto_preset(target: PtzTarget, number: int, *, timeout_s: float) -> None:
    """Runs the target's driver in a thread; the deadline holds even if a driver overruns
    its own (the thread is then left to finish on its socket timeout)."""
    driver = DRIVERS[target.driver]
    try:
        await asyncio.wait_for(
            asyncio.to_thread(driver.goto_preset, target, number, timeout_s=timeout_s),
            timeout=timeout_s + 1.0,
        )
    except TimeoutError as exc:
        raise CameraTimeout(
            f"camera {target.camera_id} did not answer within {timeout_s:g} s"
        ) from exc
