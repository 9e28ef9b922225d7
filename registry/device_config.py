"""A device's ``config``, checked against its kind by pydantic models built from the engine's
own tables, then by the engine itself for what relates two thresholds.

Each key's type and range come from ``alerts.config.BOUNDS`` and ``alerts.thermal``'s
``ThermalConfig``, so a registry override can never pass here and fail in the engine; the
models give each error its path (``rules.fixed_c``) and the OpenAPI its schema.

Cameras (video cameras and thermal domes) also hold what video linkage needs: the address
of their stream, their presets and the buildings each shows, their PTZ control and range.
Never a password: a config is exported and audited, so a camera's login has its own table.
"""

from __future__ import annotations

import math
from dataclasses import fields
from string import Formatter
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import orjson
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    ValidationError,
    create_model,
    field_validator,
)
from pydantic_core import PydanticCustomError

from alerts.config import BOUNDS, KIND_DEFAULTS, ConfigError
from alerts.devices import device_info
from alerts.thermal import ThermalConfig
from contract.kinds import KIND_SPECS, Kind
from registry.gateway_config import Gb26875Address, MqttLink, PlatformMapping

CONFIG_MAX_BYTES = 16 * 1024
_THERMAL_FIELDS = frozenset(f.name for f in fields(ThermalConfig))
CONFIG_KEYS = ("model", "rules", "thermal", "covers", "stream", "presets", "ptz", "range_m")
_VIEW_KEYS = frozenset({"stream", "presets", "ptz", "range_m"})
_Number = StrictInt | StrictFloat
# What a stream address may name, filled in by dispatch.video for the operator to open.
STREAM_FIELDS = ("camera", "channel", "preset")
STREAM_SCHEMES = ("rtsp", "rtsps", "http", "https")
PRESET_NUMBER_MAX = 1000  # vendors number presets from 1 (ISAPI domes: up to 300)
PRESETS_MAX = 256
RANGE_M = (10.0, 2000.0)
# How far a camera sees when its config does not say: a street camera, a thermal dome on a roof.
DEFAULT_RANGE_M = {Kind.VIDEO_CAMERA: 150.0, Kind.THERMAL_CAMERA: 500.0}


