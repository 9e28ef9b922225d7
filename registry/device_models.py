"""Device models for mapped MQTT: the registry's schemas and operations.

A model is checked twice over: pydantic gives each field its type (and the OpenAPI its
schema), then ``contract.mapping.parse_model`` (the same parse ingest applies to the stored
row) checks what relates fields: a metric or event the model's kind has, a topic with
``{device}`` once, a path of the syntax, a time zone that exists. Like the other registry
operations, each runs in the caller's transaction and audits what a person changed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

import psycopg
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from contract.kinds import Kind
from contract.mapping import EVENTS_MAX, METRICS_MAX, ModelError, parse_model
from contract.text import Text
from registry.errors import Conflict, Invalid, NotFound
from registry.schemas import Page
from store import device_models as rows
from store.audit import Actor, audit_of, record

MODEL_NAME = r"^[A-Za-z0-9_.-]{1,64}$"
_SHOWN_DEVICES = 20
_STRICT = ConfigDict(extra="forbid", allow_inf_nan=False)
Path = Annotated[Text, Field(min_length=1, max_length=520, examples=["ENERGY.Power"])]
Number = StrictInt | StrictFloat

ZIGBEE2MQTT_SMOKE: dict[str, Any] = {
    "name": "zigbee2mqtt-smoke",
    "kind": "smoke",
    "topic": "zigbee2mqtt/{device}",
    "metrics": [{"path": "battery", "metric": "battery_pct"}],
    "events": [
        {"path": "smoke", "equals": True, "event": "alarm"},
        {"path": "smoke", "equals": False, "event": "alarm_cleared"},
        {"path": "tamper", "equals": True, "event": "tamper"},
    ],
    "description": "Zigbee smoke sensor through Zigbee2MQTT",
}


class TimeSpec(BaseModel):
    """Where the message's own time is. A time without an offset is read in ``zone``; a
    number counts ``unit`` from the epoch."""

    model_config = _STRICT

    path: Path
    zone: Annotated[Text, Field(min_length=1, max_length=64)] = "UTC"
    unit: Literal["s", "ms"] = "s"
    optional: StrictBool = Field(
        default=False, description="Use the arrival time when the message has no time."
    )


class MetricSpec(BaseModel):
    """A number at ``path`` is ``metric``, after ``value * scale + offset``."""

    model_config = _STRICT

    path: Path
    metric: Annotated[Text, Field(min_length=1, max_length=64, examples=["voltage_v"])]
    scale: Number = 1.0
    offset: Number = 0.0
    optional: StrictBool = Field(
        default=False, description="A message without it is fine; else it is dead-lettered."
    )


class EventSpec(BaseModel):
    """When the value at ``path`` equals ``equals`` (a boolean matches only a boolean), the
    device sent ``event``."""

    model_config = _STRICT

    path: Path
    equals: StrictBool | StrictInt | StrictFloat | Annotated[Text, Field(max_length=64)]
    event: Annotated[Text, Field(min_length=1, max_length=64, examples=["alarm"])]
    optional: StrictBool = False


class DeviceModelCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", allow_inf_nan=False, json_schema_extra={"examples": [ZIGBEE2MQTT_SMOKE]}
    )

    name: str = Field(pattern=MODEL_NAME)
    kind: Kind
    topic: Annotated[
        Text,
        Field(
            min_length=1,
            max_length=256,
            description="The topic its devices publish on; {device} is one level naming the "
            "device (its config.mqtt.topic).",
            examples=["zigbee2mqtt/{device}", "tele/{device}/SENSOR"],
        ),
    ]
    time: TimeSpec | None = None
    metrics: Annotated[list[MetricSpec], Field(max_length=METRICS_MAX)] = []
    events: Annotated[list[EventSpec], Field(max_length=EVENTS_MAX)] = []
    description: Annotated[Text, Field(max_length=500)] | None = None


class DeviceModelUpdate(BaseModel):
    """Only the fields sent change; the model is checked whole again."""

    model_config = ConfigDict(
        extra="forbid",
        allow_inf_nan=False,
        json_schema_extra={"examples": [{"description": "Heiman HS1SA through Zigbee2MQTT"}]},
    )

    kind: Kind | None = None
    topic: Annotated[Text, Field(min_length=1, max_length=256)] | None = None
    time: TimeSpec | None = None
    metrics: Annotated[list[MetricSpec], Field(max_length=METRICS_MAX)] | None = None
    events: Annotated[list[EventSpec], Field(max_length=EVENTS_MAX)] | None = None
    description: Annotated[Text, Field(max_length=500)] | None = None


class DeviceModelRead(BaseModel):
    name: str
    kind: Kind
    topic: str
    subscription: str = Field(description="The MQTT filter ingest subscribes to for it.")
    time: TimeSpec | None
    metrics: list[MetricSpec]
    events: list[EventSpec]
    description: str | None
    device_count: int = Field(description="Devices naming it, decommissioned ones excepted.")
    created_at: datetime
    updated_at: datetime


DeviceModelPage = Page[DeviceModelRead]


def _no_model(name: str) -> NotFound:
    return NotFound(f"no device model {name!r}; GET /api/v1/device-models lists them")


def _checked(document: dict[str, Any]) -> str:
    """The model's MQTT subscription; Invalid naming the field the contract refuses."""
    try:
        return parse_model(document).topic.subscription
    except ModelError as exc:
        value: Any = document
        for key in exc.loc:
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                value = None
        raise Invalid(exc.loc, exc.reason, value) from None


