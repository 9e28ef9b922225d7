"""Each channel's request against its vendor's published format, and its reply read right.

The formats (docs/dispatch.md names the sources): WeCom group robot ``{"msgtype": "text",
"text": {"content", "mentioned_mobile_list"}}`` or ``markdown``, content up to 2,048 / 4,096
bytes; DingTalk custom robot, ``timestamp`` (ms) and ``sign`` = urlencode(base64(HMAC-SHA256(
secret, f"{timestamp}\\n{secret}"))) in the query, ``at.atMobiles`` in the body; Feishu custom
bot, ``timestamp`` (s) and ``sign`` = base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}",
msg=b"")) in the body."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.channels import build, check_config, refusal
from dispatch.channels.dingtalk import sign as dingtalk_sign
from dispatch.model import Channel, ChannelKind, Message

NOW = datetime(2026, 3, 1, 8, 30, 15, 250_000, tzinfo=UTC)
LINK = "https://fw.example/f/abc"
MESSAGE = Message(
    title="火警: 3号楼",
    text="类别: 火警\n地址: 紫莱街道3号\n\n信号: SD-1 感烟报警",
    link=LINK,
    mention_phones=("13800001111", "13900002222"),
)


def _body(kind: ChannelKind, config: dict[str, Any], message: Message = MESSAGE) -> Any:
    request = build(Channel(id="c1", kind=kind, config=config), message, now=NOW)
    assert request.method == "POST"
    assert request.headers["Content-Type"].startswith("application/json")
    assert "utf-8" in request.headers["Content-Type"]
    return orjson.loads(request.body)


WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx"


def test_wecom_text_mentions_by_phone() -> None:
    body = _body(ChannelKind.WECOM, {"url": WECOM})
    assert body["msgtype"] == "text" and set(body) == {"msgtype", "text"}
    assert body["text"]["mentioned_mobile_list"] == ["13800001111", "13900002222"]
    content = body["text"]["content"]
    assert content.startswith(MESSAGE.title + "\n") and content.endswith("\n" + LINK)
    assert "地址: 紫莱街道3号" in content


def test_wecom_markdown_carries_a_link() -> None:
    request = build(
        Channel(id="c1", kind=ChannelKind.WECOM, config={"url": WECOM, "msgtype": "markdown"}),
        MESSAGE,
        now=NOW,
    )
    assert request.url == WECOM
    body = orjson.loads(request.body)
    assert body["msgtype"] == "markdown" and set(body["markdown"]) == {"content"}
    assert body["markdown"]["content"].startswith(f"**{MESSAGE.title}**\n")
    assert body["markdown"]["content"].endswith(f"[打开处置页面]({MESSAGE.link})")


@given(st.text(min_size=0, max_size=3000))
def test_wecom_content_stays_within_its_limit_and_keeps_the_link(text: str) -> None:
    message = Message(title="火警", text=text, link="https://fw.example/f/x")
    for msgtype, limit in (("text", 2048), ("markdown", 4096)):
        body = _body(ChannelKind.WECOM, {"url": WECOM, "msgtype": msgtype}, message)
        content = body[msgtype]["content"]
        assert len(content.encode()) <= limit
        assert content.endswith("https://fw.example/f/x" + (")" if msgtype == "markdown" else ""))


DINGTALK = "https://oapi.dingtalk.com/robot/send?access_token=abc123"


def test_dingtalk_signature_matches_a_published_vector() -> None:
    # The dingding crate's test vector (docs.rs/crate/dingding, src/signature.rs), computed
    # elsewhere by the documented formula: timestamp 1700000000000, secret "secret".
    assert dingtalk_sign(1700000000000, "secret") == (
        "OuzzJR5%2BxZ4%2FEYwqtNt6sMYZQMTa%2FHEGvc9miJe7XzY%3D"
    )


def test_dingtalk_signed_markdown_mentions_in_at_and_text() -> None:
    secret = "SEC0123456789abcdef"
    request = build(
        Channel(id="d", kind=ChannelKind.DINGTALK, config={"url": DINGTALK, "secret": secret}),
        MESSAGE,
        now=NOW,
    )
    parts = urlsplit(request.url)
    assert parts.netloc == "oapi.dingtalk.com" and parts.path == "/robot/send"
    query = parse_qs(parts.query)
    assert query["access_token"] == ["abc123"]
    timestamp = query["timestamp"][0]
    assert timestamp == str(int(NOW.timestamp() * 1000)) == "1772353815250"
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    # parse_qs already undid the URL-encoding once: what is left is the base64 itself.
    assert query["sign"] == [base64.b64encode(mac.digest()).decode()]
    body = orjson.loads(request.body)
    assert body["msgtype"] == "markdown"
    assert body["markdown"]["title"] == MESSAGE.title
    assert body["at"] == {"atMobiles": ["13800001111", "13900002222"], "isAtAll": False}
    text = body["markdown"]["text"]
    assert "@13800001111 @13900002222" in text and f"({MESSAGE.link})" in text
    assert "\n\n地址: 紫莱街道3号\n\n" in text  # markdown paragraphs: single breaks are lost


def test_dingtalk_unsigned_text() -> None:
    request = build(
        Channel(id="d", kind=ChannelKind.DINGTALK, config={"url": DINGTALK, "msgtype": "text"}),
        MESSAGE,
        now=NOW,
    )
    assert request.url == DINGTALK  # no secret, no timestamp or sign
    body = orjson.loads(request.body)
    assert body["msgtype"] == "text" and body["at"]["atMobiles"] == list(MESSAGE.mention_phones)
    assert body["text"]["content"].endswith("@13800001111 @13900002222")


FEISHU = "https://open.feishu.cn/open-apis/bot/v2/hook/5e3d587e-d78e"


def test_feishu_signed_post() -> None:
    secret = "nIMtb7r3N9pkXyXdtAbx6e"
    body = _body(ChannelKind.FEISHU, {"url": FEISHU, "secret": secret})
    assert body["timestamp"] == str(int(NOW.timestamp())) == "1772353815"
    string_to_sign = f"{body['timestamp']}\n{secret}".encode()
    expected = base64.b64encode(hmac.new(string_to_sign, b"", hashlib.sha256).digest()).decode()
    assert body["sign"] == expected
    # Not DingTalk's way round (key = secret, message = the string): a real mistake to make.
    wrong = hmac.new(secret.encode(), string_to_sign, hashlib.sha256).digest()
    assert body["sign"] != base64.b64encode(wrong).decode()
    assert body["msg_type"] == "post"
    post = body["content"]["post"]["zh_cn"]
    assert post["title"] == MESSAGE.title
    assert post["content"][0] == [{"tag": "text", "text": "类别: 火警"}]
    assert [{"tag": "text", "text": ""}] not in post["content"]  # blank lines dropped
    assert post["content"][-1] == [{"tag": "a", "text": "打开处置页面", "href": MESSAGE.link}]


def test_feishu_unsigned_text() -> None:
    body = _body(ChannelKind.FEISHU, {"url": FEISHU, "msg_type": "text"})
    assert "timestamp" not in body and "sign" not in body
    assert body["msg_type"] == "text"
    assert body["content"]["text"] == f"{MESSAGE.title}\n{MESSAGE.text}\n{MESSAGE.link}"


def test_webhook_json_signed_with_configured_headers() -> None:
    config = {
        "url": "http://10.0.0.5/hook",
        "headers": {"Authorization": "Bearer t"},
        "secret": "k",
    }
    request = build(Channel(id="w", kind=ChannelKind.WEBHOOK, config=config), MESSAGE, now=NOW)
    assert request.headers["Authorization"] == "Bearer t"
    body = orjson.loads(request.body)
    assert body == {
        "title": MESSAGE.title,
        "text": MESSAGE.text,
        "link": MESSAGE.link,
        "mention_phones": list(MESSAGE.mention_phones),
        "sent_at": NOW.isoformat(),
    }
    timestamp = request.headers["X-Firewatch-Timestamp"]
    assert timestamp == str(int(NOW.timestamp()))
    mac = hmac.new(b"k", f"{timestamp}.".encode() + request.body, hashlib.sha256)
    assert request.headers["X-Firewatch-Signature"] == "sha256=" + mac.hexdigest()


SMS_JSON = {
    "url": "https://sms.example/api/send",
    "headers": {"X-Api-Key": "abc"},
    "body": {"mobiles": "{phone}", "content": "{content}", "sign": "紫莱街道", "priority": 1},
    "expect": {"code": 0},
}


def test_sms_json_template() -> None:
    request = build(Channel(id="s", kind=ChannelKind.SMS, config=SMS_JSON), MESSAGE, now=NOW)
    assert request.method == "POST" and request.headers["X-Api-Key"] == "abc"
    body = orjson.loads(request.body)
    assert body["mobiles"] == "13800001111,13900002222"
    assert body["content"] == (
        "火警: 3号楼 类别: 火警 地址: 紫莱街道3号 信号: SD-1 感烟报警 https://fw.example/f/abc"
    )
    assert body["sign"] == "紫莱街道" and body["priority"] == 1


def test_sms_form_and_get_templates() -> None:
    form = {
        "url": "https://sms.example/send",
        "format": "form",
        "body": {"to": "{phone}", "msg": "{title} {link}"},
    }
    request = build(Channel(id="s", kind=ChannelKind.SMS, config=form), MESSAGE, now=NOW)
    assert request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    fields = parse_qs(request.body.decode())
    assert fields == {
        "to": ["13800001111,13900002222"],
        "msg": ["火警: 3号楼 https://fw.example/f/abc"],
    }
    get = {"url": "https://sms.example/send?to={phone}&text={text}", "method": "GET"}
    request = build(Channel(id="s", kind=ChannelKind.SMS, config=get), MESSAGE, now=NOW)
    assert request.method == "GET" and request.body == b""
    query = urlsplit(request.url).query
    assert "\n" not in query and " " not in query
    assert parse_qs(query)["text"] == [MESSAGE.text]
    assert unquote(query.split("&")[0]) == "to=13800001111,13900002222"


def test_sms_needs_a_phone() -> None:
    with pytest.raises(ValueError, match="mention_phones"):
        build(
            Channel(id="s", kind=ChannelKind.SMS, config=SMS_JSON),
            Message(title="t", text="x"),
            now=NOW,
        )


@pytest.mark.parametrize(
    ("kind", "config", "field"),
    [
        (ChannelKind.WECOM, {}, "url"),
        (ChannelKind.WECOM, {"url": "ftp://x/y"}, "url"),
        (ChannelKind.WECOM, {"url": WECOM, "msgtype": "image"}, "msgtype"),
        (ChannelKind.WECOM, {"url": WECOM, "key": "k"}, "key"),
        (ChannelKind.DINGTALK, {"url": DINGTALK, "secret": ""}, "secret"),
        (ChannelKind.DINGTALK, {"url": DINGTALK, "secret": 5}, "secret"),
        (ChannelKind.FEISHU, {"url": FEISHU, "msg_type": "card"}, "msg_type"),
        (ChannelKind.WEBHOOK, {"url": "http://h/x", "headers": {"X-A": "1\r\nX-B: 2"}}, "headers"),
        (ChannelKind.WEBHOOK, {"url": "http://h/x", "headers": ["X-A"]}, "headers"),
        # What HTTP cannot carry (review finding: a UnicodeEncodeError at every send).
        (ChannelKind.WEBHOOK, {"url": "http://h/告警"}, "url"),
        (ChannelKind.WECOM, {"url": "https://企业.example/send?key=k"}, "url"),
        (ChannelKind.WEBHOOK, {"url": "http://h/x", "headers": {"X-T": "令牌"}}, "headers"),
        (ChannelKind.WEBHOOK, {"url": "http://h/x", "headers": {"令牌": "t"}}, "headers"),
        (ChannelKind.WEBHOOK, {"url": "http://h/x", "headers": {"X(A)": "t"}}, "headers"),
        (
            ChannelKind.SMS,
            {"url": "https://s/x", "headers": {"X-K": "密钥"}, "body": {}},
            "headers",
        ),
        (ChannelKind.SMS, {"url": "https://s/x"}, "body"),
        (ChannelKind.SMS, {"url": "https://s/x", "method": "GET", "body": {"a": "b"}}, "body"),
        (ChannelKind.SMS, {"url": "https://s/x", "body": {"to": "{phone_number}"}}, "body"),
        (ChannelKind.SMS, {"url": "https://s/x?t={token}", "method": "GET"}, "url"),
        (ChannelKind.SMS, {"url": "https://s/x", "format": "form", "body": {"n": 1}}, "body"),
        (ChannelKind.SMS, {"url": "https://s/x", "body": {"a": "b"}, "expect": [0]}, "expect"),
    ],
)
def test_a_bad_configuration_names_its_field(
    kind: ChannelKind, config: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValueError, match=rf"^{field}: "):
        check_config(kind, config)


def test_encoded_addresses_and_latin_1_headers_pass() -> None:
    config = {
        "url": "https://xn--fiq228c.example/%E5%91%8A%E8%AD%A6",
        "headers": {"X-Name": "Zürich", "Authorization": "Basic dTpw"},
    }
    request = build(Channel(id="w", kind=ChannelKind.WEBHOOK, config=config), MESSAGE, now=NOW)
    assert request.url == config["url"] and request.headers["X-Name"] == "Zürich"


def test_check_config_fills_defaults() -> None:
    assert check_config(ChannelKind.DINGTALK, {"url": DINGTALK}) == {
        "url": DINGTALK,
        "secret": None,
        "msgtype": "markdown",
    }
    assert check_config(ChannelKind.WECOM, {"url": WECOM})["msgtype"] == "text"
    assert check_config(ChannelKind.FEISHU, {"url": FEISHU})["msg_type"] == "post"
    with pytest.raises(ValueError, match=r"^kind: "):
        check_config("pager", {"url": WECOM})  # type: ignore[arg-type]


def _refused(kind: ChannelKind, config: dict[str, Any], status: int, reply: Any) -> Any:
    body = reply if isinstance(reply, bytes) else orjson.dumps(reply)
    return refusal(kind, config, status=status, body=body)


def test_robot_replies() -> None:
    wecom = {"url": WECOM}
    assert _refused(ChannelKind.WECOM, wecom, 200, {"errcode": 0, "errmsg": "ok"}) is None
    throttled = _refused(ChannelKind.WECOM, wecom, 200, {"errcode": 45009, "errmsg": "freq"})
    assert throttled.error == "errcode 45009: freq" and not throttled.permanent
    assert _refused(ChannelKind.WECOM, wecom, 200, b"<html>") is not None
    ding = {"url": DINGTALK}
    refused = _refused(ChannelKind.DINGTALK, ding, 200, {"errcode": 310000, "errmsg": "sign"})
    assert refused.error.startswith("errcode 310000")
    feishu = {"url": FEISHU}
    assert _refused(ChannelKind.FEISHU, feishu, 200, {"code": 0, "msg": "success"}) is None
    assert _refused(ChannelKind.FEISHU, feishu, 200, {"StatusCode": 0}) is None
    late = _refused(ChannelKind.FEISHU, feishu, 200, {"code": 19021, "msg": "sign match fail"})
    assert late.error == "code 19021: sign match fail"


@pytest.mark.parametrize(
    ("status", "permanent"),
    [(500, False), (503, False), (429, False), (408, False), (404, True), (400, True), (301, True)],
)
def test_http_status_decides_whether_to_retry(status: int, permanent: bool) -> None:
    refused = _refused(ChannelKind.WEBHOOK, {"url": "http://h/x"}, status, b"nope")
    assert refused.permanent is permanent and refused.error == f"HTTP {status}: nope"
    assert _refused(ChannelKind.WEBHOOK, {"url": "http://h/x"}, 204, b"") is None


def test_sms_expect_reads_the_reply() -> None:
    assert _refused(ChannelKind.SMS, SMS_JSON, 200, {"code": 0, "id": "m1"}) is None
    refused = _refused(ChannelKind.SMS, SMS_JSON, 200, {"code": 17, "msg": "no balance"})
    assert refused.error.startswith("code 17, not 0") and not refused.permanent


@pytest.mark.parametrize(
    ("kind", "config"),
    [
        (ChannelKind.WECOM, {"url": WECOM}),
        (ChannelKind.DINGTALK, {"url": DINGTALK, "secret": "SEC1"}),
        (ChannelKind.FEISHU, {"url": FEISHU}),
        (ChannelKind.WEBHOOK, {"url": "http://h/x"}),
        (ChannelKind.SMS, SMS_JSON),
        (ChannelKind.SMS, {"url": "https://s/x?to={phone}", "method": "GET"}),
    ],
)
def test_a_checked_configuration_checks_again_unchanged(
    kind: ChannelKind, config: dict[str, Any]
) -> None:
    """Rosters store the checked form; the sender checks it again at every attempt."""
    checked = check_config(kind, config)
    assert check_config(kind, checked) == checked
