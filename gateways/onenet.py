"""China Mobile OneNET HTTP push (数据推送, HTTP 推送): its URL check, its signed bodies in plain
and secure mode, and the contract messages its data-point and online/offline messages make.

Pure: bytes, the token and the key in; messages, or :class:`Refused` with the HTTP status the
platform should get, out. The format, as OneNET publishes it (docs/gateways.md):

- URL check: ``GET ?msg=…&nonce=…&signature=…``; signature = Base64(MD5(token + nonce + msg));
  the answer is ``msg``.
- Plain mode: ``{"msg": {…} or [{…}, …], "msg_signature": "…", "nonce": "…"}``, the signature
  over the text of ``msg`` as it stands in the body.
- Secure mode: ``{"enc_msg": "…", "msg_signature": "…", "nonce": "…"}``, the signature over
  ``enc_msg``; ``enc_msg`` is Base64 of AES-256-CBC (key = Base64 of the EncodingAESKey plus
  "=", IV = the key's first 16 bytes, PKCS#7) of 16 random bytes, the message's length as 4
  bytes big-endian, and the message.
- A message: type 1 (data point: dev_id, ds_id, at in ms, value) or type 2 (online/offline:
  dev_id, status 1/0, login_type, at). Other types (7, command results) are not ours.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from contract.messages import Reason
from contract.text import text_problem
from gateways.push_targets import (
    PlatformDevice,
    Refused,
    Translated,
    heard,
    translate_fields,
)

GATEWAY = "onenet"
NONCE_MAX = 64
DS_ID_MAX = 128
# Epoch milliseconds between 2000 and 2100, as the contract accepts (contract/codec.py).
_MIN_MS, _MAX_MS = 946_684_800_000, 4_102_444_800_000
_SPACE = re.compile(r"[ \t\n\r]*")


def signature(token: str, nonce: str, msg: str) -> str:
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode()).digest()).decode()  # noqa: S324 - the platform's algorithm


def _same(expected: str, given: str) -> bool:
    return hmac.compare_digest(expected.encode(), given.encode())


def url_check_ok(token: str, *, msg: str, nonce: str, signature_: str) -> bool:
    """A query string's '+' arrives as a space once decoded; the platform meant '+'."""
    return _same(signature(token, nonce, msg), signature_.replace(" ", "+"))


def open_push(body: bytes, *, token: str, aes_key: str) -> list[Any]:
    """The push's messages, once its signature checks (and, in secure mode, it decrypts)."""
    fields = _top_level(body)
    nonce, given = _string(fields, "nonce"), _string(fields, "msg_signature")
    if not 0 < len(nonce) <= NONCE_MAX:
        raise Refused(Reason.MALFORMED, f"'nonce' must be 1..{NONCE_MAX} characters", 400)
    if "enc_msg" in fields:
        enc = _string(fields, "enc_msg")
        if not _same(signature(token, nonce, enc), given):
            raise Refused(Reason.BAD_SIGNATURE, "msg_signature does not match enc_msg", 403)
        if not aes_key:
            raise Refused(
                Reason.MALFORMED,
                "a secure-mode push arrived: set FIREWATCH_ONENET_AES_KEY to the push's AES key",
                503,
            )
        return _messages(_json(decrypt(enc, aes_key=aes_key)))
    if "msg" not in fields:
        raise Refused(Reason.MALFORMED, "the body has neither 'msg' nor 'enc_msg'", 400)
    value, text = fields["msg"]
    if not _same(signature(token, nonce, text), given):
        raise Refused(Reason.BAD_SIGNATURE, "msg_signature does not match msg", 403)
    return _messages(value)


