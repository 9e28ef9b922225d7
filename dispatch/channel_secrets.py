"""A channel's secrets never leave the server: what the API shows and the audit log keeps is
the configuration with each secret masked. A robot's address is a credential in itself (the
WeCom ``key``, the DingTalk ``access_token``, the Feishu hook's token), so the parts of a URL
that carry one are masked too, and so are fields named like a secret at any depth (DingTalk's
and Feishu's ``secret``, an SMS provider's ``apikey``, an ``Authorization`` header).

A client that reads a channel, changes its name and sends it back sends the masks back:
``restore`` puts the stored secret where the mask it was shown comes back unchanged, but only
while every address keeps its host: a secret is never handed to a host it was not given for,
so a channel moved elsewhere must be sent its secrets again.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "******"
_SECRET_NAME = re.compile(r"secret|token|passw|pwd|pswd|credential|auth|key$")
_TOKEN_SEGMENT = re.compile(r"^(?=.*[0-9])(?=.*[A-Za-z])[A-Za-z0-9_-]{16,}$")


def secret_name(name: str) -> bool:
    """``secret``, ``access_token``, ``apiKey``, ``Authorization``, ``AccessKeySecret``,
    ``pwd``, ``pswd``..."""
    return bool(_SECRET_NAME.search(re.sub(r"[^a-z]", "", name.lower())))


def mask(value: Any, *, name: str = "") -> Any:
    """``value`` (a configuration, or any part of one under the field ``name``) as shown."""
    if isinstance(value, dict):
        return {k: mask(v, name=str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, name=name) for v in value]
    if isinstance(value, str) and value:
        if secret_name(name):
            return MASK
        if value.startswith(("http://", "https://")):
            return _masked_url(value)
    return value


def _masked_url(url: str) -> str:
    try:
        parts = urlsplit(url)
    except ValueError:  # a bracket that is not an IPv6 host: the whole value then
        return MASK
    netloc = parts.netloc
    if parts.password is not None:
        user, _, host = netloc.rpartition("@")
        netloc = f"{user.partition(':')[0]}:{MASK}@{host}"
    path = "/".join(
        MASK if _TOKEN_SEGMENT.match(segment) else segment for segment in parts.path.split("/")
    )
    query = "&".join(
        f"{k}={MASK}" if secret_name(k) and sep else f"{k}{sep}{v}"
        for k, sep, v in (item.partition("=") for item in parts.query.split("&"))
    )
    return urlunsplit((parts.scheme, netloc, path, query, parts.fragment))


def restore(sent: Any, stored: Any) -> Any:
    """``sent`` with each value that is exactly the mask shown for the stored one replaced by
    the stored value; anything else sent is taken as it is. Nothing is restored when an
    address's host differs from the stored one's (``moved``)."""
    if moved(sent, stored):
        return sent
    return _restore(sent, stored, mask(stored))


def moved(sent: Any, stored: Any) -> bool:
    """Whether any address in ``sent`` goes to another scheme, host or port than the stored
    one in its place, or is new."""
    stored_hosts = dict(_hosts(stored))
    return any(stored_hosts.get(path) != host for path, host in _hosts(sent))


def _hosts(value: Any, path: str = "") -> list[tuple[str, tuple[str, str, int | None] | None]]:
    if isinstance(value, dict):
        return [h for k, v in value.items() for h in _hosts(v, f"{path}.{k}")]
    if isinstance(value, list):
        return [h for i, v in enumerate(value) for h in _hosts(v, f"{path}[{i}]")]
    if isinstance(value, str) and value.startswith(("http://", "https://")):
        try:
            parts = urlsplit(value)
            return [(path, (parts.scheme, (parts.hostname or "").lower(), parts.port))]
        except ValueError:  # a bracket that is not an IPv6 host, or a port out of range
            return [(path, None)]
    return []


def _restore(sent: Any, stored: Any, shown: Any) -> Any:
    if isinstance(sent, dict) and isinstance(stored, dict) and isinstance(shown, dict):
        return {k: _restore(v, stored[k], shown[k]) if k in stored else v for k, v in sent.items()}
    if isinstance(sent, list) and isinstance(stored, list) and isinstance(shown, list):
        kept = [_restore(s, o, m) for s, o, m in zip(sent, stored, shown, strict=False)]
        return kept + sent[len(kept) :]
    if isinstance(sent, str) and sent == shown and shown != stored:
        return stored
    return sent


def masks_left(value: Any, *, path: str = "config") -> str | None:
    """The path of a mask that stood for no stored secret (a new channel, a new field), or
    None: such a value would be sent to the vendor as the secret."""
    if isinstance(value, dict):
        for k, v in value.items():
            found = masks_left(v, path=f"{path}.{k}")
            if found:
                return found
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found = masks_left(v, path=f"{path}[{i}]")
            if found:
                return found
    elif isinstance(value, str) and MASK in value:
        return path
    return None
