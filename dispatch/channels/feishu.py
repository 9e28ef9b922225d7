"""Feishu (飞书) custom bot: POST JSON to ``https://open.feishu.cn/open-apis/bot/v2/hook/…``,
signed when the bot's security setting is 签名校验.

Signing: ``timestamp`` is the send time in seconds and ``sign`` is
base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b"")), both in the body; the bot refuses
a timestamp more than an hour away (code 19021). Note the key is the string to sign and the
message empty, unlike DingTalk. ``post`` (the default) is rich text with a title and a link;
a custom bot mentions people by Feishu user id only, never by phone, so phones are not
mentioned here. The bot answers ``{"code": 0, "msg": "success"}`` (older bots
``{"StatusCode": 0, …}``) or another code (9499: throttled)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from dispatch.channels.common import (
    LINK_LABEL,
    Refusal,
    choice,
    code_refusal,
    http_url,
    json_request,
    lines,
    only,
    reply_json,
    secret,
)
from dispatch.model import HttpRequest, Message


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    only(config, allowed={"url", "secret", "msg_type"})
    return {
        "url": http_url(config),
        "secret": secret(config),
        "msg_type": choice(config, "msg_type", options=("post", "text")),
    }


def sign(timestamp_s: int, key: str) -> str:
    string_to_sign = f"{timestamp_s}\n{key}".encode()
    return base64.b64encode(hmac.new(string_to_sign, b"", hashlib.sha256).digest()).decode()


def build(config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest:
    payload: dict[str, Any] = {}
    if config["secret"]:
        timestamp = int(now.timestamp())
        payload |= {"timestamp": str(timestamp), "sign": sign(timestamp, config["secret"])}
    if config["msg_type"] == "post":
        rows: list[list[dict[str, str]]] = [
            [{"tag": "text", "text": t}] for t in lines(message.text)
        ]
        if message.link:
            rows.append([{"tag": "a", "text": LINK_LABEL, "href": message.link}])
        payload |= {
            "msg_type": "post",
            "content": {"post": {"zh_cn": {"title": message.title, "content": rows}}},
        }
    else:
        parts = [message.title, message.text, message.link or ""]
        payload |= {"msg_type": "text", "content": {"text": "\n".join(p for p in parts if p)}}
    return json_request(config["url"], payload)


def refusal(config: dict[str, Any], status: int, body: bytes) -> Refusal | None:
    del config
    reply = reply_json(body) or {}
    if "code" not in reply and "StatusCode" in reply:
        return code_refusal(status, body, code="StatusCode", message="StatusMessage")
    return code_refusal(status, body, code="code", message="msg")