def _string(fields: dict[str, tuple[Any, str]], name: str) -> str:
    """A member that must be a string: one that cannot be UTF-8 (a lone surrogate, escaped in
    the JSON) cannot be signed either, so it is refused here, not met by the hash."""
    value = fields.get(name, (None, ""))[0]
    if not isinstance(value, str):
        raise Refused(Reason.MALFORMED, f"'{name}' must be a string", 400)
    problem = text_problem(value)
    if problem is not None:
        raise Refused(Reason.MALFORMED, f"'{name}': {problem}", 400)
    return value


def decrypt(enc_msg: str, *, aes_key: str) -> bytes:
    key = base64.b64decode(aes_key + "=")
    try:
        sealed = base64.b64decode(enc_msg, validate=True)
    except (binascii.Error, ValueError):
        raise Refused(Reason.MALFORMED, "'enc_msg' is not Base64", 400) from None
    if not sealed or len(sealed) % 16:
        raise Refused(Reason.MALFORMED, "'enc_msg' is not whole AES blocks", 400)
    opener = Cipher(algorithms.AES(key), modes.CBC(key[:16])).decryptor()
    unpad = padding.PKCS7(128).unpadder()
    try:
        plain = unpad.update(opener.update(sealed) + opener.finalize()) + unpad.finalize()
    except ValueError:
        raise Refused(Reason.MALFORMED, "'enc_msg' does not decrypt with this key", 400) from None
    size = int.from_bytes(plain[16:20], "big") if len(plain) >= 20 else -1
    if size < 0 or 20 + size > len(plain):
        raise Refused(Reason.MALFORMED, "'enc_msg' decrypts to no message of its length", 400)
    return plain[20 : 20 + size]


def _refuse_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


_DECODER = json.JSONDecoder(parse_constant=_refuse_constant)


def _json(raw: bytes) -> Any:
    try:
        return _DECODER.decode(raw.decode())
    except (ValueError, RecursionError) as exc:
        raise Refused(Reason.MALFORMED, f"the message is not JSON: {str(exc)[:120]}", 400) from None


def _top_level(body: bytes) -> dict[str, tuple[Any, str]]:
    """The body's members, each with its value and its text as it stands (what is signed)."""
    try:
        text = body.decode()
        return _members(text)
    except (ValueError, RecursionError) as exc:
        raise Refused(Reason.MALFORMED, f"not a JSON object: {str(exc)[:120]}", 400) from None


def _members(text: str) -> dict[str, tuple[Any, str]]:
    at = _SPACE.match(text).end()  # type: ignore[union-attr]  # matches the empty string
    if text[at : at + 1] != "{":
        raise ValueError("the body must be a JSON object")
    at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
    found: dict[str, tuple[Any, str]] = {}
    if text[at : at + 1] == "}":
        return _ended(text, at + 1, found)
    while True:
        if text[at : at + 1] != '"':
            raise ValueError(f"a member name was expected at {at}")
        name, at = json.decoder.scanstring(text, at + 1)  # type: ignore[attr-defined]
        at = _SPACE.match(text, at).end()  # type: ignore[union-attr]
        if text[at : at + 1] != ":":
            raise ValueError(f"':' was expected at {at}")
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]
        value, end = _DECODER.raw_decode(text, at)
        if name in found:
            raise ValueError(f"{name[:32]!r} is given twice")
        found[name] = (value, text[at:end])
        at = _SPACE.match(text, end).end()  # type: ignore[union-attr]
        if text[at : at + 1] == "}":
            return _ended(text, at + 1, found)
        if text[at : at + 1] != ",":
            raise ValueError(f"',' or '}}' was expected at {at}")
        at = _SPACE.match(text, at + 1).end()  # type: ignore[union-attr]


def _ended(text: str, at: int, found: dict[str, tuple[Any, str]]) -> dict[str, tuple[Any, str]]:
    if _SPACE.match(text, at).end() != len(text):  # type: ignore[union-attr]
        raise ValueError("text follows the object")
    return found


