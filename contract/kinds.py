"""Device kinds and what each may say: the registry decides a device's kind, never the message."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    SMOKE = "smoke"
    ELECTRICAL = "electrical"
    THERMAL_CAMERA = "thermal_camera"
    VIDEO_CAMERA = "video_camera"  # a registry device for video linkage: it sends nothing
    # A component of a building's fire alarm system (detector, call point, module), reported
    # by its control panel through a user information transmission device (GB/T 26875.3).
    PANEL = "panel"
    TRANSMITTER = "transmitter"  # that transmission device (用户信息传输装置) itself


@dataclass(frozen=True, slots=True)
class MetricRange:
    """Physical limits of a metric: a value outside them is a broken sensor or a forged message."""

    low: float
    high: float


# Units are in the names (contract v1). Ranges are what the hardware can physically report.
METRIC_RANGES: dict[str, MetricRange] = {
    "obscuration_pct_per_m": MetricRange(0.0, 100.0),
    "temperature_c": MetricRange(-40.0, 1200.0),
    "residual_current_ma": MetricRange(0.0, 10000.0),
    "cable_temp_c": MetricRange(-40.0, 1200.0),
    "current_a": MetricRange(0.0, 1000.0),
    "voltage_v": MetricRange(0.0, 1000.0),
    "max_temp_c": MetricRange(-40.0, 1200.0),
    "avg_temp_c": MetricRange(-40.0, 1200.0),
    "min_temp_c": MetricRange(-40.0, 1200.0),
    # Derived from frames by ingest; a radiometric sensor sees a cold sky far below -40 °C.
    "frame_max_temp_c": MetricRange(-273.15, 2000.0),
    "frame_avg_temp_c": MetricRange(-273.15, 2000.0),
    "frame_min_temp_c": MetricRange(-273.15, 2000.0),
    # From status messages, kept as readings so battery drain and signal have a history.
    "battery_pct": MetricRange(0.0, 100.0),
    "rssi_dbm": MetricRange(-150.0, 0.0),
}

STATUS_METRICS = frozenset({"battery_pct", "rssi_dbm"})
FRAME_METRICS = frozenset({"frame_max_temp_c", "frame_avg_temp_c", "frame_min_temp_c"})

EVENT_TYPES = frozenset(
    {
        "alarm",
        "alarm_cleared",
        "test",
        "tamper",
        "fault",
        "fault_cleared",
        "button",
        "fire_detected",
        "smoke_detected",
        # A fire panel's component (GB/T 26875.3): supervised equipment off normal (a valve,
        # a pump), and shielded (屏蔽) by the panel's operator, which suppresses its alarms.
        "supervisory",
        "supervisory_cleared",
        "disabled",
        "disabled_cleared",
        # A thermal camera's own thermometry verdict (an ISAPI TMA or TMPA): its rule's
        # temperature over the alarm or the pre-alarm limit the installer set on it.
        "temperature_alarm",
        "temperature_prealarm",
        "temperature_alarm_cleared",
    }
)


# Fire and tamper: judged even from a device whose clock is outside the time window, stamped
# with their arrival (docs/contract.md, "A wrong device clock"): a detector whose clock drifted
# still reports smoke. Everything else from such a device is dead-lettered.
# A panel's shield and its lifting likewise: a lost lifting would hold the component's alarms
# back for good. And a thermal camera's own thermometry verdicts (ISAPI TMA, TMPA), the way a
# dome whose clock was lost in a power cut reports a hot spot.
CLOCK_EXEMPT_EVENTS = frozenset(
    {
        "alarm",
        "fire_detected",
        "smoke_detected",
        "tamper",
        "disabled",
        "disabled_cleared",
        "temperature_alarm",
        "temperature_prealarm",
    }
)


@dataclass(frozen=True, slots=True)
class KindSpec:
    """What a kind may publish, and how often it must be heard from."""

    metrics: frozenset[str]
    events: frozenset[str]
    frames: bool
    heartbeat_s: int
    # Speaks only when its state changes (a panel's component): never judged offline itself;
    # its transmission device is, and a building whose devices fall silent raises a fault.
    reports_on_change: bool = False

    @property
    def telemetry(self) -> bool:
        """False for a kind that publishes nothing (a video camera): silence is its normal
        state, so it is never judged offline."""
        return bool(self.metrics or self.events or self.frames)


_COMMON_EVENTS = frozenset({"test", "tamper", "fault", "fault_cleared"})

KIND_SPECS: dict[Kind, KindSpec] = {
    Kind.SMOKE: KindSpec(
        metrics=frozenset({"obscuration_pct_per_m", "temperature_c"}) | STATUS_METRICS,
        events=_COMMON_EVENTS | {"alarm", "alarm_cleared", "button"},
        frames=False,
        heartbeat_s=3600,
    ),
    Kind.ELECTRICAL: KindSpec(
        metrics=frozenset({"residual_current_ma", "cable_temp_c", "current_a", "voltage_v"})
        | STATUS_METRICS,
        events=_COMMON_EVENTS | {"alarm", "alarm_cleared"},
        frames=False,
        heartbeat_s=300,
    ),
    Kind.THERMAL_CAMERA: KindSpec(
        metrics=frozenset({"max_temp_c", "avg_temp_c", "min_temp_c"})
        | STATUS_METRICS
        | FRAME_METRICS,
        events=_COMMON_EVENTS
        | {
            "fire_detected",
            "smoke_detected",
            "alarm_cleared",
            "temperature_alarm",
            "temperature_prealarm",
            "temperature_alarm_cleared",
        },
        frames=True,
        heartbeat_s=60,
    ),
    # Watched through its stream, moved through its own HTTP API (dispatch/ptz.py); the
    # registry stores a heartbeat for every device, and this one is never judged.
    Kind.VIDEO_CAMERA: KindSpec(
        metrics=frozenset(), events=frozenset(), frames=False, heartbeat_s=86400
    ),
    Kind.PANEL: KindSpec(
        metrics=frozenset({"temperature_c"}),  # an analog value (type 3) when it sends one
        events=_COMMON_EVENTS
        | {
            "alarm",
            "alarm_cleared",
            "supervisory",
            "supervisory_cleared",
            "disabled",
            "disabled_cleared",
        },
        frames=False,
        heartbeat_s=86400,
        reports_on_change=True,
    ),
    # Heard at every frame it sends; the gateway reports it at least once a minute while its
    # connection carries anything, and a link kept alive only by TCP is silence.
    Kind.TRANSMITTER: KindSpec(
        metrics=frozenset(),
        events=_COMMON_EVENTS | {"alarm", "alarm_cleared"},
        frames=False,
        heartbeat_s=300,
    ),
}
