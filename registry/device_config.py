"""A device's ``config``, checked against its kind by pydantic models built from the engine's
own tables, then by the engine itself for what relates two thresholds.

Each key's type and range come from ``alerts.config.BOUNDS`` and ``alerts.thermal``'s
``ThermalConfig``, so a registry override can never pass here and fail in the engine; the
models give each error its path (``rules.fixed_c``) and the OpenAPI its schema.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Annotated, Any

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
)
from pydantic_core import PydanticCustomError

from alerts.config import BOUNDS, KIND_DEFAULTS, ConfigError
from alerts.devices import device_info
from alerts.thermal import ThermalConfig
from contract.kinds import KIND_SPECS, Kind

CONFIG_MAX_BYTES = 16 * 1024
_THERMAL_FIELDS = frozenset(f.name for f in fields(ThermalConfig))
CONFIG_KEYS = ("model", "rules", "thermal", "covers")
_Number = StrictInt | StrictFloat


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


class CameraConfig(DeviceConfig):
    """A thermal camera's config: also its analysis' thresholds and the buildings it watches."""

    thermal: ThermalOverrides | None = None  # type: ignore[valid-type]
    covers: list[str] | None = Field(
        default=None, description="The buildings it watches, for correlation."
    )


CONFIG_MODELS: dict[Kind, type[DeviceConfig]] = {
    Kind.SMOKE: DeviceConfig,
    Kind.ELECTRICAL: DeviceConfig,
    Kind.THERMAL_CAMERA: CameraConfig,
}


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


def _located(kind: Kind, error: Any) -> ConfigFieldError:
    """The first error of a model as a path and a reason in the registry's words. A union's
    error carries its member's name at the end of ``loc``: a threshold's path stops at it."""
    loc = tuple(str(part) for part in error["loc"])
    top = loc[0]
    if error["type"] == "extra_forbidden":
        if len(loc) > 1:
            known = BOUNDS if top == "rules" else _THERMAL_FIELDS
            return ConfigFieldError(
                ".".join(loc), "unknown threshold; known: " + ", ".join(sorted(known))
            )
        if top in CONFIG_KEYS:
            return ConfigFieldError(top, f"only thermal cameras have {top!r}, not {kind}")
        return ConfigFieldError(
            top, f"unknown key; a device's config may hold {', '.join(CONFIG_KEYS)}"
        )
    if top in _REASONS:
        return ConfigFieldError(top, _REASONS[top])
    if len(loc) == 1:  # rules or thermal is not an object
        return ConfigFieldError(top, "must be an object of threshold names to numbers")
    reason = str(error["msg"]) if error["type"] == "range" else "must be a number"
    return ConfigFieldError(".".join(loc[:2]), reason)


def _finite(value: Any) -> bool:
    """orjson writes NaN as null, so a non-finite number must be found before it is stored."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


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
    for f in fields(defaults):
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
    return {
        "kind": kind.value,
        "heartbeat_s": spec.heartbeat_s,
        "metrics": sorted(spec.metrics),
        "events": sorted(spec.events),
        "frames": spec.frames,
        "config": keys,
    }
