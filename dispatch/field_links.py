"""Field links: the only key a grid worker holds. A token names a link, its dispatch and its
expiry, and carries their HMAC-SHA256 under the deployment's secret, so nobody can make one or
stretch one; the link's row says whether it was revoked and whether its dispatch is closed.

A token is ``{link id}.{dispatch id}.{expiry, Unix seconds}.{signature, base64url}``, the expiry
at most ten digits (year 2286: any longer is no token of ours, and no date to compare). Checking
signs the parsed claim again and compares the whole token in constant time, so only the one
spelling a signature was made for is accepted.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Literal
from urllib.parse import urlsplit

import psycopg

from registry.errors import Conflict
from settings import Settings
from store.field import count_use, link_access, link_key

MAX_TOKEN_CHARS = 200
MIN_SECRET_BYTES = 32
_TOKEN = re.compile(
    r"^([A-Za-z0-9_-]{16,64})\.([1-9][0-9]{0,18})\.([1-9][0-9]{0,9})\.([A-Za-z0-9_-]{43})$"
)


class Refusal(StrEnum):
    """Why a link opens nothing; each is a 403 that says so."""

    FORGED = "forged"  # not a token we signed (or not one at all)
    EXPIRED = "expired"
    REVOKED = "revoked"  # an operator withdrew it (or its dispatch)
    CLOSED = "closed"  # its dispatch has its verdict: the link is spent


class LinkRefused(Exception):
    """``claim``: what the token said, when it was ours (an expired one's link is known)."""

    def __init__(self, reason: Refusal, claim: LinkClaim | None = None) -> None:
        super().__init__(reason.value)
        self.reason, self.claim = reason, claim


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkClaim:
    """What a token says: which link, for which dispatch, until when (whole seconds)."""

    link_id: str
    dispatch_id: int
    expires_at: datetime


def base_url(settings: Settings) -> str:
    """Where field links point: FIREWATCH_PUBLIC_URL, or unset, the API's own address. In
    production a link leaves over https, or stays on this machine (a loopback host: a local
    trial, the demo, the benchmark); never in clear text across a network, nor to an address
    no phone can open (``0.0.0.0``). Conflict naming the setting otherwise."""
    host = settings.api_host
    base = settings.public_url or (
        f"http://[{host}]:{settings.api_port}"
        if ":" in host
        else f"http://{host}:{settings.api_port}"
    )
    parts = urlsplit(base)
    if settings.env == "production" and parts.scheme != "https" and not _loopback(parts.hostname):
        raise Conflict(
            f"field links would point at {base}, which a phone cannot open safely: set "
            "FIREWATCH_PUBLIC_URL to the https:// address phones reach this API at "
            "(FIREWATCH_ENV=development keeps a local address)"
        )
    return base


def _loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def new_link_id() -> str:
    """128 random bits, base64url: unguessable even before the signature is checked."""
    return secrets.token_urlsafe(16)


def sign(claim: LinkClaim, *, secret: bytes) -> str:
    _check_secret(secret)
    body = f"{claim.link_id}.{claim.dispatch_id}.{int(claim.expires_at.timestamp())}"
    mac = hmac.new(secret, body.encode("ascii"), hashlib.sha256).digest()
    return f"{body}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode('ascii')}"


def verify(token: str, *, secret: bytes, now: datetime) -> LinkClaim:
    """The claim of a token we signed that has not expired; raises LinkRefused (FORGED or
    EXPIRED) otherwise. A forgery is told as such even when its claimed expiry is past."""
    _check_secret(secret)
    match = _TOKEN.match(token) if len(token) <= MAX_TOKEN_CHARS else None
    if match is None:
        raise LinkRefused(Refusal.FORGED)
    try:
        expires_at = datetime.fromtimestamp(int(match[3]), UTC)
    except (ValueError, OverflowError):  # a date the platform cannot hold
        raise LinkRefused(Refusal.FORGED) from None
    claim = LinkClaim(link_id=match[1], dispatch_id=int(match[2]), expires_at=expires_at)
    if not hmac.compare_digest(sign(claim, secret=secret).encode(), token.encode()):
        raise LinkRefused(Refusal.FORGED)
    if now >= claim.expires_at:
        raise LinkRefused(Refusal.EXPIRED, claim)
    return claim


def _check_secret(secret: bytes) -> None:
    if len(secret) < MIN_SECRET_BYTES:
        raise ValueError(f"a field link secret needs {MIN_SECRET_BYTES} bytes or more")


async def link_secret(conn: psycopg.AsyncConnection[Any], settings: Settings) -> bytes:
    """FIREWATCH_FIELD_LINK_SECRET, or the database's own key (made by its migration) when it
    is unset: every process of a deployment signs and checks with the same one."""
    if settings.field_link_secret:
        return settings.field_link_secret.encode()
    return (await link_key(conn)).encode()


async def open_link(
    conn: psycopg.AsyncConnection[Any],
    token: str,
    *,
    secret: bytes,
    now: datetime,
    use: Literal["views", "answers"] | None,
) -> dict[str, Any] | Refusal:
    """The link's access (``store.field.link_access``; its dispatch locked for an answer),
    its use counted (``use`` None: a check before an answer, counted only if refused); or why
    it is refused, the refusal counted on a link we know. The caller commits either way: a
    refused link's count must stay."""
    try:
        claim = verify(token, secret=secret, now=now)
    except LinkRefused as exc:
        return await counted(conn, exc, now=now)
    access = await link_access(conn, claim.link_id, lock=use == "answers")
    # Signed by us but not a link of this database (restored elsewhere, or altered since).
    if (
        access is None
        or access["dispatch_id"] != claim.dispatch_id
        or int(access["expires_at"].timestamp()) != int(claim.expires_at.timestamp())
    ):
        return Refusal.FORGED
    refusal = _refusal(access)
    if refusal is not None:
        await count_use(conn, claim.link_id, use="refusals", now=now)
    elif use is not None:
        await count_use(conn, claim.link_id, use=use, now=now)
    return access if refusal is None else refusal


async def counted(
    conn: psycopg.AsyncConnection[Any], refused: LinkRefused, *, now: datetime
) -> Refusal:
    """The refusal of a token ``verify`` refused, counted on its link when it was ours."""
    if refused.claim is not None:
        await count_use(conn, refused.claim.link_id, use="refusals", now=now)
    return refused.reason


def _refusal(access: dict[str, Any]) -> Refusal | None:
    if access["revoked_at"] is not None or access["dispatch_revoked_at"] is not None:
        return Refusal.REVOKED
    if access["closed_at"] is not None:
        return Refusal.CLOSED
    return None