def _view(row: dict[str, Any]) -> dict[str, Any]:
    mapping = row["mapping"]
    document = {"name": row["name"], "kind": row["kind"], "topic": row["topic"], **mapping}
    try:
        subscription = parse_model(document).topic.subscription
    except ModelError:  # a row written around the registry; shown so it can be fixed
        subscription = ""
    return {
        **{k: row[k] for k in ("name", "kind", "topic", "description", "device_count")},
        "subscription": subscription,
        "time": mapping.get("time"),
        "metrics": mapping.get("metrics", []),
        "events": mapping.get("events", []),
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
    }


def _mapping(document: dict[str, Any]) -> dict[str, Any]:
    return {k: document[k] for k in ("time", "metrics", "events")}


async def list_models(
    conn: psycopg.AsyncConnection[Any], *, limit: int, offset: int
) -> dict[str, Any]:
    """The shape of ``DeviceModelPage``."""
    items, total = await rows.list_models(conn, limit=limit, offset=offset)
    return {"items": [_view(r) for r in items], "total": total, "limit": limit, "offset": offset}


async def get_model(conn: psycopg.AsyncConnection[Any], name: str) -> dict[str, Any]:
    row = await rows.get_model(conn, name)
    if row is None:
        raise _no_model(name)
    return _view(row)


async def create_model(
    conn: psycopg.AsyncConnection[Any], body: DeviceModelCreate, *, actor: Actor
) -> dict[str, Any]:
    document = body.model_dump(mode="json")
    _checked(document)
    try:
        row = await rows.create_model(
            conn,
            name=body.name,
            kind=body.kind.value,
            topic=body.topic,
            mapping=_mapping(document),
            description=body.description,
        )
    except rows.ModelExists:
        raise Conflict(f"device model {body.name!r} exists; PATCH it instead") from None
    await record(conn, actor, subject_type="device_model", subject_id=body.name, action="create")
    return _view(row)


async def update_model(
    conn: psycopg.AsyncConnection[Any], name: str, body: DeviceModelUpdate, *, actor: Actor
) -> dict[str, Any]:
    """Conflict when the kind would no longer be its devices' kind."""
    current = await rows.get_model(conn, name, lock=True)
    if current is None:
        raise _no_model(name)
    changes = body.model_dump(mode="json", exclude_unset=True)
    before = {
        "name": name,
        "kind": current["kind"],
        "topic": current["topic"],
        "description": current["description"],
        "time": None,
        "metrics": [],
        "events": [],
        **current["mapping"],
    }
    for key in ("kind", "topic", "metrics", "events"):
        if key in changes and changes[key] is None:
            raise Invalid((key,), f"{key} cannot be null; send the value it should have", None)
    document = {**before, **changes}
    _checked(document)
    if document["kind"] != current["kind"]:
        others = [
            d
            for d, kind in await rows.devices_of_model(conn, name, limit=_SHOWN_DEVICES)
            if kind != document["kind"]
        ]
        if others:
            raise Conflict(
                f"devices {', '.join(others)} of model {name!r} are {current['kind']} devices; "
                "give them another model first"
            )
    row = await rows.replace_model(
        conn,
        name=name,
        kind=document["kind"],
        topic=document["topic"],
        mapping=_mapping(document),
        description=document["description"],
    )
    assert row is not None
    changed = {k: [before[k], v] for k, v in changes.items() if before[k] != v}
    if changed:
        await record(
            conn,
            actor,
            subject_type="device_model",
            subject_id=name,
            action="update",
            detail=changed,
        )
    return _view(row)


async def delete_model(conn: psycopg.AsyncConnection[Any], name: str, *, actor: Actor) -> None:
    """Conflict while devices still name it: their messages would have no model."""
    if await rows.get_model(conn, name, lock=True) is None:
        raise _no_model(name)
    users = await rows.devices_of_model(conn, name, limit=_SHOWN_DEVICES)
    if users:
        raise Conflict(
            f"devices {', '.join(d for d, _ in users)} name model {name!r} in config.mqtt; "
            "give them another model or decommission them first"
        )
    await rows.delete_model(conn, name)
    await record(conn, actor, subject_type="device_model", subject_id=name, action="delete")


async def check_model_of(
    conn: psycopg.AsyncConnection[Any], kind: Kind, config: dict[str, Any]
) -> None:
    """A device's ``config.mqtt`` names a registered model of the device's kind: Invalid
    otherwise, so a typo is a 422 rather than messages that never arrive."""
    link = config.get("mqtt")
    if not isinstance(link, dict):
        return
    name = str(link.get("model"))
    row = await rows.get_model(conn, name)
    if row is None:
        raise Invalid(
            ("config", "mqtt", "model"),
            f"no device model {name!r}; GET /api/v1/device-models lists them",
            name,
        )
    if row["kind"] != kind.value:
        raise Invalid(
            ("config", "mqtt", "model"),
            f"model {name!r} maps {row['kind']} devices, not {kind.value}",
            name,
        )


async def model_audit(
    conn: psycopg.AsyncConnection[Any], name: str, *, limit: int
) -> list[dict[str, Any]]:
    """Who changed the model, newest first; a deleted model's history is kept."""
    return await audit_of(conn, subject_type="device_model", subject_id=name, limit=limit)
