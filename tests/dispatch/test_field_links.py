"""Field link tokens, pure: a token we signed opens until it expires; anything else (another
key, a changed character, a changed claim, a made-up string) is refused as forged."""

from __future__ import annotations

import base64
import hashlib
import hmac
import string
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dispatch.field_links import (
    MIN_SECRET_BYTES,
    LinkClaim,
    LinkRefused,
    Refusal,
    new_link_id,
    sign,
    verify,
)

SECRET = b"s" * 32
NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)

claims = st.builds(
    LinkClaim,
    link_id=st.text(string.ascii_letters + string.digits + "_-", min_size=16, max_size=64),
    dispatch_id=st.integers(min_value=1, max_value=2**63 - 1),
    expires_at=st.integers(min_value=1, max_value=10**10 - 1).map(
        lambda s: datetime.fromtimestamp(s, UTC)
    ),
)
secrets_ = st.binary(min_size=MIN_SECRET_BYTES, max_size=64)


def _refusal(token: str, *, secret: bytes = SECRET, now: datetime = NOW) -> Refusal:
    with pytest.raises(LinkRefused) as refused:
        verify(token, secret=secret, now=now)
    return refused.value.reason


@given(claim=claims, secret=secrets_)
def test_a_signed_token_opens_until_its_expiry(claim: LinkClaim, secret: bytes) -> None:
    token = sign(claim, secret=secret)
    before = claim.expires_at - timedelta(seconds=1)
    assert verify(token, secret=secret, now=before) == claim
    assert _refusal(token, secret=secret, now=claim.expires_at) is Refusal.EXPIRED


@given(claim=claims, secret=secrets_, other=secrets_)
def test_another_key_is_a_forgery(claim: LinkClaim, secret: bytes, other: bytes) -> None:
    token = sign(claim, secret=secret)
    if other != secret:
        assert _refusal(token, secret=other, now=datetime.fromtimestamp(0, UTC)) is Refusal.FORGED


@given(claim=claims, data=st.data())
def test_any_changed_character_is_a_forgery(claim: LinkClaim, data: st.DataObject) -> None:
    token = sign(claim, secret=SECRET)
    at = data.draw(st.integers(min_value=0, max_value=len(token) - 1))
    swap = data.draw(st.sampled_from(string.ascii_letters + string.digits + "._-"))
    tampered = token[:at] + swap + token[at + 1 :]
    if tampered != token:
        assert _refusal(tampered, now=datetime.fromtimestamp(0, UTC)) is Refusal.FORGED


@given(claim=claims, later=st.integers(min_value=1, max_value=10**6))
def test_a_stretched_expiry_is_a_forgery_even_when_the_real_one_passed(
    claim: LinkClaim, later: int
) -> None:
    """The expiry is part of what is signed: moving it forward breaks the signature, and the
    refusal says forged, not expired."""
    link_id, dispatch, expiry, mac = sign(claim, secret=SECRET).split(".")
    stretched = f"{link_id}.{dispatch}.{int(expiry) + later}.{mac}"
    assert _refusal(stretched, now=claim.expires_at + timedelta(seconds=later)) is Refusal.FORGED


@given(claim=claims, other=st.integers(min_value=1, max_value=2**63 - 1))
def test_another_dispatch_under_the_same_signature_is_a_forgery(
    claim: LinkClaim, other: int
) -> None:
    link_id, dispatch, expiry, mac = sign(claim, secret=SECRET).split(".")
    if str(other) != dispatch:
        moved = f"{link_id}.{other}.{expiry}.{mac}"
        assert _refusal(moved, now=datetime.fromtimestamp(0, UTC)) is Refusal.FORGED


@given(junk=st.text(max_size=300))
def test_made_up_strings_are_forgeries(junk: str) -> None:
    assert _refusal(junk) is Refusal.FORGED


def test_a_second_spelling_of_a_signed_claim_is_refused() -> None:
    """A leading zero names the same dispatch, but only the spelling signed is accepted."""
    claim = LinkClaim(link_id=new_link_id(), dispatch_id=7, expires_at=NOW + timedelta(hours=1))
    body = f"{claim.link_id}.07.{int(claim.expires_at.timestamp())}"
    mac = hmac.new(SECRET, body.encode(), hashlib.sha256).digest()
    token = f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert _refusal(token) is Refusal.FORGED


@pytest.mark.parametrize("expiry", [10**10, 999_999_999_999, 10**18])
def test_an_expiry_past_ten_digits_is_a_forgery_even_signed(expiry: int) -> None:
    """Past year 2286 is no link of ours; past year 9999 no date at all (review finding: a
    ValueError out of fromtimestamp)."""
    body = f"{new_link_id()}.7.{expiry}"
    mac = hmac.new(SECRET, body.encode(), hashlib.sha256).digest()
    token = f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"
    assert _refusal(token) is Refusal.FORGED


def test_the_signature_is_hmac_sha256_of_the_claim() -> None:
    """Anyone holding the secret can check a token with the standard library alone."""
    claim = LinkClaim(link_id="A" * 22, dispatch_id=42, expires_at=datetime(2026, 3, 2, tzinfo=UTC))
    token = sign(claim, secret=SECRET)
    body, _, mac = token.rpartition(".")
    assert body == f"{'A' * 22}.42.{int(claim.expires_at.timestamp())}"
    expected = hmac.new(SECRET, body.encode(), hashlib.sha256).digest()
    assert base64.urlsafe_b64decode(mac + "=") == expected


def test_link_ids_are_unguessable_and_fit_the_token() -> None:
    ids = {new_link_id() for _ in range(1000)}
    assert len(ids) == 1000
    assert all(
        len(i) == 22 and set(i) <= set(string.ascii_letters + string.digits + "_-") for i in ids
    )


def test_a_short_secret_is_refused() -> None:
    claim = LinkClaim(link_id=new_link_id(), dispatch_id=1, expires_at=NOW)
    with pytest.raises(ValueError, match="32 bytes"):
        sign(claim, secret=b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        verify("x", secret=b"short", now=NOW)
