"""SMS through a provider's HTTP API, described by a template rather than coded per provider:
the address, the method, headers (a token), and a body whose strings may hold placeholders.

Placeholders: ``{phone}`` (the message's phones, comma-separated, as most providers take a
list), ``{title}``, ``{text}``, ``{link}``, and ``{content}`` (title, text and link on one line,
what a text message carries). In the address they are URL-encoded; in the body they are
written into its strings, then the body is sent as JSON or as a form. ``expect`` names fields of
the reply's JSON and the values that mean accepted (``{"code": 0}``), for providers that answer
HTTP 200 to a refusal. Providers that want each request signed with a key (Aliyun, Tencent
Cloud) need a gateway or a channel of their own."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import orjson

from dispatch.channels.common import (
    JSON,
    Refusal,
    choice,
    headers,
    http_url,
    only,
    reply_json,
    snippet,
    status_refusal,
)
from dispatch.model import HttpRequest, Message

PLACEHOLDERS = ("phone", "title", "text", "link", "content")
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
FORM = "application/x-www-form-urlencoded"


def check_config(config: dict[str, Any]) -> dict[str, Any]:
    only(config, allowed={"url", "method", "format", "headers", "body", "expect"})
    checked: dict[str, Any] = {
        "url": http_url(config),
        "method": choice(config, "method", options=("POST", "GET")),
        "format": choice(config, "format", options=("json", "form")),
        "headers": headers(config),
        "body": config.get("body"),
        "expect": config.get("expect", {}),
    }
    _placeholders_known("url", checked["url"])
    body = checked["body"]
    if checked["method"] == "GET":
        if body is not None:
            raise ValueError("body: a GET request carries its values in the url")
    elif not isinstance(body, dict) or not body:
        raise ValueError("body: required for POST, an object of the provider's fields")
    elif checked["format"] == "form" and not all(isinstance(v, str) for v in body.values()):
        raise ValueError("body: a form's values must be strings")
    else:
        _placeholders_known("body", body)
    if not isinstance(checked["expect"], dict):
        raise ValueError("expect: must be an object of reply fields and their values")
    return checked


def _placeholders_known(name: str, template: Any) -> None:
    for text in _strings(template):
        for found in _PLACEHOLDER.findall(text):
            if found not in PLACEHOLDERS:
                raise ValueError(
                    f"{name}: unknown placeholder {{{found}}} (known: "
                    + ", ".join(f"{{{p}}}" for p in PLACEHOLDERS)
                    + ")"
                )


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _fill(template: Any, values: dict[str, str]) -> Any:
    if isinstance(template, str):
        return _PLACEHOLDER.sub(lambda m: values[m[1]], template)
    if isinstance(template, dict):
        return {k: _fill(v, values) for k, v in template.items()}
    if isinstance(template, list):
        return [_fill(v, values) for v in template]
    return template


def build(config: dict[str, Any], message: Message, *, now: datetime) -> HttpRequest:
    del now
    if not message.mention_phones:
        raise ValueError("mention_phones: a text message needs a phone number")
    one_line = " ".join(message.text.split())
    values = {
        "phone": ",".join(message.mention_phones),
        "title": message.title,
        "text": message.text,
        "link": message.link or "",
        "content": " ".join(p for p in (message.title, one_line, message.link) if p),
    }
    url = _fill(config["url"], {k: quote(v, safe="") for k, v in values.items()})
    if config["method"] == "GET":
        return HttpRequest(method="GET", url=url, headers=dict(config["headers"]))
    body = _fill(config["body"], values)
    if config["format"] == "form":
        data, kind = urlencode(body).encode(), FORM
    else:
        data, kind = orjson.dumps(body), JSON
    return HttpRequest(
        method="POST", url=url, headers={**config["headers"], "Content-Type": kind}, body=data
    )


def refusal(config: dict[str, Any], status: int, body: bytes) -> Refusal | None:
    refused = status_refusal(status, body)
    if refused or not config["expect"]:
        return refused
    reply = reply_json(body) or {}
    for field, wanted in config["expect"].items():
        if reply.get(field) != wanted:
            return Refusal(f"{field} {reply.get(field)!r}, not {wanted!r}: {snippet(body)}")
    return None
