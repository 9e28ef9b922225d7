"""NB-IoT carriers' platforms pushing for simulated smoke detectors and electrical-fire monitors:
China Mobile OneNET (HTTP push, plain or secure mode) and China Telecom CTWing (subscription
push), signing each push as the platform does (docs/gateways.md) and sending it again until it
is answered 200, as the platforms do.

Deterministic per seed. Each device's ``config`` for the registry is :func:`registry_config`.

    python -m simulators.nbiot_platform --url http://127.0.0.1:8000 --onenet-token … \\
        [--onenet-aes-key …] [--ctwing-secret …] [--devices 10] [--reports 5] [--seed 1]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from contract.kinds import Kind

Platform = Literal["onenet", "ctwing"]
CTWING_APPLICATION = "firewatch-sim"

# What each simulated model reports, by platform stream or field, and what it means to us.
STREAMS: dict[Kind, dict[str, str]] = {
    Kind.SMOKE: {"smoke_state": "alarm", "battery_value": "battery_pct"},
    Kind.ELECTRICAL: {
        "leakage_current": "residual_current_ma",
        "cable_temp": "cable_temp_c",
        "alarm_state": "alarm",
    },
}


@dataclass(frozen=True, slots=True)
class NbDevice:
    device_id: str  # ours, in the registry
    kind: Kind
    platform: Platform
    platform_id: str  # OneNET's dev_id (digits) or CTWing's deviceId


def registry_config(device: NbDevice) -> dict[str, Any]:
    """The device's ``config`` entry that maps the platform's id and streams to it."""
    return {device.platform: {"dev_id": device.platform_id, "streams": STREAMS[device.kind]}}


def fleet(count: int, *, seed: int) -> list[NbDevice]:
    """Half smoke detectors, half electrical monitors; OneNET and CTWing alternately."""
    rng = random.Random(seed)
    devices = []
    for i in range(count):
        kind = Kind.SMOKE if i % 2 == 0 else Kind.ELECTRICAL
        platform: Platform = "onenet" if i % 4 < 2 else "ctwing"
        platform_id = (
            str(500_000_000 + rng.randrange(10**8))
            if platform == "onenet"
            else rng.randbytes(16).hex()
        )
        prefix = "NB-SD" if kind is Kind.SMOKE else "NB-EM"
        devices.append(NbDevice(f"{prefix}-{seed}-{i:03d}", kind, platform, platform_id))
    return devices


def fields(device: NbDevice, rng: random.Random, *, alarm: bool) -> dict[str, Any]:
    """One report's fields, as the device's NB-IoT profile names them."""
    if device.kind is Kind.SMOKE:
        return {"smoke_state": int(alarm), "battery_value": rng.randint(60, 100)}
    return {
        "leakage_current": round(rng.uniform(20, 120) + (400 if alarm else 0), 1),
        "cable_temp": round(rng.uniform(25, 45), 1),
        "alarm_state": int(alarm),
    }


class Poster:
    """Sends a push until it is answered 200; a 4xx other than 408/429 is final (the
    platform's own behaviour is to retry a few times; a refusal will not change)."""

    def __init__(self, *, attempts: int = 30, timeout_s: float = 15.0) -> None:
        self.attempts, self.timeout_s = attempts, timeout_s
        self.sent = 0
        self.retried = 0

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        status = 0
        for attempt in range(self.attempts):
            self.sent += 1
            status, wait = self._once(url, body, headers)
            if status == 200 or (400 <= status < 500 and status not in (408, 429)):
                return status
            self.retried += 1
            time.sleep(wait if wait is not None else min(0.2 * 2**attempt, 5.0))
        return status

    def _once(self, url: str, body: bytes, headers: dict[str, str]) -> tuple[int, float | None]:
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) URLs given by the operator
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:  # noqa: S310
                answer.read()
                return int(answer.status), None
        except urllib.error.HTTPError as exc:
            retry_after = exc.headers.get("Retry-After", "")
            return exc.code, min(float(retry_after), 5.0) if retry_after.isdigit() else None
        except (urllib.error.URLError, OSError, TimeoutError):
            return 0, None


def compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


