"""What the ISAPI tests share: notifications written here from Hikvision's published examples
(the Thermal developer guide's EventNotificationAlert and its multipart upload, a captured
fireDetection body, a TMPA captured from a DS-2TD camera), not from the gateway's code; a
thermal camera registered with both of its passwords; the app on a real socket."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

from api.app import create_app
from contract.kinds import Kind
from firewatch.testing import serving
from registry.credentials import mosquitto_hash
from settings import Settings
from tests.conftest import Registry

URL_PATH = "/api/v1/gateways/isapi"
DEVICE_PASSWORD = "issued-at-registration-0123"  # the broker password, kept as a hash
CAMERA_PASSWORD = "Cam-Login-2026"  # the camera's own login, kept in clear (for PTZ)
# Region readings judged after 3 samples: the tests' cameras warm up in seconds, not minutes.
QUICK_RULES = {"rules": {"warmup_samples": 3, "anomaly_warmup_s": 0}}


@pytest.fixture()
def base_url(settings: Settings) -> Iterator[str]:
    with serving(create_app(settings)) as url:
        yield url


def add_camera(
    registry: Registry, db: psycopg.Connection[Any], device_id: str, *, camera_login: bool = True
) -> str:
    registry.add(device_id, Kind.THERMAL_CAMERA)
    db.execute("UPDATE devices SET config = %s WHERE id = %s", (Jsonb(QUICK_RULES), device_id))
    db.execute(
        "INSERT INTO device_credentials (device_id, password_hash) VALUES (%s, %s)",
        (device_id, mosquitto_hash(DEVICE_PASSWORD)),
    )
    if camera_login:
        db.execute(
            "INSERT INTO camera_credentials (device_id, username, password, updated_by)"
            " VALUES (%s, 'admin', %s, 'test')",
            (device_id, CAMERA_PASSWORD),
        )
    return device_id


def tma_xml(
    at: datetime,
    celsius: float,
    *,
    count: int = 1,
    kind: str = "TMA",
    rule: int = 1,
    preset: int = 1,
    state: str = "active",
    unit: str = "celsius",
) -> bytes:
    """A temperature measurement alarm, as DS-2TD domes send it (one DetectionRegionEntry per
    rule; the block named after the event type)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">
