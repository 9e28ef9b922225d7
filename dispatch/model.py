"""The shapes the dispatch parts hand each other: who to reach, on which channel, with what
message, as which HTTP request. Plain data: rosters produce contacts, the dispatcher writes
messages, channels turn a message into a vendor's request, the queue stores and sends it."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class ChannelKind(StrEnum):
    WECOM = "wecom"  # 企业微信 group robot
    DINGTALK = "dingtalk"  # 钉钉 robot, signed
    FEISHU = "feishu"  # 飞书 robot
    WEBHOOK = "webhook"  # generic JSON POST
    SMS = "sms"  # a provider's HTTP API, through a template


@dataclass(frozen=True, slots=True, kw_only=True)
class Channel:
    """One configured way out: a group robot, a webhook, an SMS provider. ``config`` holds what
    its kind needs (URL, secret, template), checked by ``dispatch.channels``."""

    id: str
    kind: ChannelKind
    config: dict[str, Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class Contact:
    """A person to reach for a zone, in roster order: ``level`` 0 is the first on call, each
    further level the next person or supervisor to escalate to."""

    person_id: str
    name: str
    phone: str | None
    role: str  # grid_worker | supervisor
    level: int
    channels: tuple[Channel, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """What a notification says, in Chinese, whatever the channel: a title, the text (plain,
    with line breaks), the field link, and the phones to mention in a group."""

    title: str
    text: str
    link: str | None = None
    mention_phones: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpRequest:
    """A request as a channel builds it from a message, at each attempt: a signed channel
    (DingTalk, Feishu) signs with the time it is sent, which its server checks."""

    method: str
    url: str
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
