"""The alert vocabulary everyone shares: signal classes and stable rule names (alerts, the
API, the console, scenarios' ground truth and docs/rules.md)."""

from __future__ import annotations

from enum import StrEnum


class AlertClass(StrEnum):
    """GB 26875 / NFPA 72 signal classes; each has its own colour and sound on the dashboard."""

    FIRE = "fire"
    PREALARM = "prealarm"
    SUPERVISORY = "supervisory"
    TROUBLE = "trouble"


class Rule(StrEnum):
    """Stable rule names: alerts, scenarios' ground truth and docs/rules.md all use them."""

    SMOKE_ALARM = "smoke_alarm"
    SMOKE_PREALARM = "smoke_prealarm"
    SMOKE_OBSCURATION = "smoke_obscuration"
    HEAT_FIXED = "heat_fixed"
    HEAT_ROR = "heat_ror"
    HEAT_ANOMALY = "heat_anomaly"
    LEAKAGE = "leakage"
    LEAKAGE_TREND = "leakage_trend"
    CABLE_TEMP = "cable_temp"
    CABLE_TEMP_ROR = "cable_temp_ror"
    CABLE_FIRE = "cable_fire"
    ELECTRICAL_ALARM = "electrical_alarm"
    CAMERA_HOTSPOT = "camera_hotspot"
    CAMERA_PREALARM = "camera_prealarm"
    CAMERA_SUDDEN_RISE = "camera_sudden_rise"
    CAMERA_GROWTH = "camera_growth"
    CAMERA_FIRE = "camera_fire"
    CAMERA_SMOKE = "camera_smoke"
    PANEL_FIRE = "panel_fire"  # a fire alarm panel's component in fire alarm (GB/T 26875.3)
    PANEL_SUPERVISORY = "panel_supervisory"  # its supervised equipment off normal
    OFFLINE = "offline"
    LOW_BATTERY = "low_battery"
    FAULT = "fault"
    SENSOR_STUCK = "sensor_stuck"
    TAMPER = "tamper"
    COMM_FAULT = "comm_fault"
    CONFIRMED_FIRE = "confirmed_fire"
    ALERT_FLOOD = "alert_flood"
    CLOCK_SKEW = "clock_skew"  # a device's clock outside the time window (its alarms re-stamped)
    MQTT_SESSION = "mqtt_session"  # ingest's broker session taken over or lost
