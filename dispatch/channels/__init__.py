"""Channels: a message turned into the request a vendor's robot or a provider's API expects,
one module per kind, each checked against its vendor's published format
(tests/dispatch/test_channels.py), and the vendor's reply read as taken or refused.

A request is built at each attempt (signatures carry the send time), from a configuration
checked again each time: a channel stored with a mistake fails with the field named."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from dispatch.channels import dingtalk, feishu, sms, webhook, wecom
from dispatch.channels.common import Refusal
from dispatch.model import Channel, ChannelKind, HttpRequest, Message

__all__ = ["Refusal", "build", "check_config", "refusal"]


class _Vendor(Protocol):
    """What each channel module provides."""

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]: ...

    def build(self, config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest: ...

    def refusal(self, config: dict[str, Any], status: int, body: bytes) -> Refusal | None: ...


_VENDORS: dict[ChannelKind, _Vendor] = {
    ChannelKind.WECOM: wecom,
    ChannelKind.DINGTALK: dingtalk,
    ChannelKind.FEISHU: feishu,
    ChannelKind.WEBHOOK: webhook,
    ChannelKind.SMS: sms,
}


def check_config(kind: ChannelKind, config: dict[str, Any]) -> dict[str, Any]:
    """The configuration with its defaults filled in; ValueError naming the field if it will
    not do (missing, unknown, of the wrong shape)."""
    if not isinstance(config, dict):
        raise ValueError("config: must be an object")
    return _vendor(kind).check_config(config)


def build(channel: Channel, message: Message, *, now: datetime) -> HttpRequest:
    """The request to send ``message`` through ``channel`` at ``now``; ValueError when the
    channel's configuration or the message will not do (an SMS without a phone)."""
    return _vendor(channel.kind).build(check_config(channel.kind, channel.config), message, now=now)


def refusal(
    kind: ChannelKind, config: dict[str, Any], *, status: int, body: bytes
) -> Refusal | None:
    """None when the reply means the message was taken; else why not, and whether another
    attempt can help. Robots answer HTTP 200 to most refusals, with an error code inside."""
    return _vendor(kind).refusal(check_config(kind, config), status, body)


def _vendor(kind: ChannelKind) -> _Vendor:
    try:
        return _VENDORS[ChannelKind(kind)]
    except ValueError:
        raise ValueError(
            f"kind: must be one of {', '.join(k.value for k in ChannelKind)}"
        ) from None