<ipAddress>192.168.1.64</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>4c:f5:dc:12:34:56</macAddress>
<dynChannelID>2</dynChannelID>
<channelID>2</channelID>
<dateTime>{at.isoformat(timespec="seconds")}</dateTime>
<activePostCount>{count}</activePostCount>
<eventType>{kind}</eventType>
<eventState>{state}</eventState>
<eventDescription>Temperature Measurement Alarm</eventDescription>
<DetectionRegionList>
<DetectionRegionEntry>
<regionID>{rule}</regionID>
<RegionCoordinatesList>
<RegionCoordinates><positionX>31</positionX><positionY>160</positionY></RegionCoordinates>
<RegionCoordinates><positionX>484</positionX><positionY>160</positionY></RegionCoordinates>
<RegionCoordinates><positionX>484</positionX><positionY>546</positionY></RegionCoordinates>
</RegionCoordinatesList>
<{kind}>
<thermometryUnit>{unit}</thermometryUnit>
<ruleTemperature>55</ruleTemperature>
<currTemperature>{celsius}</currTemperature>
<ruleCalibType>region</ruleCalibType>
<ruleType>highest temp is higher than</ruleType>
<MaximumTemperaturePoint><RegionCoordinates><positionX>384</positionX><positionY>218</positionY>
</RegionCoordinates></MaximumTemperaturePoint>
<AbsoluteHigh><elevation>0</elevation><azimuth>0</azimuth><absoluteZoom>0.1</absoluteZoom>
</AbsoluteHigh>
<presetNo>{preset}</presetNo>
</{kind}>
</DetectionRegionEntry>
</DetectionRegionList>
<channelName>Thermal</channelName>
</EventNotificationAlert>
""".encode()


def fire_xml(at: datetime, *, state: str = "active", kind: str = "fireDetection") -> bytes:
    """The captured fireDetection alert (two of its five regions), CRLF and all."""
    return (
        "<EventNotificationAlert>\r\n<ipAddress>10.1.99.8</ipAddress>\r\n<portNo>8000</portNo>\r\n"
        "<protocol>HTTP</protocol>\r\n<macAddress>a4:4c:62:22:d7:3c</macAddress>\r\n"
        "<dynChannelID>2</dynChannelID>\r\n<channelID>2</channelID>\r\n"
        f"<dateTime>{at.isoformat(timespec='seconds')}</dateTime>\r\n"
        f"<activePostCount>1</activePostCount>\r\n<eventType>{kind}</eventType>\r\n"
        f"<eventState>{state}</eventState>\r\n<eventDescription>{kind} alarm</eventDescription>\r\n"
        "<DetectionRegionList>\r\n<DetectionRegionEntry>\r\n<regionID>1</regionID>\r\n"
        "<RegionCoordinatesList>\r\n<RegionCoordinates>\r\n<positionX>683</positionX>\r\n"
        "<positionY>10</positionY>\r\n</RegionCoordinates>\r\n</RegionCoordinatesList>\r\n"
        "<FireDetection>\r\n<FireRegion>\r\n<x>683</x>\r\n<y>10</y>\r\n<width>31</width>\r\n"
        "<height>36</height>\r\n</FireRegion>\r\n<HighestPoint>\r\n<x>703</x>\r\n<y>15</y>\r\n"
        "</HighestPoint>\r\n<temperatureUnit>celsius</temperatureUnit>\r\n"
        "<fireMaxTemperature>68</fireMaxTemperature>\r\n<targetDistance>-1</targetDistance>\r\n"
        "</FireDetection>\r\n</DetectionRegionEntry>\r\n<DetectionRegionEntry>\r\n"
        "<regionID>4</regionID>\r\n<FireDetection>\r\n<temperatureUnit>celsius</temperatureUnit>\r\n"
        "<fireMaxTemperature>101</fireMaxTemperature>\r\n<targetDistance>-1</targetDistance>\r\n"
        "</FireDetection>\r\n</DetectionRegionEntry>\r\n</DetectionRegionList>\r\n"
        "<channelName>#4 south-west corner</channelName>\r\n"
        "<detectionPicturesNumber>2</detectionPicturesNumber>\r\n</EventNotificationAlert>\r\n"
    ).encode()


def heartbeat_xml(at: datetime) -> bytes:
    """The Thermal developer guide's heartbeat example, with our time."""
    return f"""<EventNotificationAlert version="2.0" xmlns="http://www.isapi.com/ver20/XMLSchema">
<ipAddress>10.17.133.46</ipAddress>
<portNo>80</portNo>
<protocol>HTTP</protocol>
<macAddress>44:19:b6:6d:24:85</macAddress>
<channelID>1</channelID>
<dateTime>{at.isoformat(timespec="seconds")}</dateTime>
<activePostCount>0</activePostCount>
<eventType>heartBeat</eventType>
<eventState>active</eventState>
<eventDescription>heartBeat</eventDescription>
</EventNotificationAlert>""".encode()


def multipart(alert: bytes, *pictures: bytes, name: str = "fireDetection") -> bytes:
    """As the captured body: boundary ``boundary``, a blank line after the first delimiter,
    the alert, then JPEGs with their own Content-Length."""
    body = (
        b'--boundary\r\n\r\nContent-Disposition: form-data; name="' + name.encode() + b'"\r\n'
        b'Content-Type: application/xml; charset="UTF-8"\r\n'
        b"Content-Length: " + str(len(alert)).encode() + b"\r\n\r\n" + alert + b"\r\n"
    )
    for picture in pictures:
        body += (
            b'--boundary\r\nContent-Disposition: form-data; name="' + name.encode() + b'"; '
            b'filename="' + name.encode() + b'.jpg";\r\nContent-Type: image/jpeg\r\n'
            b"Content-Length: " + str(len(picture)).encode() + b"\r\n\r\n" + picture + b"\r\n"
        )
    return body + b"--boundary--\r\n\r\n"


MULTIPART = "multipart/form-data; boundary=boundary"


def scalar(db: psycopg.Connection[Any], sql: str, *args: object) -> Any:
    row = db.execute(sql, args).fetchone()
    assert row is not None
    return row[0]
