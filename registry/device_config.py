"""A device's ``config``, checked against its kind by the engine's own validation.

The bounds live in ``alerts.config`` and ``alerts.thermal``; this module only walks the
document, so a registry override can never pass here and fail in the engine.
"""

from __future__ import annotations

import math
from dataclasses import fields
from typing import Any

import orjson

from alerts.config import BOUNDS, KIND_DEFAULTS, ConfigError
from alerts.devices import device_info
from alerts.thermal import ThermalConfig
from contract.kinds import KIND_SPECS, Kind

CONFIG_MAX_BYTES = 16 * 1024
_THERMAL_FIELDS = frozenset(f.name for f in fields(ThermalConfig))
_CAMERA_ONLY = ("thermal", "covers")
CONFIG_KEYS = ("model", "rules", "thermal", "covers")


class ConfigFieldError(ValueError):
    """``path`` names the offending key, e.g. ``rules.fixed_c`` or ``thermal.alarm_c``."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = path, reason


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
    for key in config:
        if key not in CONFIG_KEYS:
            raise ConfigFieldError(
                key, f"unknown key; a device's config may hold {', '.join(CONFIG_KEYS)}"
            )
        if key in _CAMERA_ONLY and kind is not Kind.THERMAL_CAMERA:
            raise ConfigFieldError(key, f"only thermal cameras have {key!r}, not {kind}")
    model = config.get("model")
    if model is not None and not (isinstance(model, str) and 1 <= len(model) <= 64):
        raise ConfigFieldError("model", "must be a string of 1..64 characters")
    thermal = config.get("thermal")
    if isinstance(thermal, dict):
        for name, value in thermal.items():
            if name not in _THERMAL_FIELDS:
                raise ConfigFieldError(
                    f"thermal.{name}",
                    "unknown threshold; known: " + ", ".join(sorted(_THERMAL_FIELDS)),
                )
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigFieldError(f"thermal.{name}", "must be a number")
    try:
        device_info(device_id="-", kind=kind, site="-", config=config)
    except ConfigError as exc:
        raise _located(exc) from None


def _finite(value: Any) -> bool:
    """orjson writes NaN as null, so a non-finite number must be found before it is stored."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


def _located(exc: ConfigError) -> ConfigFieldError:
    reason = str(exc).split(": ", 1)[-1]
    if exc.field == "thermal":
        first = reason.split(" ", 1)[0]
        return ConfigFieldError(
            f"thermal.{first}" if first in _THERMAL_FIELDS else "thermal", reason
        )
    if exc.field in ("covers", "rules"):
        return ConfigFieldError(exc.field, reason)
    return ConfigFieldError(f"rules.{exc.field}", reason)


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
