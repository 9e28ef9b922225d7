"""A Hikvision thermal dome as its alarm host ("HTTP listening") sees it: ISAPI
``EventNotificationAlert`` posts of temperature alarms (TMA, TMPA), fire and smoke detection
and heartbeats, as XML (alone, or multipart with JPEG pictures) or JSON, logging in with
HTTP Digest (what the cameras' ``MD5digest`` does) or Basic.

Written from the vendor's published format, not from the gateway's parser (gateways/isapi.py),
so it checks the gateway from outside. Standard library only: the demo runs it without the
dev extras.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

PATH = "/api/v1/gateways/isapi"
_PARAM = re.compile(r'(\w+)="?([^",]*)"?')


def _md5(text: str) -> str:
    return hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()


def fake_jpeg(size: int) -> bytes:
    """JPEG's start and end markers around ``size`` random bytes: what a picture part weighs."""
    return b"\xff\xd8\xff\xe0" + os.urandom(max(0, size)) + b"\xff\xd9"


@dataclass(frozen=True, slots=True)
class Post:
    body: bytes
    content_type: str


@dataclass(slots=True)
class IsapiCamera:
    base_url: str
    device_id: str
    password: str
    auth: str = "digest"  # or "basic"
    mac: str = "4c:f5:dc:12:34:56"
    ip: str = "192.168.1.64"
    channel: int = 2  # the thermal channel of a bi-spectrum dome
    _nonce: str | None = field(default=None, repr=False)
    _nc: int = field(default=0, repr=False)

    # --- what it says ---------------------------------------------------------------------

    def _head(
        self, *, at: datetime, event_type: str, state: str, description: str, count: int
    ) -> str:
        return (
            f"<ipAddress>{self.ip}</ipAddress>\r\n<portNo>80</portNo>\r\n<protocol>HTTP</protocol>\r\n"
            f"<macAddress>{self.mac}</macAddress>\r\n<channelID>{self.channel}</channelID>\r\n"
            f"<dateTime>{at.isoformat(timespec='seconds')}</dateTime>\r\n"
            f"<activePostCount>{count}</activePostCount>\r\n<eventType>{event_type}</eventType>\r\n"
            f"<eventState>{state}</eventState>\r\n"
            f"<eventDescription>{description}</eventDescription>\r\n"
        )

    def thermometry_xml(
        self,
        *,
        at: datetime,
        max_c: float,
        rule: int = 1,
        preset: int = 1,
        pre_alarm: bool = False,
        count: int = 1,
        active: bool = True,
    ) -> bytes:
        kind = "TMPA" if pre_alarm else "TMA"
        description = (
            "Temperature Measurement Precautionary Alarm"
            if pre_alarm
            else "Temperature Measurement Alarm"
        )
        return (
            '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n'
            + self._head(
                at=at,
                event_type=kind,
                state="active" if active else "inactive",
                description=description,
                count=count,
            )
            + "<DetectionRegionList>\r\n<DetectionRegionEntry>\r\n"
            f"<regionID>{rule}</regionID>\r\n<RegionCoordinatesList>\r\n"
            "<RegionCoordinates><positionX>31</positionX><positionY>160</positionY></RegionCoordinates>\r\n"
            "<RegionCoordinates><positionX>484</positionX><positionY>546</positionY></RegionCoordinates>\r\n"
            f"</RegionCoordinatesList>\r\n<{kind}>\r\n<thermometryUnit>celsius</thermometryUnit>\r\n"
            f"<ruleTemperature>55.0</ruleTemperature>\r\n<currTemperature>{max_c:.1f}</currTemperature>\r\n"
            "<ruleCalibType>region</ruleCalibType>\r\n"
            "<ruleType>highest temp is higher than</ruleType>\r\n"
            f"<presetNo>{preset}</presetNo>\r\n</{kind}>\r\n"
            "</DetectionRegionEntry>\r\n</DetectionRegionList>\r\n"
            "<channelName>Thermal</channelName>\r\n</EventNotificationAlert>\r\n"
        ).encode()

    def fire_xml(
        self,
        *,
        at: datetime,
        max_c: float,
        active: bool = True,
        count: int = 1,
        smoke: bool = False,
    ) -> bytes:
        kind = "smokeDetection" if smoke else "fireDetection"
        return (
            '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n'
            + self._head(
                at=at,
                event_type=kind,
                state="active" if active else "inactive",
                description=f"{kind} alarm",
                count=count,
            )
            + "<DetectionRegionList>\r\n<DetectionRegionEntry>\r\n<regionID>1</regionID>\r\n"
            "<FireDetection>\r\n<FireRegion><x>683</x><y>10</y><width>31</width><height>36</height>"
            "</FireRegion>\r\n<temperatureUnit>celsius</temperatureUnit>\r\n"
            f"<fireMaxTemperature>{max_c:.0f}</fireMaxTemperature>\r\n"
            "<targetDistance>120</targetDistance>\r\n</FireDetection>\r\n"
            "</DetectionRegionEntry>\r\n</DetectionRegionList>\r\n"
            "<channelName>Thermal</channelName>\r\n<detectionPicturesNumber>1</detectionPicturesNumber>\r\n"
            "</EventNotificationAlert>\r\n"
        ).encode()

    def heartbeat_xml(self, *, at: datetime) -> bytes:
        return (
            '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">\r\n'
            + self._head(
                at=at, event_type="heartBeat", state="active", description="heartBeat", count=0
            )
            + "</EventNotificationAlert>\r\n"
        ).encode()

    def thermometry_json(
        self, *, at: datetime, max_c: float, rule: int = 1, preset: int = 1, count: int = 1
    ) -> bytes:
        text = (
            f'{{"ipAddress":"{self.ip}","portNo":80,"protocol":"HTTP","macAddress":"{self.mac}",'
            f'"channelID":{self.channel},"dateTime":"{at.isoformat(timespec="seconds")}",'
            f'"activePostCount":{count},"eventType":"TMA","eventState":"active",'
            '"eventDescription":"Temperature Measurement Alarm","DetectionRegionList":'
            f'{{"DetectionRegionEntry":{{"regionID":{rule},"TMA":{{"thermometryUnit":"celsius",'
            f'"ruleTemperature":55,"currTemperature":{max_c},"ruleCalibType":"region",'
            f'"ruleType":"highest temp is higher than","presetNo":{preset}}}}}}}}}'
        )
        return text.encode()

    @staticmethod
    def multipart(alert: bytes, *, name: str, pictures: list[bytes], json: bool = False) -> Post:
        """As the cameras post it: boundary ``boundary``, the alert, then its pictures."""
        alert_type = "application/json" if json else 'application/xml; charset="UTF-8"'
        parts = [
            f'--boundary\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: {alert_type}\r\nContent-Length: {len(alert)}\r\n\r\n".encode()
            + alert
            + b"\r\n"
        ]
        for picture in pictures:
            parts.append(
                f'--boundary\r\nContent-Disposition: form-data; name="{name}"; '
                f'filename="{name}.jpg"\r\nContent-Type: image/jpeg\r\n'
                f"Content-Length: {len(picture)}\r\n\r\n".encode()
                + picture
                + b"\r\n"
            )
        return Post(b"".join(parts) + b"--boundary--\r\n", "multipart/form-data; boundary=boundary")

    # --- how it says it -------------------------------------------------------------------

    def _authorization(self, method: str, nonce: str, realm: str) -> str:
        self._nc += 1
        nc = f"{self._nc:08x}"
        cnonce = os.urandom(8).hex()
        ha1 = _md5(f"{self.device_id}:{realm}:{self.password}")
        ha2 = _md5(f"{method}:{PATH}")
        response = _md5(f"{ha1}:{nonce}:{nc}:{cnonce}:auth:{ha2}")
        return (
            f'Digest username="{self.device_id}", realm="{realm}", nonce="{nonce}", '
            f'uri="{PATH}", algorithm=MD5, qop=auth, nc={nc}, cnonce="{cnonce}", '
            f'response="{response}"'
        )

    def _send(
        self, post: Post, authorization: str | None
    ) -> tuple[int, dict[str, list[str]], bytes]:
        url = urlsplit(self.base_url)
        conn = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=30)
        headers = {"Content-Type": post.content_type, "Content-Length": str(len(post.body))}
        if authorization:
            headers["Authorization"] = authorization
        try:
            conn.request("POST", PATH, body=post.body, headers=headers)
            response = conn.getresponse()
            found: dict[str, list[str]] = {}
            for name, value in response.getheaders():
                found.setdefault(name.lower(), []).append(value)
            return response.status, found, response.read()
        finally:
            conn.close()

    def post(self, post: Post) -> tuple[int, bytes]:
        """Sends it as the camera would: Basic at once, or Digest answering the challenge
        (again on a stale nonce); returns the final status and body."""
        if self.auth == "basic":
            token = base64.b64encode(f"{self.device_id}:{self.password}".encode()).decode()
            status, _, body = self._send(post, f"Basic {token}")
            return status, body
        realm = "firewatch"
        for _ in range(3):
            authorization = None
            if self._nonce is not None:
                authorization = self._authorization("POST", self._nonce, realm)
            status, headers, body = self._send(post, authorization)
            if status != 401:
                return status, body
            digest = next(
                (v for v in headers.get("www-authenticate", []) if v.lower().startswith("digest")),
                None,
            )
            if digest is None:
                return status, body
            params = dict(_PARAM.findall(digest))
            fresh = params.get("nonce")
            if authorization is not None and params.get("stale", "").lower() != "true":
                return status, body  # a wrong password: a camera does not loop on it
            self._nonce, realm, self._nc = fresh, params.get("realm", realm), 0
        return status, body