class OneNet:
    """OneNET's HTTP push: plain mode, or secure mode when ``aes_key`` (the EncodingAESKey, 43
    characters of Base64) is given."""

    def __init__(self, base_url: str, *, token: str, aes_key: str = "", poster: Poster) -> None:
        self.url = f"{base_url.rstrip('/')}/api/v1/gateways/onenet"
        self.token, self.poster = token, poster
        self.key = base64.b64decode(aes_key + "=") if aes_key else None

    def _signature(self, nonce: str, text: str) -> str:
        digest = hashlib.md5((self.token + nonce + text).encode()).digest()  # noqa: S324 - the platform's
        return base64.b64encode(digest).decode()

    def body(self, messages: list[dict[str, Any]], *, nonce: str) -> bytes:
        msg: Any = messages[0] if len(messages) == 1 else messages
        if self.key is None:
            text = compact(msg)
            signature = self._signature(nonce, text)
            return f'{{"msg":{text},"msg_signature":"{signature}","nonce":"{nonce}"}}'.encode()
        plain = compact(msg).encode()
        framed = os.urandom(16) + len(plain).to_bytes(4, "big") + plain
        padder = padding.PKCS7(128).padder()
        sealer = Cipher(algorithms.AES(self.key), modes.CBC(self.key[:16])).encryptor()
        sealed = sealer.update(padder.update(framed) + padder.finalize()) + sealer.finalize()
        enc = base64.b64encode(sealed).decode()
        return compact(
            {"enc_msg": enc, "msg_signature": self._signature(nonce, enc), "nonce": nonce}
        ).encode()

    def report(self, device: NbDevice, values: dict[str, Any], *, at_ms: int, nonce: str) -> int:
        dev_id = int(device.platform_id)
        messages = [
            {"at": at_ms, "type": 1, "ds_id": name, "value": value, "dev_id": dev_id}
            for name, value in values.items()
        ]
        messages.append({"at": at_ms, "type": 2, "status": 1, "login_type": 10, "dev_id": dev_id})
        body = self.body(messages, nonce=nonce)
        return self.poster.post(self.url, body, {"Content-Type": "application/json"})


class Ctwing:
    """CTWing's subscription push, signed as the gateway asks (docs/gateways.md)."""

    def __init__(self, base_url: str, *, secret: str, poster: Poster) -> None:
        self.url = f"{base_url.rstrip('/')}/api/v1/gateways/ctwing"
        self.secret, self.poster = secret, poster

    def headers(self, body: bytes) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        signed = f"application:{CTWING_APPLICATION}\ntimestamp:{timestamp}\n".encode() + body
        digest = hmac.new(self.secret.encode(), signed, hashlib.sha1).digest()
        return {
            "Content-Type": "application/json",
            "application": CTWING_APPLICATION,
            "timestamp": timestamp,
            "signature": base64.b64encode(digest).decode(),
        }

    def report(self, device: NbDevice, values: dict[str, Any], *, at_ms: int) -> int:
        report = {
            "upPacketSN": -1,
            "upDataSN": -1,
            "topic": "v1/up/ad",
            "timestamp": at_ms,
            "tenantId": "2000000001",
            "serviceId": "",
            "protocol": "lwm2m",
            "productId": "15000001",
            "payload": {"serviceId": device.kind.value, "serviceData": values},
            "messageType": "dataReport",
            "deviceType": "",
            "deviceId": device.platform_id,
            "assocAssetId": "",
            "IMSI": "undefined",
            "IMEI": "",
        }
        body = compact(report).encode()
        return self.poster.post(self.url, body, self.headers(body))


def run(
    devices: list[NbDevice],
    *,
    onenet: OneNet | None,
    ctwing: Ctwing | None,
    reports: int,
    seed: int,
    alarm_every: int = 0,
    now_ms: Callable[[], int] = lambda: int(time.time() * 1000),
) -> dict[int, int]:
    """Each device reports ``reports`` times; every ``alarm_every``-th report (0: none) is an
    alarm. Returns how many pushes ended with each status."""
    rng = random.Random(seed)
    ended: dict[int, int] = {}
    for n in range(reports):
        for device in devices:
            alarm = alarm_every > 0 and (n + 1) % alarm_every == 0
            values = fields(device, rng, alarm=alarm)
            at = now_ms()
            if device.platform == "onenet" and onenet is not None:
                status = onenet.report(device, values, at_ms=at, nonce=f"{rng.getrandbits(32):08x}")
            elif device.platform == "ctwing" and ctwing is not None:
                status = ctwing.report(device, values, at_ms=at)
            else:
                continue
            ended[status] = ended.get(status, 0) + 1
    return ended


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--onenet-token", default="")
    parser.add_argument("--onenet-aes-key", default="")
    parser.add_argument("--ctwing-secret", default="")
    parser.add_argument("--devices", type=int, default=10)
    parser.add_argument("--reports", type=int, default=5)
    parser.add_argument("--alarm-every", type=int, default=0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    poster = Poster()
    devices = fleet(args.devices, seed=args.seed)
    for device in devices:
        print(device.device_id, device.kind.value, json.dumps(registry_config(device)))
    ended = run(
        devices,
        onenet=OneNet(args.url, token=args.onenet_token, aes_key=args.onenet_aes_key, poster=poster)
        if args.onenet_token
        else None,
        ctwing=Ctwing(args.url, secret=args.ctwing_secret, poster=poster)
        if args.ctwing_secret
        else None,
        reports=args.reports,
        seed=args.seed,
        alarm_every=args.alarm_every,
    )
    print(f"pushes ended {ended}; {poster.sent} sent, {poster.retried} sent again")


if __name__ == "__main__":
    main()
