"""HTTP Basic and Digest (RFC 7616, MD5, ``qop=auth`` or none) for devices that push to us:
what their ``Authorization`` header says, and whether it proves their password.

Pure: the nonce key and ``now`` come in. Nonces are stateless, an HMAC of their time under a
per-process key, valid for ``NONCE_TTL_S``: nothing is stored per client, so a scanner costs
no memory, and an old nonce is answered with ``stale=true`` (the client retries at once, with
no new password prompt). A nonce from another API replica is stale there, with the same effect.
Replay within the nonce's life is not refused: a replayed notification makes the same contract
messages, which the store keeps once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field
from enum import StrEnum

NONCE_TTL_S = 300
_PARAM = re.compile(r'([A-Za-z][A-Za-z0-9_-]*)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,"]+))')
_HEADER_MAX = 4096
_MOSQUITTO_HASH = re.compile(r"^\$7\$(\d{1,7})\$([A-Za-z0-9+/=]{4,64})\$([A-Za-z0-9+/=]{16,200})$")


class Scheme(StrEnum):
    BASIC = "basic"
    DIGEST = "digest"


@dataclass(frozen=True, slots=True)
class Authorization:
    scheme: Scheme
    username: str
    password: str = ""  # Basic only
    params: dict[str, str] = field(default_factory=dict)  # Digest only


def parse(header: str | None) -> Authorization | None:
    """None when there is no header, a scheme we do not take, or one we cannot read."""
    if not header or len(header) > _HEADER_MAX:
        return None
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(rest.strip(), validate=True).decode("utf-8")
        except ValueError:  # not Base64 (binascii.Error), not ASCII, not UTF-8
            return None
        username, colon, password = decoded.partition(":")
        return Authorization(Scheme.BASIC, username, password) if colon and username else None
    if scheme.lower() == "digest":
        params = {
            m.group(1).lower(): (m.group(2) if m.group(2) is not None else m.group(3))
            for m in _PARAM.finditer(rest)
        }
        params = {k: v.replace('\\"', '"').replace("\\\\", "\\") for k, v in params.items()}
        username = params.get("username", "")
        needed = ("realm", "nonce", "uri", "response")
        if not username or any(not params.get(k) for k in needed):
            return None
        return Authorization(Scheme.DIGEST, username, params=params)
    return None


def _mac(key: bytes, stamp: str) -> str:
    return hmac.new(key, stamp.encode(), hashlib.sha256).hexdigest()[:32]


def nonce(*, key: bytes, now: float) -> str:
    stamp = str(int(now))
    return f"{stamp}.{_mac(key, stamp)}"


def nonce_age(value: str, *, key: bytes, now: float) -> float | None:
    """Seconds since the nonce was made, or None when it is not one of ours."""
    stamp, dot, mac = value.partition(".")
    if not dot or not stamp.isdigit() or len(stamp) > 12:
        return None
    if not hmac.compare_digest(mac.encode(), _mac(key, stamp).encode()):
        return None
    return now - int(stamp)


def challenges(*, realm: str, key: bytes, now: float, stale: bool = False) -> list[str]:
    """``WWW-Authenticate`` values: Digest first (what cameras prefer), then Basic."""
    digest = (
        f'Digest realm="{realm}", qop="auth", algorithm=MD5, nonce="{nonce(key=key, now=now)}"'
        + (", stale=true" if stale else "")
    )
    return [digest, f'Basic realm="{realm}", charset="UTF-8"']


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


class DigestCheck(StrEnum):
    OK = "ok"
    STALE = "stale"  # right password, old nonce: challenge again with stale=true
    WRONG = "wrong"


def check_digest(
    auth: Authorization,
    *,
    method: str,
    path: str,
    realm: str,
    password: str,
    key: bytes,
    now: float,
) -> DigestCheck:
    p = auth.params
    algorithm = p.get("algorithm", "MD5").upper()
    uri_path = p["uri"].split("?", 1)[0]
    if p["realm"] != realm or algorithm != "MD5" or uri_path != path:
        return DigestCheck.WRONG
    ha1 = _md5(f"{auth.username}:{realm}:{password}")
    ha2 = _md5(f"{method}:{p['uri']}")
    qop = p.get("qop")
    if qop is None:
        expected = _md5(f"{ha1}:{p['nonce']}:{ha2}")
    elif qop == "auth" and p.get("nc") and p.get("cnonce"):
        expected = _md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{qop}:{ha2}")
    else:
        return DigestCheck.WRONG
    if not hmac.compare_digest(expected.encode(), p["response"].lower().encode()):
        return DigestCheck.WRONG
    age = nonce_age(p["nonce"], key=key, now=now)
    if age is None:
        return DigestCheck.WRONG
    return DigestCheck.OK if -5 <= age <= NONCE_TTL_S else DigestCheck.STALE


def matches_mosquitto_hash(password: str, stored: str) -> bool:
    """A password against a ``$7$`` PBKDF2-SHA512 hash (registry/credentials.py makes them)."""
    found = _MOSQUITTO_HASH.match(stored)
    if found is None:
        return False
    try:
        salt = base64.b64decode(found.group(2), validate=True)
        digest = base64.b64decode(found.group(3), validate=True)
    except binascii.Error:
        return False
    iterations = int(found.group(1))
    if not 1 <= iterations <= 1_000_000:
        return False
    computed = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return hmac.compare_digest(computed, digest)
