"""Local HTTP servers that play the vendors' robots, each checking a request against its
vendor's published format (the formats tests/dispatch/test_channels.py cites) and answering as
that vendor does: a wrong DingTalk signature gets errcode 310000 inside an HTTP 200, a Feishu
timestamp out of the hour code 19021. Every request must carry the delivery key header.

Paths: /wecom, /dingtalk, /feishu, /webhook, /sms. Replies can be scripted per path (a 503, a
throttling errcode, a reply too slow for the sender's timeout) before the vendor's own."""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import orjson

from dispatch.sender import DELIVERY_HEADER

DINGTALK_SECRET = "SEC7f1c0e2d9b8a"
FEISHU_SECRET = "fs-4b2a9c"
HOUR_S = 3600


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    key: str | None
    body: Any
    at: float  # time.monotonic()
    problems: tuple[str, ...]


@dataclass(slots=True)
class Scripted:
    """Replies given before the vendor's own, in order: (status, body) or a delay in seconds
    to wait before answering normally (longer than the sender's timeout: no reply in time)."""

    replies: list[tuple[int, bytes] | float] = field(default_factory=list)


def _ok(errcode_field: str = "errcode") -> bytes:
    if errcode_field == "code":
        return orjson.dumps({"code": 0, "msg": "success", "data": {}})
    return orjson.dumps({"errcode": 0, "errmsg": "ok"})


def _within_hour(seconds: float) -> bool:
    return abs(time.time() - seconds) < HOUR_S


def check_wecom(query: dict[str, list[str]], body: Any) -> list[str]:
    problems = [] if query.get("key") else ["no key in the address"]
    if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
        return [*problems, "msgtype must be text or markdown"]
    part = body.get(body["msgtype"])
    if not isinstance(part, dict) or not isinstance(part.get("content"), str):
        return [*problems, f"{body['msgtype']}.content missing"]
    limit = 2048 if body["msgtype"] == "text" else 4096
    if len(part["content"].encode()) > limit:
        problems.append(f"content over {limit} bytes")
    phones = part.get("mentioned_mobile_list", [])
    if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
        problems.append("mentioned_mobile_list must be a list of strings")
    if body["msgtype"] == "markdown" and "mentioned_mobile_list" in part:
        problems.append("markdown cannot mention by phone")
    return problems


def check_dingtalk(query: dict[str, list[str]], body: Any) -> list[str]:
    problems = [] if query.get("access_token") else ["no access_token"]
    timestamp, sign = query.get("timestamp", [""])[0], query.get("sign", [""])[0]
    if not timestamp.isdigit() or not _within_hour(int(timestamp) / 1000):
        problems.append("timestamp missing or more than an hour away")
    else:
        mac = hmac.new(
            DINGTALK_SECRET.encode(), f"{timestamp}\n{DINGTALK_SECRET}".encode(), hashlib.sha256
        )
        if sign != base64.b64encode(mac.digest()).decode():
            problems.append("sign does not match")
    if not isinstance(body, dict) or body.get("msgtype") not in ("text", "markdown"):
        return [*problems, "msgtype must be text or markdown"]
    if body["msgtype"] == "markdown":
        markdown = body.get("markdown", {})
        if not isinstance(markdown.get("title"), str) or not isinstance(markdown.get("text"), str):
            problems.append("markdown needs title and text")
    elif not isinstance(body.get("text", {}).get("content"), str):
        problems.append("text.content missing")
    mobiles = body.get("at", {}).get("atMobiles", [])
    if not isinstance(mobiles, list) or not all(isinstance(m, str) for m in mobiles):
        problems.append("at.atMobiles must be a list of strings")
    return problems


