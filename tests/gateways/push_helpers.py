"""What the NB-IoT push tests share: the platforms' published signing and encryption, written
here from their documents (not the gateway's code), and the app served on a real socket."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Iterator
from typing import Any

import orjson
import psycopg
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from api.app import create_app
from firewatch.testing import serving
from settings import Settings

ONENET_TOKEN = "fwPushToken2026"
# OneNET's EncodingAESKey: 43 characters, the Base64 of 32 bytes less its '='.
AES_BYTES = hashlib.sha256(b"firewatch test key").digest()
ONENET_AES_KEY = base64.b64encode(AES_BYTES).decode().rstrip("=")
CTWING_APP = "fwApp01"
CTWING_SECRET = "ctwing-application-secret-for-tests"


def push_settings(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(
        update={
            "onenet_token": ONENET_TOKEN,
            "onenet_aes_key": ONENET_AES_KEY,
            "ctwing_app_secret": CTWING_SECRET,
            **more,
        }
    )


@pytest.fixture()
def base_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(push_settings(settings))) as url:
        yield url


# OneNET, as its HTTP push developer guide and receiver demo say: MD5 of token + nonce + msg,
# Base64; the plain body signs msg as it stands; the secure body signs enc_msg, which is
# AES-256-CBC (IV: the key's first 16 bytes, PKCS#7) of random(16) + length(4) + msg.
def onenet_signature(nonce: str, msg: str, token: str = ONENET_TOKEN) -> str:
    return base64.b64encode(hashlib.md5((token + nonce + msg).encode()).digest()).decode()


def compact(value: Any) -> str:
    """JSON as a platform writes it: no spaces, any integer (orjson stops at 64 bits)."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def onenet_plain(msg: Any, *, nonce: str = "Xq3b7Lp0", token: str = ONENET_TOKEN) -> bytes:
    text = compact(msg)
    signed = onenet_signature(nonce, text, token)
    return f'{{"msg":{text},"msg_signature":"{signed}","nonce":"{nonce}"}}'.encode()


def onenet_secure(msg: Any, *, nonce: str = "Ab12Cd34") -> bytes:
    plain = compact(msg).encode()
    framed = os.urandom(16) + len(plain).to_bytes(4, "big") + plain
    padder = padding.PKCS7(128).padder()
    padded = padder.update(framed) + padder.finalize()
    sealer = Cipher(algorithms.AES(AES_BYTES), modes.CBC(AES_BYTES[:16])).encryptor()
    enc = base64.b64encode(sealer.update(padded) + sealer.finalize()).decode()
    body = {"enc_msg": enc, "msg_signature": onenet_signature(nonce, enc), "nonce": nonce}
    return orjson.dumps(body)


# CTWing: the signature this gateway asks for (docs/gateways.md), in the style of the AEP API.
def ctwing_headers(body: bytes, *, timestamp: str = "1764906000000") -> dict[str, str]:
    signed = f"application:{CTWING_APP}\ntimestamp:{timestamp}\n".encode() + body
    digest = hmac.new(CTWING_SECRET.encode(), signed, hashlib.sha1).digest()
    return {
        "application": CTWING_APP,
        "timestamp": timestamp,
        "signature": base64.b64encode(digest).decode(),
        "content-type": "application/json",
    }


def configure(db: psycopg.Connection[Any], device_id: str, platform: str, config: Any) -> None:
    db.execute(
        "UPDATE devices SET config = config || jsonb_build_object(%s::text, %s::jsonb)"
        " WHERE id = %s",
        (platform, orjson.dumps(config).decode(), device_id),
    )


def count(db: psycopg.Connection[Any], sql: str, *args: object) -> int:
    row = db.execute(sql, args).fetchone()
    assert row is not None
    return int(row[0])


def dead_letters(db: psycopg.Connection[Any], topic: str) -> list[tuple[str, str, bytes]]:
    rows = db.execute(
        "SELECT reason, detail, payload FROM dead_letters WHERE topic = %s ORDER BY id", (topic,)
    ).fetchall()
    return [(r[0], r[1], bytes(r[2])) for r in rows]