class ConfigFieldError(ValueError):
    """``path`` names the offending key, e.g. ``rules.fixed_c`` or ``thermal.alarm_c``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


def _within(low: float, high: float) -> AfterValidator:
    def check(value: float) -> float:
        if not low <= value <= high:
            raise PydanticCustomError(
                "range",
                "must be between {low} and {high}, got {value}",
                {"low": f"{low:g}", "high": f"{high:g}", "value": f"{value:g}"},
            )
        return value

    return AfterValidator(check)


def _rule(name: str) -> Any:
    low, high = BOUNDS[name]
    bounded = Annotated[_Number, _within(low, high)]
    return (
        bounded | None,
        Field(default=None, json_schema_extra={"minimum": low, "maximum": high}),
    )


def _thermal(declared: object) -> Any:
    """Counts (``min_area_px``) take integers; the other thresholds any number."""
    return ((StrictInt if declared in (int, "int") else _Number) | None, None)


_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
RulesConfig: type[BaseModel] = create_model(
    "RulesConfig",
    __config__=_STRICT,
    __doc__="Rule threshold overrides; docs/rules.md explains each.",
    **{name: _rule(name) for name in BOUNDS},
)
ThermalOverrides: type[BaseModel] = create_model(
    "ThermalOverrides",
    __config__=_STRICT,
    __doc__="The camera analysis' thresholds, checked against each other by the analysis.",
    **{f.name: _thermal(f.type) for f in fields(ThermalConfig)},
)
Model = Annotated[str, Field(min_length=1, max_length=64)]


class DeviceConfig(BaseModel):
    """A smoke detector's or an electrical monitor's config."""

    model_config = _STRICT

    model: Model | None = Field(default=None, description="The hardware model, e.g. heat.")
    rules: RulesConfig | None = None  # type: ignore[valid-type]
    # Gateways (docs/gateways.md): where the device is found when it does not speak MQTT.
    gb26875: Gb26875Address | None = Field(
        default=None, description="Its address on a fire panel's transmission device."
    )
    onenet: PlatformMapping | None = Field(default=None, description="Its OneNET device.")
    ctwing: PlatformMapping | None = Field(default=None, description="Its CTWing device.")
    mqtt: MqttLink | None = Field(
        default=None, description="Its device model when it publishes its own JSON (mapped MQTT)."
    )


def _stream(template: str) -> str:
    """A URL once its fields are filled in, naming only ``STREAM_FIELDS``, with no login."""
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        raise PydanticCustomError(
            "stream", "not a template ({reason}); write a literal brace twice", {"reason": str(exc)}
        ) from None
    for _, name, spec, conversion in parsed:
        if name is not None and (name not in STREAM_FIELDS or spec or conversion):
            raise PydanticCustomError(
                "stream",
                "unknown field '{name}'; a stream address may name {fields} in braces",
                {"name": name, "fields": ", ".join(STREAM_FIELDS)},
            )
    url = template.format(camera="C", channel=1, preset=1)
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise PydanticCustomError("stream", "not a URL: {reason}", {"reason": str(exc)}) from None
    if parts.scheme not in STREAM_SCHEMES or not parts.hostname:
        raise PydanticCustomError(
            "stream", "must be an rtsp://, rtsps://, http:// or https:// address with a host"
        )
    if parts.username is not None or parts.password is not None:
        raise PydanticCustomError(
            "stream",
            "holds a login: a config is exported and audited; give the camera's login with "
            "PUT /api/v1/cameras/<id>/credentials instead",
        )
    return template


def _control_url(url: str) -> str:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError as exc:
        raise PydanticCustomError("ptz", "not a URL: {reason}", {"reason": str(exc)}) from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PydanticCustomError("ptz", "must be the camera's http:// or https:// address")
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        raise PydanticCustomError(
            "ptz",
            "must be the bare address: no login (PUT /api/v1/cameras/<id>/credentials), no query",
        )
    return url


BuildingRef = Annotated[str, Field(min_length=1, max_length=64)]


class Preset(BaseModel):
    """A position the camera moves to by the vendor's number, and the buildings it shows."""

    model_config = _STRICT

    name: Annotated[str, Field(min_length=1, max_length=64)]
    number: Annotated[StrictInt, Field(ge=1, le=PRESET_NUMBER_MAX)]
    buildings: Annotated[list[BuildingRef], Field(min_length=1, max_length=64)]


class PtzControl(BaseModel):
    """How to move the camera: its HTTP API's address, the driver that speaks it, its
    channel. Its login is kept apart (``camera_credentials``)."""

    model_config = _STRICT

    driver: Literal["isapi"] = "isapi"
    url: Annotated[str, Field(max_length=256), AfterValidator(_control_url)]
    channel: Annotated[StrictInt, Field(ge=1, le=64)] = 1


class CameraView(BaseModel):
    """What video linkage knows of a camera (``dispatch.video``)."""

    model_config = _STRICT

    stream: Annotated[str, Field(max_length=512), AfterValidator(_stream)] | None = Field(
        default=None,
        description="The address to open, a template naming {camera}, {channel}, {preset}.",
    )
    presets: Annotated[list[Preset], Field(max_length=PRESETS_MAX)] | None = Field(
        default=None, description="Its presets: name, the vendor's number, buildings shown."
    )
    ptz: PtzControl | None = Field(default=None, description="Its PTZ control, if it moves.")
    range_m: Annotated[_Number, _within(*RANGE_M)] | None = Field(
        default=None, description="How far it sees, for the nearest cameras of an incident."
    )

    @field_validator("presets")
    @classmethod
    def _numbers_unique(cls, presets: list[Preset] | None) -> list[Preset] | None:
        numbers = [p.number for p in presets or ()]
        repeated = sorted({n for n in numbers if numbers.count(n) > 1})
        if repeated:
            raise PydanticCustomError(
                "presets", "preset number {number} appears twice", {"number": repeated[0]}
            )
        return presets


class VideoCameraConfig(CameraView):
    """A video camera's config: it sends nothing, so it has no thresholds."""

    model: Model | None = Field(default=None, description="The hardware model, e.g. ptz_dome.")


