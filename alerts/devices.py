"""What the engine knows of a device: taken from the registry, never from the device's messages."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from alerts.config import ConfigError, RuleConfig, rule_config
from alerts.thermal import ThermalConfig
from contract.kinds import KIND_SPECS, Kind

# Registry statuses whose alerts are recorded but never dispatched to operators.
SUPPRESSING_STATUSES = frozenset({"maintenance", "commissioning"})
_DEFAULT_THERMAL = ThermalConfig()
_THERMAL_FIELDS = frozenset(f.name for f in fields(ThermalConfig))


@dataclass(kw_only=True, frozen=True, slots=True)
class DeviceInfo:
    id: str
    kind: Kind
    site: str
    building: str | None = None
    status: str = "active"
    heartbeat_s: int = 0  # 0: the kind's interval
    rules: RuleConfig = field(default_factory=RuleConfig)
    thermal: ThermalConfig = field(default_factory=ThermalConfig)
    covers: tuple[str, ...] = ()  # buildings a camera watches, for correlation
    floor: int | None = None
    room: str | None = None

    @property
    def heartbeat(self) -> int:
        return self.heartbeat_s or KIND_SPECS[self.kind].heartbeat_s

    @property
    def place(self) -> tuple[str, ...] | None:
        """Whose readings corroborate this device's (alerts.metric_rules.heat): the devices on
        its floor of its building, else in its room, else in its building; None without one."""
        if self.building is None:
            return None
        if self.floor is not None:
            return (self.building, "floor", str(self.floor))
        if self.room:
            return (self.building, "room", self.room)
        return (self.building,)


def device_info(
    *,
    device_id: str,
    kind: Kind,
    site: str,
    building: str | None = None,
    status: str = "active",
    heartbeat_s: int = 0,
    config: dict[str, Any] | None = None,
    floor: int | None = None,
    room: str | None = None,
) -> DeviceInfo:
    """Validates the device's ``config`` (``rules``, ``thermal``, ``covers``); raises
    ConfigError naming the field, so the registry can refuse a bad override with a 422."""
    config = config or {}
    rules = rule_config(kind, config.get("rules"))
    thermal_overrides = config.get("thermal") or {}
    if not isinstance(thermal_overrides, dict):
        raise ConfigError(
            "thermal", "must be an object of threshold names to numbers", path="thermal"
        )
    try:
        # Devices without overrides share one instance: a city has many thousands of them.
        thermal = ThermalConfig(**thermal_overrides) if thermal_overrides else _DEFAULT_THERMAL
    except TypeError as exc:
        raise ConfigError("thermal", f"unknown threshold ({exc})", path="thermal") from None
    except ValueError as exc:
        # ThermalConfig's messages begin with the threshold's name ("alarm_c must be ...").
        name = str(exc).split(" ", 1)[0]
        path = f"thermal.{name}" if name in _THERMAL_FIELDS else "thermal"
        raise ConfigError("thermal", str(exc), path=path) from None
    covers = config.get("covers") or []
    if not isinstance(covers, list) or not all(isinstance(b, str) for b in covers):
        raise ConfigError("covers", "must be a list of building ids", path="covers")
    return DeviceInfo(
        id=device_id,
        kind=kind,
        site=site,
        building=building,
        status=status,
        heartbeat_s=heartbeat_s,
        rules=rules,
        thermal=thermal,
        covers=tuple(covers),
        floor=floor,
        room=room,
    )
