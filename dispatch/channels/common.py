"""What every channel shares: checking its configuration field by field, a JSON request, and
reading a reply as accepted or refused (retry later, or never)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import orjson

from dispatch.model import HttpRequest

JSON = "application/json; charset=utf-8"  # DingTalk and WeCom insist on UTF-8
LINK_LABEL = "打开处置页面"
REPLY_KEEP_CHARS = 200
_HEADER_NAME = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")  # RFC 9110's token


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a receiver did not take a request; ``permanent`` when sending it again cannot help
    (a wrong address, a malformed request), so no retry is made."""

    error: str
    permanent: bool = False


def only(config: Mapping[str, Any], *, allowed: set[str]) -> None:
    unknown = sorted(set(config) - allowed)
    if unknown:
        raise ValueError(f"{unknown[0]}: unknown field (allowed: {', '.join(sorted(allowed))})")


def http_url(config: Mapping[str, Any], name: str = "url") -> str:
    value = config.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name}: required, an http:// or https:// URL")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name}: must be an http:// or https:// URL with a host")
    if any(c in value for c in "\r\n "):
        raise ValueError(f"{name}: must not hold spaces or line breaks")
    if not value.isascii():
        raise ValueError(
            f"{name}: must be ASCII, as HTTP sends it: percent-encode other characters, and "
            "write an international host name in its xn-- form"
        )
    return value


def secret(config: Mapping[str, Any], name: str = "secret") -> str | None:
    value = config.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{name}: must be a non-empty string")
    return value.strip()


def choice(config: Mapping[str, Any], name: str, *, options: tuple[str, ...]) -> str:
    """One of ``options``; the first is the default."""
    value = config.get(name, options[0])
    if value not in options:
        raise ValueError(f"{name}: must be one of {', '.join(options)}")
    return str(value)


def headers(config: Mapping[str, Any], name: str = "headers") -> dict[str, str]:
    value = config.get(name, {})
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise ValueError(f"{name}: must map header names to string values")
    for key, text in value.items():
        if not _HEADER_NAME.match(key) or any(c in text for c in "\r\n"):
            raise ValueError(f"{name}: {key!r} is not a valid header")
        try:
            text.encode("latin-1")  # what HTTP/1.1 carries in a header
        except UnicodeEncodeError:
            raise ValueError(
                f"{name}: {key!r} must be Latin-1 text (encode anything else, e.g. base64)"
            ) from None
    return dict(value)


def json_request(
    url: str, payload: Mapping[str, Any], *, extra: Mapping[str, str] | None = None
) -> HttpRequest:
    return HttpRequest(
        method="POST",
        url=url,
        headers={"Content-Type": JSON, **(extra or {})},
        body=orjson.dumps(payload),
    )


def fit(text: str, *, limit_bytes: int) -> str:
    """``text`` cut to at most ``limit_bytes`` of UTF-8, marked with an ellipsis where cut: a
    robot refuses a message over its limit outright."""
    data = text.encode()
    if len(data) <= limit_bytes:
        return text
    return data[: limit_bytes - 3].decode(errors="ignore") + "…"


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def snippet(body: bytes) -> str:
    return body[:REPLY_KEEP_CHARS].decode(errors="replace")


def status_refusal(status: int, body: bytes) -> Refusal | None:
    """2xx is taken; a timeout, throttling or server error is worth a retry; any other status
    (a redirect, a wrong address or request) is not."""
    if 200 <= status < 300:
        return None
    permanent = status not in (408, 425, 429) and status < 500
    return Refusal(f"HTTP {status}: {snippet(body)}", permanent=permanent)


def reply_json(body: bytes) -> dict[str, Any] | None:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return parsed if isinstance(parsed, dict) else None


def code_refusal(status: int, body: bytes, *, code: str, message: str) -> Refusal | None:
    """For robots that answer HTTP 200 with an error code of their own (``errcode`` for WeCom
    and DingTalk, ``code`` for Feishu): anything but code 0 is refused, and retried, since
    throttling is one of those codes."""
    refused = status_refusal(status, body)
    if refused:
        return refused
    reply = reply_json(body)
    if reply is None or code not in reply:
        return Refusal(f"reply without {code}: {snippet(body)}")
    if reply[code] != 0:
        return Refusal(f"{code} {reply[code]}: {reply.get(message, '')}")
    return None