class CameraConfig(DeviceConfig, CameraView):
    """A thermal camera's config: also its analysis' thresholds and the buildings it watches."""

    thermal: ThermalOverrides | None = None  # type: ignore[valid-type]
    covers: list[str] | None = Field(
        default=None, description="The buildings it watches, for correlation."
    )


CONFIG_MODELS: dict[Kind, type[BaseModel]] = {
    Kind.SMOKE: DeviceConfig,
    Kind.ELECTRICAL: DeviceConfig,
    Kind.THERMAL_CAMERA: CameraConfig,
    Kind.VIDEO_CAMERA: VideoCameraConfig,
    Kind.PANEL: DeviceConfig,
    Kind.TRANSMITTER: DeviceConfig,
}


def named_buildings(config: dict[str, Any]) -> list[tuple[str, str]]:
    """(path, building) for every building a config names (a camera's covers and its presets'
    buildings), for the registry to check they are registered; a value of the wrong shape is
    left to ``check_config``."""
    found: list[tuple[str, str]] = []
    covers = config.get("covers")
    if isinstance(covers, list):
        found.extend(("covers", b) for b in covers if isinstance(b, str))
    presets = config.get("presets")
    for index, preset in enumerate(presets if isinstance(presets, list) else ()):
        shown = preset.get("buildings") if isinstance(preset, dict) else None
        if isinstance(shown, list):
            path = f"presets.{index}.buildings"
            found.extend((path, b) for b in shown if isinstance(b, str))
    return found


def check_config(kind: Kind, config: dict[str, Any]) -> None:
    """Raises ConfigFieldError naming the first wrong key or value."""
    try:
        encoded = orjson.dumps(config)
    except TypeError as exc:  # an integer beyond 64 bits, which no threshold needs
        raise ConfigFieldError("config", f"cannot be stored: {exc}") from None
    if not _finite(config):
        raise ConfigFieldError("config", "holds NaN or Infinity; thresholds are finite numbers")
    if len(encoded) > CONFIG_MAX_BYTES:
        raise ConfigFieldError("config", f"larger than {CONFIG_MAX_BYTES} bytes")
    try:
        CONFIG_MODELS[kind].model_validate(config)
    except ValidationError as exc:
        raise _located(kind, exc.errors()[0]) from None
    try:
        device_info(device_id="-", kind=kind, site="-", config=config)
    except ConfigError as exc:
        raise ConfigFieldError(exc.path, exc.reason) from None


_REASONS = {
    "model": "must be a string of 1..64 characters",
    "covers": "must be a list of building ids",
}


_VIEW_PARTS: dict[str, type[BaseModel]] = {
    "presets": Preset,
    "ptz": PtzControl,
    "mqtt": MqttLink,
}


def _located(kind: Kind, error: Any) -> ConfigFieldError:
    """The first error of a model as a path and a reason in the registry's words. A union's
    error carries its member's name at the end of ``loc``: a threshold's path stops at it."""
    loc = tuple(str(part) for part in error["loc"])
    top = loc[0]
    if error["type"] == "extra_forbidden":
        return _unknown_key(kind, loc)
    if top in _VIEW_KEYS or top == "mqtt":
        if top == "range_m" and error["type"] != "range":
            return ConfigFieldError(top, "must be a number of metres")
        return ConfigFieldError(".".join(loc), str(error["msg"]))
    if top in _REASONS:
        return ConfigFieldError(top, _REASONS[top])
    if len(loc) == 1:  # rules or thermal is not an object
        return ConfigFieldError(top, "must be an object of threshold names to numbers")
    reason = str(error["msg"]) if error["type"] == "range" else "must be a number"
    return ConfigFieldError(".".join(loc[:2]), reason)


def _unknown_key(kind: Kind, loc: tuple[str, ...]) -> ConfigFieldError:
    top = loc[0]
    if len(loc) > 1 and top in _VIEW_PARTS:
        known = ", ".join(_VIEW_PARTS[top].model_fields)
        return ConfigFieldError(".".join(loc), f"unknown key; {top} hold {known}")
    if len(loc) > 1:
        thresholds = BOUNDS if top == "rules" else _THERMAL_FIELDS
        return ConfigFieldError(
            ".".join(loc), "unknown threshold; known: " + ", ".join(sorted(thresholds))
        )
    if top in CONFIG_KEYS:
        theirs = ", ".join(CONFIG_MODELS[kind].model_fields)
        return ConfigFieldError(top, f"{kind} devices have no {top!r}; theirs: {theirs}")
    return ConfigFieldError(
        top, f"unknown key; a device's config may hold {', '.join(CONFIG_KEYS)}"
    )


