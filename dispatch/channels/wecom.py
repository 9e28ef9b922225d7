"""WeCom (企业微信) group robot: POST JSON to the robot's webhook address
(``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…``).

``text`` (the default) is the only type that mentions people by phone
(``text.mentioned_mobile_list``), up to 2,048 bytes of content; ``markdown`` carries a titled
message with a link, up to 4,096 bytes, but can mention only by WeCom user id. The robot answers
HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``, or another errcode (45009: too many messages,
20 a minute per robot)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dispatch.channels.common import (
    LINK_LABEL,
    Refusal,
    choice,
    code_refusal,
    fit,
    http_url,
    json_request,
    only,
)
from dispatch.model import HttpRequest, Message

TEXT_LIMIT_BYTES = 2048
MARKDOWN_LIMIT_BYTES = 4096


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    only(config, allowed={"url", "msgtype"})
    return {
        "url": http_url(config),
        "msgtype": choice(config, "msgtype", options=("text", "markdown")),
    }


def build(config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest:
    del now  # unsigned: the key in the address is the credential
    if config["msgtype"] == "markdown":
        link = f"\n[{LINK_LABEL}]({message.link})" if message.link else ""
        head = f"**{message.title}**\n"
        room = MARKDOWN_LIMIT_BYTES - len(head.encode()) - len(link.encode())
        payload: dict[str, Any] = {
            "msgtype": "markdown",
            "markdown": {"content": head + fit(message.text, limit_bytes=room) + link},
        }
    else:
        link = f"\n{message.link}" if message.link else ""
        head = f"{message.title}\n"
        room = TEXT_LIMIT_BYTES - len(head.encode()) - len(link.encode())
        text: dict[str, Any] = {"content": head + fit(message.text, limit_bytes=room) + link}
        if message.mention_phones:
            text["mentioned_mobile_list"] = list(message.mention_phones)
        payload = {"msgtype": "text", "text": text}
    return json_request(config["url"], payload)


def refusal(config: dict[str, Any], status: int, body: bytes) -> Refusal | None:
    del config
    return code_refusal(status, body, code="errcode", message="errmsg")