def _messages(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [value]
    if isinstance(value, list) and value:
        return value
    raise Refused(Reason.MALFORMED, "'msg' must be an object or a non-empty array", 400)


@dataclass(slots=True)
class Outcome(Translated):
    offline: int = 0  # type 2, status 0: not stored (ingest judges silence itself)
    other: int = 0  # types that are not ours (7, command results)


def translate(
    messages: list[Any],
    *,
    site: str,
    devices: Callable[[str], PlatformDevice | None],
    received_at: datetime,
) -> Outcome:
    """Contract messages for the push's messages; ``devices`` maps a dev_id to ours."""
    out = Outcome()
    for message in messages:
        problem = _translate_one(out, message, site=site, devices=devices, at=received_at)
        if problem is not None:
            out.problems.append((problem, message))
    return out


def _translate_one(  # noqa: PLR0911 - one refusal per way a message can be wrong
    out: Outcome,
    message: Any,
    *,
    site: str,
    devices: Callable[[str], PlatformDevice | None],
    at: datetime,
) -> str | None:
    if not isinstance(message, dict):
        return "a message must be an object"
    kind = message.get("type")
    if isinstance(kind, bool) or not isinstance(kind, int):
        return "'type' must be an integer"
    if kind not in (1, 2):
        out.other += 1
        return None
    head = _head(message)
    if isinstance(head, str):
        return head
    dev_id, ts = head
    identity = _canonical(message)
    if identity is None:
        return "a message nests deeper than anyone needs"
    device = devices(dev_id)
    ours = device.device_id if device is not None else unknown_id(dev_id)
    fields = _fields(message, kind)
    if isinstance(fields, str):
        return fields
    if fields is None:
        out.offline += 1
    elif device is None or kind == 2:
        out.items.append(heard(site, ours, ts=ts, identity=identity, received_at=at))
    else:
        translate_fields(
            out, device, fields, site=site, ts=ts, identity=identity, received_at=at, report=message
        )
    return None


def _fields(message: dict[str, Any], kind: int) -> dict[str, Any] | str | None:
    """A data point's one field, or what is wrong; None for a device gone offline (an online
    message has no fields)."""
    if kind == 2:
        status = message.get("status")
        if status not in (0, 1) or isinstance(status, bool):
            return "'status' must be 1 (online) or 0 (offline)"
        return {} if status == 1 else None
    ds_id = message.get("ds_id")
    if not isinstance(ds_id, str) or not 0 < len(ds_id) <= DS_ID_MAX or "value" not in message:
        return f"a data point needs 'ds_id' (1..{DS_ID_MAX} characters) and 'value'"
    return {ds_id: message["value"]}


def _head(message: dict[str, Any]) -> tuple[str, datetime] | str:
    """The message's dev_id and time, or what is wrong with them."""
    dev_id = _digits(message.get("dev_id"))
    if dev_id is None:
        return "'dev_id' must be a device id (digits)"
    at_ms = _digits(message.get("at"))
    if at_ms is None or not _MIN_MS <= int(at_ms) <= _MAX_MS:
        return "'at' must be epoch milliseconds between 2000 and 2100"
    return dev_id, datetime.fromtimestamp(int(at_ms) / 1000, UTC)


def _canonical(message: dict[str, Any]) -> bytes | None:
    """The message's identity: its JSON with sorted keys (orjson's limit is 64-bit integers and
    255 levels; the standard library writes any integer). None for a message nested too deep
    for either."""
    try:
        return orjson.dumps(message, option=orjson.OPT_SORT_KEYS)
    except TypeError:
        pass
    try:
        return json.dumps(message, sort_keys=True, separators=(",", ":")).encode()
    except RecursionError:
        return None


def unknown_id(dev_id: str) -> str:
    """The id an unmapped dev_id reports under: dead-lettered and listed as pending."""
    return f"onenet-{dev_id}"


def _digits(value: object) -> str | None:
    """A non-negative integer as OneNET sends ids and times: a number, or digits in a string."""
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 10**20:
        return str(value)
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 20:
        return str(int(value))
    return None