def check_feishu(body: Any) -> list[str]:
    if not isinstance(body, dict):
        return ["body must be an object"]
    problems = []
    timestamp = body.get("timestamp", "")
    if (
        not isinstance(timestamp, str)
        or not timestamp.isdigit()
        or not _within_hour(int(timestamp))
    ):
        problems.append("timestamp missing or more than an hour away")
    else:
        key = f"{timestamp}\n{FEISHU_SECRET}".encode()
        if (
            body.get("sign")
            != base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()
        ):
            problems.append("sign does not match")
    if body.get("msg_type") == "post":
        post = body.get("content", {}).get("post", {}).get("zh_cn", {})
        rows = post.get("content")
        if not isinstance(post.get("title"), str) or not isinstance(rows, list):
            problems.append("post.zh_cn needs title and content")
        elif not all(isinstance(e, dict) and "tag" in e for row in rows for e in row):
            problems.append("every post element needs a tag")
    elif body.get("msg_type") == "text":
        if not isinstance(body.get("content", {}).get("text"), str):
            problems.append("content.text missing")
    else:
        problems.append("msg_type must be post or text")
    return problems


def check_webhook(body: Any) -> list[str]:
    fields = ("title", "text", "link", "mention_phones", "sent_at")
    if not isinstance(body, dict) or not all(f in body for f in fields):
        return ["webhook body needs " + ", ".join(fields)]
    return []


def check_sms(body: Any) -> list[str]:
    if not isinstance(body, dict) or not str(body.get("mobile", "")).replace(",", "").isdigit():
        return ["sms body needs mobile"]
    return (
        [] if isinstance(body.get("content"), str) and body["content"] else ["sms content missing"]
    )


class Vendors:
    """The servers' shared record: what came in, in order, and the scripts still to play."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.received: list[Received] = []
        self.scripts: dict[str, Scripted] = {}
        self.url = ""

    def script(self, path: str, *replies: tuple[int, bytes] | float) -> None:
        with self.lock:
            self.scripts[path] = Scripted(list(replies))

    def keys(self) -> Counter[str | None]:
        with self.lock:
            return Counter(r.key for r in self.received)

    def of(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]

    def next_scripted(self, path: str) -> tuple[int, bytes] | float | None:
        with self.lock:
            script = self.scripts.get(path)
            return script.replies.pop(0) if script and script.replies else None

    def record(self, received: Received) -> None:
        with self.lock:
            self.received.append(received)


def _answer(path: str, query: dict[str, list[str]], body: Any) -> tuple[list[str], int, bytes]:
    checks: dict[str, Callable[[], list[str]]] = {
        "/wecom": lambda: check_wecom(query, body),
        "/dingtalk": lambda: check_dingtalk(query, body),
        "/feishu": lambda: check_feishu(body),
        "/webhook": lambda: check_webhook(body),
        "/sms": lambda: check_sms(body),
    }
    if path not in checks:
        return [f"no vendor at {path}"], 404, b"not found"
    problems = checks[path]()
    if not problems:
        return [], 200, _ok("code" if path == "/feishu" else "errcode")
    refusals = {
        "/wecom": {"errcode": 40008, "errmsg": "; ".join(problems)},
        "/dingtalk": {"errcode": 310000, "errmsg": "; ".join(problems)},
        "/feishu": {"code": 19021, "msg": "; ".join(problems)},
    }
    if path in refusals:
        return problems, 200, orjson.dumps(refusals[path])
    return problems, 400, "; ".join(problems).encode()


class _Handler(BaseHTTPRequestHandler):
    vendors: Vendors

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            body = None
        key = self.headers.get(DELIVERY_HEADER)
        problems, status, reply = _answer(parts.path, parse_qs(parts.query), body)
        if key is None:
            problems = [*problems, f"no {DELIVERY_HEADER} header"]
        scripted = self.vendors.next_scripted(parts.path)
        if isinstance(scripted, float):
            time.sleep(scripted)
        elif scripted is not None:
            status, reply = scripted
        self.vendors.record(Received(parts.path, key, body, time.monotonic(), tuple(problems)))
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 drops connections from several workers at once: the client's
    # SYN is retried a second later, past a short timeout.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A sender that timed out has gone by the time a slow reply is written: expected."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serving_vendors() -> Iterator[Vendors]:
    vendors = Vendors()
    handler = type("Handler", (_Handler,), {"vendors": vendors})
    server = _Server(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    vendors.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, name="vendors", daemon=True)
    thread.start()
    try:
        yield vendors
    finally:
        server.shutdown()
        server.server_close()
