"""Registering one device: its place checked, its row, its broker password and its audit entry,
in the caller's transaction. Used by POST /devices, a pending device's registration and a
replacement."""

from __future__ import annotations

from typing import Any

import psycopg

from contract.kinds import KIND_SPECS, Kind
from registry.credentials import issue_credentials
from registry.device_config import ConfigFieldError, check_config, named_buildings
from registry.device_models import check_model_of
from registry.errors import Invalid
from store.audit import Actor, record
from store.buildings import known_buildings
from store.devices import create_device


def checked_config(kind: Kind, config: dict[str, Any]) -> dict[str, Any]:
    try:
        check_config(kind, config)
    except ConfigFieldError as exc:
        raise Invalid(("config", *exc.path.split(".")), exc.reason, config) from None
    return config


async def check_places(
    conn: psycopg.AsyncConnection[Any], *, building: str | None, config: dict[str, Any]
) -> None:
    """The building and the buildings a camera covers or shows in a preset must be
    registered: correlation, the roll-ups and video linkage group by them, and a typo would
    silently split a building in two."""
    named = named_buildings(config)
    wanted = {*(b for _, b in named), *([building] if building else [])}
    known = await known_buildings(conn, wanted) if wanted else set()
    if building and building not in known:
        raise Invalid(
            ("building",),
            f"building {building!r} is not registered; create it with POST /api/v1/buildings first",
            building,
        )
    missing = [(path, b) for path, b in named if b not in known]
    if missing:
        path, unknown = missing[0]
        raise Invalid(
            ("config", *path.split(".")), f"building {unknown!r} is not registered", unknown
        )


async def register(
    conn: psycopg.AsyncConnection[Any],
    fields: dict[str, Any],
    *,
    status: str,
    actor: Actor,
    detail: dict[str, Any] | None = None,
    check_place: bool = True,
) -> dict[str, Any]:
    """Returns the device's row with ``mqtt_password``; raises DeviceExists. A replacement
    inherits a place already accepted, so it passes ``check_place=False``."""
    kind = Kind(fields["kind"])
    if check_place:
        await check_places(conn, building=fields.get("building"), config=fields.get("config") or {})
    await check_model_of(conn, kind, fields.get("config") or {})
    row_fields = {k: v for k, v in fields.items() if v is not None}
    row_fields["kind"] = kind.value
    row_fields.setdefault("heartbeat_s", KIND_SPECS[kind].heartbeat_s)
    row_fields["status"] = status
    device = await create_device(conn, row_fields)
    passwords = await issue_credentials(conn, [device["id"]])
    await record(
        conn,
        actor,
        subject_type="device",
        subject_id=device["id"],
        action="create",
        detail={"status": status, **(detail or {})},
    )
    return {**device, "mqtt_password": passwords[device["id"]]}
