"""How a device is found by the gateway that speaks for it (docs/gateways.md): its address on
a fire panel's transmission device, or its id on an NB-IoT platform. Part of the device's
config, checked when it is registered, so a gateway never meets a malformed mapping."""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Name = Annotated[str, Field(min_length=1, max_length=64)]
MAPPINGS_MAX = 64


class Gb26875Address(BaseModel):
    """A component of a panel (``system`` and ``component`` set), or the transmission device
    itself (``transmitter`` only). The transmitter's address is its 6-byte source address as
    12 hex digits, in either case: the gateway compares them case-insensitively."""

    model_config = _STRICT

    transmitter: Annotated[str, Field(pattern=r"^[0-9A-Fa-f]{12}$")]
    system: Annotated[StrictInt, Field(ge=0, le=255)] | None = Field(
        default=None, description="The building fire-facility system's address on the device."
    )
    component: Annotated[StrictInt, Field(ge=0, le=2**32 - 1)] | None = Field(
        default=None, description="The component's address in that system."
    )

    @field_validator("component")
    @classmethod
    def _needs_system(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and info.data.get("system") is None:
            raise ValueError("a component needs its system's address too")
        return value


class PlatformMapping(BaseModel):
    """A device on an NB-IoT platform: its id there, and which of its data streams (OneNET
    ``ds_id``, CTWing service fields) are which of our metrics or events."""

    model_config = _STRICT

    dev_id: Name = Field(description="The device's id on the platform.")
    streams: Annotated[dict[Name, Name], Field(max_length=MAPPINGS_MAX)] = Field(
        default_factory=dict,
        description="Platform stream or field name: our metric, or an event mapping's name.",
    )


def _topic_level(name: str) -> str:
    if not name.isprintable() or any(c in name for c in "/+#") or name.startswith("$"):
        raise PydanticCustomError(
            "topic",
            "must be one topic level: printable, without / + # and not starting with $",
        )
    return name


class MqttLink(BaseModel):
    """A device that publishes its own JSON on its own topic (mapped MQTT): its device model
    (``GET /api/v1/device-models``), what ``{device}`` stands for in the model's topic, and the
    broker login that publishes that topic ('firewatch broker sync' grants it)."""

    model_config = _STRICT

    model: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]{1,64}$")]
    topic: (
        Annotated[str, Field(min_length=1, max_length=128), AfterValidator(_topic_level)] | None
    ) = Field(default=None, description="Its name in the model's topic; default: its id.")
    login: Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")] | None = Field(
        default=None,
        description="The registered device whose broker login publishes it (a Zigbee2MQTT "
        "bridge publishes for all its devices); default: its own.",
    )