def _finite(value: Any) -> bool:
    """orjson writes NaN as null, so a non-finite number must be found before it is stored."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


_GATEWAY_KEYS = (
    ("gb26875", "its address on a panel's transmission device: transmitter, system, component"),
    ("onenet", "its OneNET device: dev_id, and streams naming our metrics or events"),
    ("ctwing", "its CTWing device: dev_id, and streams naming our metrics or events"),
    ("mqtt", "its device model when it publishes its own JSON: model, topic, login"),
)


def kind_schema(kind: Kind) -> dict[str, Any]:
    """What ``GET /api/v1/device-kinds`` shows of a kind: its wire contract and config keys."""
    spec = KIND_SPECS[kind]
    defaults = KIND_DEFAULTS[kind]
    keys: list[dict[str, Any]] = [
        {
            "key": "model",
            "type": "string",
            "default": None,
            "min": None,
            "max": None,
            "description": "the hardware model, e.g. heat or multi for a smoke-loop device",
        },
    ]
    if CONFIG_MODELS[kind] is not VideoCameraConfig:  # docs/gateways.md
        keys += [
            {
                "key": key,
                "type": "object",
                "default": None,
                "min": None,
                "max": None,
                "description": description,
            }
            for key, description in _GATEWAY_KEYS
        ]
    for f in fields(defaults) if spec.telemetry else ():  # no rules judge a silent kind
        low, high = BOUNDS[f.name]
        keys.append(
            {
                "key": f"rules.{f.name}",
                "type": "number",
                "default": getattr(defaults, f.name),
                "min": low,
                "max": high,
                "description": "rule threshold; see docs/rules.md",
            }
        )
    if kind is Kind.THERMAL_CAMERA:
        thermal = ThermalConfig()
        for f in fields(thermal):
            keys.append(
                {
                    "key": f"thermal.{f.name}",
                    "type": "number",
                    "default": getattr(thermal, f.name),
                    "min": None,
                    "max": None,
                    "description": "camera analysis; checked against the other thermal "
                    "values (e.g. alarm_c above prealarm_c)",
                }
            )
        keys.append(
            {
                "key": "covers",
                "type": "array of building ids",
                "default": [],
                "min": None,
                "max": None,
                "description": "the buildings this camera watches, for correlation",
            }
        )
    if kind in (Kind.THERMAL_CAMERA, Kind.VIDEO_CAMERA):
        keys.extend(_view_keys(kind))
    return {
        "kind": kind.value,
        "telemetry": spec.telemetry,
        "heartbeat_s": spec.heartbeat_s,
        "metrics": sorted(spec.metrics),
        "events": sorted(spec.events),
        "frames": spec.frames,
        "config": keys,
    }


def _view_keys(kind: Kind) -> list[dict[str, Any]]:
    """A camera's keys for video linkage, the same for both kinds but the default range."""
    unset: dict[str, Any] = {"default": None, "min": None, "max": None}
    return [
        {
            "key": "stream",
            "type": "string",
            **unset,
            "description": "the address to open (rtsp://, or http(s):// for HLS or a web "
            "player), a template that may name {camera}, {channel} and {preset}; no login",
        },
        {
            "key": "presets",
            "type": "array of {name, number, buildings}",
            **unset,
            "max": PRESETS_MAX,
            "description": "positions the camera moves to by the vendor's number "
            f"(1..{PRESET_NUMBER_MAX}), each with the buildings it shows",
        },
        {
            "key": "ptz",
            "type": "object {driver: isapi, url, channel}",
            **unset,
            "description": "its HTTP API, to move it to a preset; the login is set apart with "
            "PUT /api/v1/cameras/<id>/credentials",
        },
        {
            "key": "range_m",
            "type": "number",
            "default": DEFAULT_RANGE_M[kind],
            "min": RANGE_M[0],
            "max": RANGE_M[1],
            "description": "how far it sees: an incident within it lists the camera",
        },
    ]
