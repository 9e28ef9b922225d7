"""Devices that publish their own JSON on their own topics (mapped MQTT, docs/gateways.md):
a Zigbee smoke sensor as Zigbee2MQTT publishes it, and a Tasmota energy-monitoring plug.

Each says what the real firmware says, in its own shape and units, and nothing of ours: the
registry's device models turn it into contract messages. Deterministic: the caller gives the
time and the values. Publish the (topic, payload) pairs with simulators.publisher.Publisher.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import orjson

BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass(slots=True)
class Zigbee2MqttSmoke:
    """Zigbee2MQTT publishes a device's whole state on ``<base topic>/<friendly name>`` at
    every change (and at every battery report), with no time of its own (zigbee2mqtt.io,
    "MQTT topics and messages"; the exposes of a Heiman HS1SA / Tuya smoke sensor)."""

    friendly_name: str
    base_topic: str = "zigbee2mqtt"
    battery: int = 100
    linkquality: int = 120

    @property
    def topic(self) -> str:
        return f"{self.base_topic}/{self.friendly_name}"

    def state(self, *, smoke: bool = False, tamper: bool = False) -> tuple[str, bytes]:
        body = {
            "battery": self.battery,
            "battery_low": self.battery < 20,
            "linkquality": self.linkquality,
            "smoke": smoke,
            "tamper": tamper,
        }
        return self.topic, orjson.dumps(body)


@dataclass(slots=True)
class TasmotaPlug:
    """Tasmota's telemetry on ``tele/<topic>/SENSOR`` every TelePeriod: ``Time`` is the
    plug's local time without an offset, ``ENERGY`` its meter (tasmota.github.io, "Power
    monitoring"), and a DS18B20 probe in °C, or °F with SetOption8 1 (``TempUnit``)."""

    topic_name: str
    zone: ZoneInfo = BEIJING
    fahrenheit: bool = False
    prefix: str = "tele"  # Tasmota's FullTopic %prefix%/%topic%/ puts it first

    @property
    def topic(self) -> str:
        return f"{self.prefix}/{self.topic_name}/SENSOR"

    def sensor(
        self,
        at: datetime,
        *,
        voltage: float,
        current: float,
        cable_temp_c: float | None = None,
    ) -> tuple[str, bytes]:
        power = round(voltage * current)
        body: dict[str, object] = {
            "Time": at.astimezone(self.zone).replace(tzinfo=None).isoformat(timespec="seconds"),
            "ENERGY": {
                "TotalStartTime": "2026-01-01T00:00:00",
                "Total": 123.456,
                "Yesterday": 2.1,
                "Today": 0.8,
                "Period": 3,
                "Power": power,
                "ApparentPower": power,
                "ReactivePower": 0,
                "Factor": 1.0,
                "Voltage": voltage,
                "Current": current,
            },
        }
        if cable_temp_c is not None:
            shown = cable_temp_c * 9 / 5 + 32 if self.fahrenheit else cable_temp_c
            body["DS18B20"] = {"Id": "01144A0CB2AA", "Temperature": round(shown, 1)}
            body["TempUnit"] = "F" if self.fahrenheit else "C"
        return self.topic, orjson.dumps(body)
