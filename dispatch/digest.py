"""HTTP digest access authentication (RFC 7616, and RFC 2617 servers), the client's side:
the camera's challenge read, and the ``Authorization`` that answers it.

Written out rather than urllib's ``HTTPDigestAuthHandler``: that handler answers only the
first challenge and knows MD5 and SHA-1 only (a camera offering SHA-256 first is refused with
a ValueError), and answers a wrong password six times over. Pure: the client nonce is given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.request import parse_http_list

# Strongest first: a camera offering several challenges gets the first of these it offers.
_ALGORITHMS = {"SHA-256": "sha256", "SHA-256-SESS": "sha256", "MD5": "md5", "MD5-SESS": "md5"}
_PREFERENCE = tuple(_ALGORITHMS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    """One ``WWW-Authenticate: Digest ...`` the client can answer."""

    realm: str
    nonce: str
    algorithm: str = "MD5"  # as the server spelt it, echoed back
    qop: bool = False  # the server asked for qop=auth (False: RFC 2069's plain digest)
    opaque: str | None = None


def parse(header: str) -> Challenge | None:
    """A digest challenge we can answer, or None: another scheme, another algorithm, a qop
    without ``auth`` (``auth-int`` alone), or a challenge missing its realm or nonce."""
    scheme, _, rest = header.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    fields = _fields(rest)
    algorithm = fields.get("algorithm", "MD5")
    qops = [q.strip().lower() for q in fields["qop"].split(",")] if "qop" in fields else None
    if (
        algorithm.upper() not in _ALGORITHMS
        or (qops is not None and "auth" not in qops)
        or "realm" not in fields
        or "nonce" not in fields
    ):
        return None
    return Challenge(
        realm=fields["realm"],
        nonce=fields["nonce"],
        algorithm=algorithm,
        qop=qops is not None,
        opaque=fields.get("opaque"),
    )


def _fields(params: str) -> dict[str, str]:
    """A challenge's ``name=value`` pairs, names lower-cased, quotes removed. A camera's
    header is the camera's word: a bare token (``stale``) or an empty value (``qop=``) is
    skipped, where urllib's ``parse_keqv_list`` raised ValueError or IndexError (a 500)."""
    fields = {}
    for item in parse_http_list(params):
        name, equals, value = item.partition("=")
        if not equals:
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1]
        fields[name.strip().lower()] = value
    return fields


def choose(headers: Iterable[str]) -> Challenge | None:
    """The strongest challenge among a 401's ``WWW-Authenticate`` headers."""
    found = [c for c in (parse(h) for h in headers) if c is not None]
    return min(found, key=lambda c: _PREFERENCE.index(c.algorithm.upper()), default=None)


def authorization(
    challenge: Challenge,
    *,
    method: str,
    uri: str,
    username: str,
    password: str,
    cnonce: str,
    nc: int = 1,
) -> str:
    """The ``Authorization`` header's value answering ``challenge`` for this request."""
    name = _ALGORITHMS[challenge.algorithm.upper()]

    def h(text: str) -> str:
        return hashlib.new(name, text.encode()).hexdigest()

    ha1 = h(f"{username}:{challenge.realm}:{password}")
    if challenge.algorithm.upper().endswith("-SESS"):
        ha1 = h(f"{ha1}:{challenge.nonce}:{cnonce}")
    ha2 = h(f"{method}:{uri}")
    count = f"{nc:08x}"
    if challenge.qop:
        response = h(f"{ha1}:{challenge.nonce}:{count}:{cnonce}:auth:{ha2}")
    else:
        response = h(f"{ha1}:{challenge.nonce}:{ha2}")
    parts = [
        f'username="{_quoted(username)}"',
        f'realm="{_quoted(challenge.realm)}"',
        f'nonce="{_quoted(challenge.nonce)}"',
        f'uri="{_quoted(uri)}"',
        f"algorithm={challenge.algorithm}",
        f'response="{response}"',
    ]
    if challenge.qop:
        parts += ["qop=auth", f"nc={count}", f'cnonce="{_quoted(cnonce)}"']
    if challenge.opaque is not None:
        parts.append(f'opaque="{_quoted(challenge.opaque)}"')
    return "Digest " + ", ".join(parts)


def _quoted(text: str) -> str:
    """A quoted-string's content (RFC 9110): backslash and double quote escaped."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
