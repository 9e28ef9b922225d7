"""China Telecom CTWing (天翼物联, AEP) subscription push: its signature check, and the contract
messages its data reports, event reports and online/offline reports make.

Pure: bytes, headers and the secret in; messages, or :class:`Refused` with the HTTP status the
platform should get, out. The reports, as CTWing publishes them (docs/gateways.md):

- ``dataReport``: deviceId, productId, timestamp (ms), payload: ``{"serviceId": …,
  "serviceData": {…}}`` from an LwM2M profile, ``{"APPdata": "<Base64>"}`` passed through, or
  the fields themselves (MQTT, TCP).
- ``eventReport``: the same, the fields in ``eventContent``.
- ``deviceOnlineOfflineReport``: eventType 1 online, 0 offline.

The signature is ours to decide: CTWing's published push examples carry none. We follow the
style of its own API's signing: headers ``application`` (the application key), ``timestamp``
(ms) and ``signature`` = Base64(HMAC-SHA1(application secret,
"application:{application}\\ntimestamp:{timestamp}\\n" + body)).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from contract.messages import Reason
from gateways.push_targets import PlatformDevice, Refused, Translated, heard, translate_fields

GATEWAY = "ctwing"
DEVICE_ID_MAX = 64
# Epoch milliseconds between 2000 and 2100, as the contract accepts (contract/codec.py).
_MIN_MS, _MAX_MS = 946_684_800_000, 4_102_444_800_000
_OUR_ID = re.compile(r"^[A-Za-z0-9_-]{1,57}$")


def signature(secret: str, *, application: str, timestamp: str, body: bytes) -> str:
    signed = f"application:{application}\ntimestamp:{timestamp}\n".encode() + body
    return base64.b64encode(hmac.new(secret.encode(), signed, hashlib.sha1).digest()).decode()


def check(secret: str, *, headers: Mapping[str, str], body: bytes) -> None:
    """Raises :class:`Refused` (403) unless the push is signed with ``secret``."""
    application, timestamp = headers.get("application"), headers.get("timestamp")
    given = headers.get("signature")
    if not application or not timestamp or not given:
        raise Refused(
            Reason.BAD_SIGNATURE, "headers application, timestamp and signature are needed", 403
        )
    expected = signature(secret, application=application, timestamp=timestamp, body=body)
    if not hmac.compare_digest(expected.encode(), given.encode()):
        raise Refused(Reason.BAD_SIGNATURE, "signature does not match the body", 403)


def open_push(body: bytes) -> dict[str, Any]:
    try:
        report = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Refused(Reason.MALFORMED, f"not JSON: {str(exc)[:120]}", 400) from None
    if not isinstance(report, dict):
        raise Refused(Reason.MALFORMED, "the body must be a JSON object (one report)", 400)
    return report


@dataclass(slots=True)
class Outcome(Translated):
    offline: int = 0  # eventType 0: not stored (ingest judges silence itself)
    other: int = 0  # reports that are not ours (commandResponse, …)


_REPORTS = frozenset({"dataReport", "eventReport", "deviceOnlineOfflineReport"})


def translate(
    report: dict[str, Any],
    *,
    site: str,
    devices: Callable[[str], PlatformDevice | None],
    received_at: datetime,
) -> Outcome:
    out = Outcome()
    problem = _translate(out, report, site=site, devices=devices, at=received_at)
    if problem is not None:
        out.problems.append((problem, report))
    return out


def _translate(
    out: Outcome,
    report: dict[str, Any],
    *,
    site: str,
    devices: Callable[[str], PlatformDevice | None],
    at: datetime,
) -> str | None:
    kind = report.get("messageType")
    if not isinstance(kind, str):
        return "'messageType' must be a string"
    if kind not in _REPORTS:
        out.other += 1
        return None
    head = _head(report)
    if isinstance(head, str):
        return head
    device_id, ts = head
    try:
        identity = orjson.dumps(report, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # deeper than 255 levels, or an integer beyond 64 bits
        return "a report nests deeper than 255 levels or holds an integer beyond 64 bits"
    device = devices(device_id)
    ours = device.device_id if device is not None else unknown_id(device_id)
    fields = _fields(report, kind)
    if isinstance(fields, str):
        return fields
    if fields is None:
        out.offline += 1
    elif device is None or kind == "deviceOnlineOfflineReport":
        out.items.append(heard(site, ours, ts=ts, identity=identity, received_at=at))
    else:
        translate_fields(
            out, device, fields, site=site, ts=ts, identity=identity, received_at=at, report=report
        )
    return None


def _head(report: dict[str, Any]) -> tuple[str, datetime] | str:
    """The report's deviceId and time, or what is wrong with them."""
    device_id = report.get("deviceId")
    if not isinstance(device_id, str) or not 0 < len(device_id) <= DEVICE_ID_MAX:
        return f"'deviceId' must be a string of 1..{DEVICE_ID_MAX} characters"
    stamp = report.get("timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int) or not _MIN_MS <= stamp <= _MAX_MS:
        return "'timestamp' must be epoch milliseconds between 2000 and 2100"
    return device_id, datetime.fromtimestamp(stamp / 1000, UTC)


def _fields(report: dict[str, Any], kind: str) -> dict[str, Any] | str | None:
    """The report's fields, or what is wrong with them; None for a device gone offline (an
    online report has no fields)."""
    if kind == "deviceOnlineOfflineReport":
        online = report.get("eventType")
        valid = online in (0, 1) and not isinstance(online, bool)
        return ({} if online == 1 else None) if valid else "'eventType' must be 1 or 0"
    if kind == "eventReport":
        content = report.get("eventContent")
        return content if isinstance(content, dict) else "'eventContent' must be an object"
    payload = report.get("payload")
    if not isinstance(payload, dict):
        return "'payload' must be an object"
    if "serviceData" in payload:
        data = payload["serviceData"]
        return data if isinstance(data, dict) else "'payload.serviceData' must be an object"
    if "APPdata" in payload:
        return _passed_through(payload["APPdata"])
    return payload


def _passed_through(app_data: object) -> dict[str, Any] | str:
    """APPdata is the device's own bytes: fields only when they are a JSON object; any other
    layout needs the product's profile on the platform (or a decoder of its own)."""
    if not isinstance(app_data, str):
        return "'payload.APPdata' must be Base64 text"
    try:
        fields = orjson.loads(base64.b64decode(app_data, validate=True))
    except (binascii.Error, ValueError):
        return "'payload.APPdata' is not Base64 of a JSON object; decode it with a profile"
    return fields if isinstance(fields, dict) else "'payload.APPdata' is not a JSON object"


def unknown_id(device_id: str) -> str:
    """The id an unmapped deviceId reports under: dead-lettered and listed as pending."""
    if _OUR_ID.match(device_id):
        return f"ctwing-{device_id}"
    return f"ctwing-{hashlib.blake2b(device_id.encode(), digest_size=8).hexdigest()}"
