"""DingTalk (钉钉) custom robot: POST JSON to ``https://oapi.dingtalk.com/robot/send?
access_token=…``, signed when the robot's security setting is 加签 (a secret, ``SEC…``).

Signing: ``timestamp`` is the send time in milliseconds and ``sign`` is
urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))), both added to the
query; the robot refuses a timestamp more than an hour from its clock. That is why a request is
built at each attempt, never stored. People are mentioned by phone in ``at.atMobiles``, and a
markdown message must also name them as ``@phone`` in its text. The robot answers HTTP 200
with ``{"errcode": 0, "errmsg": "ok"}``, or another errcode (310000: signature, keyword or
address refused; 130101: over 20 messages a minute)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any
from urllib.parse import quote_plus

from dispatch.channels.common import (
    LINK_LABEL,
    Refusal,
    choice,
    code_refusal,
    http_url,
    json_request,
    lines,
    only,
    secret,
)
from dispatch.model import HttpRequest, Message


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    only(config, allowed={"url", "secret", "msgtype"})
    return {
        "url": http_url(config),
        "secret": secret(config),
        "msgtype": choice(config, "msgtype", options=("markdown", "text")),
    }


def sign(timestamp_ms: int, key: str) -> str:
    """The ``sign`` query value, already URL-encoded, as the robot's documentation computes it."""
    digest = hmac.new(key.encode(), f"{timestamp_ms}\n{key}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def build(config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest:
    url = config["url"]
    if config["secret"]:
        timestamp = int(now.timestamp() * 1000)
        separator = "&" if "?" in url else "?"
        url = f"{url}{separator}timestamp={timestamp}&sign={sign(timestamp, config['secret'])}"
    mentions = " ".join(f"@{phone}" for phone in message.mention_phones)
    at = {"atMobiles": list(message.mention_phones), "isAtAll": False}
    if config["msgtype"] == "markdown":
        parts = [f"### {message.title}", *lines(message.text)]
        if message.link:
            parts.append(f"[{LINK_LABEL}]({message.link})")
        if mentions:
            parts.append(mentions)
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"title": message.title, "text": "\n\n".join(parts)},
            "at": at,
        }
    else:
        parts = [message.title, message.text, message.link or "", mentions]
        content = "\n".join(p for p in parts if p)
        payload = {"msgtype": "text", "text": {"content": content}, "at": at}
    return json_request(url, payload)


def refusal(config: dict[str, Any], status: int, body: bytes) -> Refusal | None:
    del config
    return code_refusal(status, body, code="errcode", message="errmsg")
