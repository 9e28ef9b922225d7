"""Channel secrets as shown: every vendor's credential masked, the rest as it is, and a
configuration sent back as it was shown restored to the stored one exactly."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from dispatch.channel_secrets import MASK, mask, masks_left, restore

SMS = {
    "url": "https://user:pa55word@sms.example/send?apikey=k123&to={phone}",
    "method": "POST",
    "headers": {"Authorization": "Bearer t0ken", "X-Trace": "yes"},
    "body": {"AccessKeySecret": "s3", "AccessKeyId": "LTAI-id", "text": "{content}"},
}


def test_each_vendors_credential_is_masked_and_nothing_else() -> None:
    assert mask({"url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a-91f6"}) == {
        "url": f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={MASK}"
    }
    assert mask(
        {"url": "https://oapi.dingtalk.com/robot/send?access_token=abc123", "secret": "SEC1"}
    ) == {"url": f"https://oapi.dingtalk.com/robot/send?access_token={MASK}", "secret": MASK}
    hook = "https://open.feishu.cn/open-apis/bot/v2/hook/0f8b1c2d-3e4f-5a6b-7c8d-9e0f1a2b3c4d"
    assert mask({"url": hook, "msg_type": "post"}) == {
        "url": f"https://open.feishu.cn/open-apis/bot/v2/hook/{MASK}",
        "msg_type": "post",
    }
    assert mask(SMS) == {
        "url": f"https://user:{MASK}@sms.example/send?apikey={MASK}&to={{phone}}",
        "method": "POST",
        "headers": {"Authorization": MASK, "X-Trace": "yes"},
        "body": {"AccessKeySecret": MASK, "AccessKeyId": "LTAI-id", "text": "{content}"},
    }


def test_a_mask_sent_back_is_the_stored_secret_and_a_new_value_is_taken() -> None:
    shown = mask(SMS)
    assert restore(shown, SMS) == SMS
    changed = {**shown, "headers": {"Authorization": "Bearer new", "X-Trace": "no"}}
    restored = restore(changed, SMS)
    assert restored["headers"] == {"Authorization": "Bearer new", "X-Trace": "no"}
    assert restored["body"] == SMS["body"] and restored["url"] == SMS["url"]
    assert masks_left(restored) is None
    # A mask where nothing was stored stands for no secret: found, with its path.
    assert masks_left(restore({"secret": MASK, "url": "https://x"}, {})) == "config.secret"
    assert masks_left({"list": ["a", f"https://h/?token={MASK}"]}) == "config.list[1]"


names = st.sampled_from(["url", "secret", "token", "apiKey", "text", "name", "headers", "to"])
leaves = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["https://h.example/hook/abcdef0123456789xyz?key=v&x=1", "http://u:p@h/"]),
    st.integers(),
    st.booleans(),
    st.none(),
)
configs = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=4)),
    max_leaves=12,
)


@given(config=st.dictionaries(names, configs, max_size=5))
def test_what_was_shown_comes_back_as_what_was_stored(config: dict[str, Any]) -> None:
    assert restore(mask(config), config) == config


@given(config=st.dictionaries(names, configs, max_size=5), secret=st.text(min_size=1))
def test_no_value_under_a_secret_name_is_shown(config: dict[str, Any], secret: str) -> None:
    shown = mask({**config, "secret": secret, "nested": {"accessToken": [secret]}})
    assert shown["secret"] == MASK and shown["nested"] == {"accessToken": [MASK]}


def test_a_secret_is_not_restored_for_an_address_on_another_host() -> None:
    """Review finding: the stored secret went back in when the URL's host changed, so anyone
    allowed to edit a channel could have its secret sent to a host of theirs."""
    shown = mask(SMS)
    for url in (
        f"https://user:{MASK}@evil.example/send?apikey={MASK}&to={{phone}}",
        f"http://user:{MASK}@sms.example/send?apikey={MASK}&to={{phone}}",
        f"https://user:{MASK}@sms.example:8443/send?apikey={MASK}&to={{phone}}",
    ):
        moved = {**shown, "url": url}
        assert restore(moved, SMS) == moved
        assert masks_left(restore(moved, SMS)) is not None  # so the API refuses it
    # The same host in other letters, another path: still the channel's own host.
    same = {**shown, "url": f"https://user:{MASK}@SMS.example/v2?apikey={MASK}&to={{phone}}"}
    assert restore(same, SMS)["headers"]["Authorization"] == "Bearer t0ken"


def test_pwd_and_pswd_are_secret_names() -> None:
    assert mask({"pwd": "p1", "userPwd": "p2", "pswd": "p3", "body": {"sms_pswd": "p4"}}) == {
        "pwd": MASK,
        "userPwd": MASK,
        "pswd": MASK,
        "body": {"sms_pswd": MASK},
    }
