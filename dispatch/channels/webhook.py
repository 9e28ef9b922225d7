"""A generic webhook: POST the message as JSON to any address, with the headers configured
(a token, say). With a ``secret``, the receiver can check the request: ``X-Firewatch-Timestamp``
is the send time in seconds and ``X-Firewatch-Signature`` is ``sha256=`` and the hex
HMAC-SHA256(key=secret, msg=f"{timestamp}.".encode() + body). Any 2xx reply is taken."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Any

import orjson

from dispatch.channels.common import JSON, Refusal, headers, http_url, only, secret, status_refusal
from dispatch.model import HttpRequest, Message


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    only(config, allowed={"url", "headers", "secret"})
    return {"url": http_url(config), "headers": headers(config), "secret": secret(config)}


def signature(timestamp_s: int, body: bytes, key: str) -> str:
    mac = hmac.new(key.encode(), f"{timestamp_s}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def build(config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest:
    body = orjson.dumps(
        {
            "title": message.title,
            "text": message.text,
            "link": message.link,
            "mention_phones": list(message.mention_phones),
            "sent_at": now.isoformat(),
        }
    )
    extra = {**config["headers"], "Content-Type": JSON}
    if config["secret"]:
        timestamp = int(now.timestamp())
        extra["X-Firewatch-Timestamp"] = str(timestamp)
        extra["X-Firewatch-Signature"] = signature(timestamp, body, config["secret"])
    return HttpRequest(method="POST", url=config["url"], headers=extra, body=body)


def refusal(config: dict[str, Any], status: int, body: bytes) -> Refusal | None:
    del config
    return status_refusal(status, body)
