"""The registry's operations, for the API, the console script, the demo, the simulators and the
benchmarks alike: each runs in the caller's connection and transaction and never commits (the
request or the command owns the transaction), and refuses with ``registry.errors``.

The exceptions say so: ``import_document`` and ``import_at`` commit a whole document for the
demo, the simulators and the benchmarks, which have no request around them.
"""

from __future__ import annotations

from typing import Any

import orjson
import psycopg

from contract.kinds import KIND_SPECS, Kind
from registry.device_import import ImportDocument, media_type_of, parse
from registry.device_models import check_model_of
from registry.device_status import change_status
from registry.errors import Conflict, Invalid, NotFound
from registry.import_files import ImportFormatError
from registry.import_service import import_registry
from registry.lifecycle import IllegalTransition
from registry.registration import check_places, checked_config, register
from registry.schemas import (
    BuildingCreate,
    BuildingUpdate,
    DeviceCreate,
    DeviceUpdate,
    ImportReport,
    PendingRegister,
    Replacement,
    RowError,
    StatusChange,
    ZoneWrite,
)
from store import buildings as building_rows
from store import devices as device_rows
from store import pending as pending_rows
from store.audit import SYSTEM, Actor, audit_of, record
from store.database import connect_async
from store.device_lifecycle import UnknownDevice
from store.registry_bulk import export_registry

_PAYLOAD_SHOWN = 1024


def _no_device(device_id: str) -> NotFound:
    return NotFound(
        f"no device {device_id!r}; GET /api/v1/devices?q=... finds one by part of its id"
    )


# Devices.


async def list_devices(
    conn: psycopg.AsyncConnection[Any],
    f: device_rows.DeviceFilter,
    *,
    sort: str,
    limit: int,
    offset: int,
) -> dict[str, Any]:
    """One page of devices with the total: the shape of ``DevicePage``."""
    items, total = await device_rows.list_devices(conn, f, sort=sort, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def get_device(
    conn: psycopg.AsyncConnection[Any], device_id: str, *, lock: bool = False
) -> dict[str, Any]:
    """Raises NotFound."""
    device = await device_rows.get_device(conn, device_id, lock=lock)
    if device is None:
        raise _no_device(device_id)
    return device


async def register_device(
    conn: psycopg.AsyncConnection[Any], body: DeviceCreate, *, status: str, actor: Actor
) -> dict[str, Any]:
    """The new device with its broker password (shown once); Conflict if the id is taken."""
    try:
        return await register(conn, body.model_dump(), status=status, actor=actor)
    except device_rows.DeviceExists:
        raise Conflict(
            f"device {body.id!r} is already registered; PATCH it, or replace it"
        ) from None


async def update_device(
    conn: psycopg.AsyncConnection[Any], device_id: str, body: DeviceUpdate, *, actor: Actor
) -> dict[str, Any]:
    """Changes only the fields sent (``null`` heartbeat: the kind's) and audits each changed
    field's old and new value."""
    changes = body.model_dump(exclude_unset=True)
    current = await get_device(conn, device_id, lock=True)
    if current["status"] == "decommissioned":
        raise Conflict("a decommissioned device is kept as it was")
    kind = Kind(current["kind"])
    if "heartbeat_s" in changes and changes["heartbeat_s"] is None:
        changes["heartbeat_s"] = KIND_SPECS[kind].heartbeat_s
    if "config" in changes:
        changes["config"] = checked_config(kind, changes["config"] or {})
        await check_model_of(conn, kind, changes["config"])
    await check_places(conn, building=changes.get("building"), config=changes.get("config") or {})
    changed = {k: [current[k], v] for k, v in changes.items() if current[k] != v}
    device = await device_rows.update_device(conn, device_id, {k: changes[k] for k in changed})
    if changed:
        await record(
            conn,
            actor,
            subject_type="device",
            subject_id=device_id,
            action="update",
            detail=changed,
        )
    assert device is not None
    return device


async def decommission(
    conn: psycopg.AsyncConnection[Any], device_id: str, *, actor: Actor, reason: str | None
) -> dict[str, Any]:
    """Idempotent: a device already decommissioned is returned as it is."""
    current = await get_device(conn, device_id, lock=True)
    if current["status"] != "decommissioned":
        await change_status(conn, device_id, "decommissioned", actor=actor, reason=reason)
    return await get_device(conn, device_id)


async def set_status(
    conn: psycopg.AsyncConnection[Any], device_id: str, change: StatusChange, *, actor: Actor
) -> dict[str, Any]:
    """NotFound, or Conflict naming what the lifecycle would allow."""
    try:
        await change_status(
            conn,
            device_id,
            change.status.value,
            actor=actor,
            reason=change.reason,
            until=change.until,
        )
    except UnknownDevice:
        raise _no_device(device_id) from None
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from None
    return await get_device(conn, device_id)


async def replace(
    conn: psycopg.AsyncConnection[Any], device_id: str, body: Replacement, *, actor: Actor
) -> dict[str, Any]:
    """The new device at the old one's place, the old one decommissioned and both linked: the
    shape of ``Replaced``."""
    old = await get_device(conn, device_id, lock=True)
    if old["status"] == "decommissioned":
        successor = f" (replaced by {old['replaced_by']})" if old["replaced_by"] else ""
        raise Conflict(f"{device_id!r} is decommissioned already{successor}")
    kind = body.kind or Kind(old["kind"])
    same_kind = kind.value == old["kind"]
    config = body.config if body.config is not None else (old["config"] if same_kind else {})
    fields = {
        "id": body.new_id,
        "kind": kind,
        "site": old["site"],
        "name": body.name or old["name"],
        "building": old["building"],
        "floor": old["floor"],
        "room": old["room"],
        "lat": old["lat"],
        "lon": old["lon"],
        "zone": old["zone"],
        "heartbeat_s": body.heartbeat_s or (old["heartbeat_s"] if same_kind else None),
        "config": checked_config(kind, config),
        "replaces": device_id,
    }
    if body.config is not None:  # the place is inherited, a new camera's coverage is not
        await check_places(conn, building=None, config=fields["config"])
    try:
        new = await register(
            conn,
            fields,
            status=body.status.value,
            actor=actor,
            detail={"replaces": device_id},
            check_place=False,
        )
    except device_rows.DeviceExists:
        raise Conflict(f"device {body.new_id!r} is already registered") from None
    await change_status(
        conn,
        device_id,
        "decommissioned",
        actor=actor,
        reason=body.reason or f"replaced by {body.new_id}",
        replaced_by=body.new_id,
    )
    return {"old": await get_device(conn, device_id), "new": new}


async def device_audit(
    conn: psycopg.AsyncConnection[Any], device_id: str, *, limit: int
) -> list[dict[str, Any]]:
    """Who changed the device, newest first; NotFound for an unknown id."""
    await get_device(conn, device_id)
    return await audit_of(conn, subject_type="device", subject_id=device_id, limit=limit)


# Devices heard from but not registered.


def _pending_view(row: dict[str, Any]) -> dict[str, Any]:
    parts = row["last_topic"].split("/")
    payload = bytes(row["last_payload"][:_PAYLOAD_SHOWN])
    return {
        **row,
        "site": parts[2] if len(parts) > 2 else None,
        "last_payload": payload.decode("utf-8", errors="replace").replace("\x00", "\ufffd"),
    }


def _not_pending(device_id: str) -> NotFound:
    return NotFound(
        f"no unregistered messages from {device_id!r}; register a device that has not spoken "
        "yet with POST /api/v1/devices"
    )


async def list_pending(
    conn: psycopg.AsyncConnection[Any], *, limit: int, offset: int
) -> dict[str, Any]:
    """The shape of ``PendingPage``: each row's site from its topic, its payload as text."""
    rows, total = await pending_rows.list_pending(conn, limit=limit, offset=offset)
    return {
        "items": [_pending_view(r) for r in rows],
        "total": total,
        "limit": limit,
        "offset": offset,
    }


async def register_pending(
    conn: psycopg.AsyncConnection[Any], device_id: str, body: PendingRegister, *, actor: Actor
) -> dict[str, Any]:
    """Registers an id heard from; its site, unless given, is the one its topic named."""
    pending = await pending_rows.get_pending(conn, device_id)
    if pending is None:
        raise _not_pending(device_id)
    fields = body.model_dump(exclude={"status"})
    fields["id"] = device_id
    # Ingest parsed the id out of fw/v1/{site}/{id}/..., so the topic names a site.
    fields["site"] = body.site or _pending_view(pending)["site"]
    try:
        return await register(
            conn,
            fields,
            status=body.status.value,
            actor=actor,
            detail={"from_pending": pending["count"]},
        )
    except device_rows.DeviceExists:
        raise Conflict(f"device {device_id!r} is already registered") from None


async def dismiss_pending(
    conn: psycopg.AsyncConnection[Any], device_id: str, *, actor: Actor
) -> None:
    if not await pending_rows.forget_pending(conn, device_id):
        raise _not_pending(device_id)
    await record(conn, actor, subject_type="device", subject_id=device_id, action="dismiss_pending")


# Buildings and zones.


def _no_building(building_id: str) -> NotFound:
    return NotFound(f"no building {building_id!r}; GET /api/v1/buildings lists them")


async def create_building(
    conn: psycopg.AsyncConnection[Any], body: BuildingCreate, *, actor: Actor
) -> dict[str, Any]:
    try:
        building = await building_rows.create_building(conn, body.model_dump())
    except building_rows.BuildingExists:
        raise Conflict(f"building {body.id!r} exists; PATCH it instead") from None
    await record(conn, actor, subject_type="building", subject_id=body.id, action="create")
    return building


async def list_buildings(
    conn: psycopg.AsyncConnection[Any], *, zone: str | None, limit: int, offset: int
) -> dict[str, Any]:
    """The shape of ``BuildingPage``."""
    items, total = await building_rows.list_buildings(conn, zone=zone, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


async def get_building(conn: psycopg.AsyncConnection[Any], building_id: str) -> dict[str, Any]:
    building = await building_rows.get_building(conn, building_id)
    if building is None:
        raise _no_building(building_id)
    return building


async def update_building(
    conn: psycopg.AsyncConnection[Any], building_id: str, body: BuildingUpdate, *, actor: Actor
) -> dict[str, Any]:
    """Changes only the fields sent; ``rented: null`` means not rented."""
    changes = body.model_dump(exclude_unset=True)
    if changes.get("rented", False) is None:
        changes["rented"] = False
    building = await building_rows.update_building(conn, building_id, changes)
    if building is None:
        raise _no_building(building_id)
    await record(
        conn,
        actor,
        subject_type="building",
        subject_id=building_id,
        action="update",
        detail=body.model_dump(mode="json", exclude_unset=True),
    )
    return building


async def delete_building(
    conn: psycopg.AsyncConnection[Any], building_id: str, *, actor: Actor
) -> None:
    """Conflict while a device is in it or a camera watches it."""
    try:
        removed = await building_rows.delete_building(conn, building_id)
    except building_rows.InUse as exc:
        raise Conflict(str(exc)) from None
    if not removed:
        raise _no_building(building_id)
    await record(conn, actor, subject_type="building", subject_id=building_id, action="delete")


async def list_zones(conn: psycopg.AsyncConnection[Any]) -> list[dict[str, Any]]:
    return await building_rows.list_zones(conn)


async def get_zone(conn: psycopg.AsyncConnection[Any], zone_id: str) -> dict[str, Any]:
    zone = await building_rows.get_zone(conn, zone_id)
    if zone is None:
        raise NotFound(f"no zone {zone_id!r}; PUT /api/v1/zones/{zone_id} creates it")
    return zone


async def put_zone(
    conn: psycopg.AsyncConnection[Any], zone_id: str, body: ZoneWrite, *, actor: Actor
) -> tuple[dict[str, Any], bool]:
    """The zone, and whether it is new."""
    zone, created = await building_rows.put_zone(conn, zone_id, body.model_dump())
    await record(
        conn,
        actor,
        subject_type="zone",
        subject_id=zone_id,
        action="create" if created else "update",
        detail=body.model_dump(mode="json"),
    )
    return zone, created


async def delete_zone(conn: psycopg.AsyncConnection[Any], zone_id: str, *, actor: Actor) -> None:
    if not await building_rows.delete_zone(conn, zone_id):
        raise NotFound(f"no zone {zone_id!r}")
    await record(conn, actor, subject_type="zone", subject_id=zone_id, action="delete")


# Import and export.


def read_document(
    data: bytes, *, content_type: str | None = None, filename: str | None = None
) -> ImportDocument:
    """The file's type from its content type or else its name's suffix; raises Invalid for a
    file that cannot be read at all, before any row is checked."""
    try:
        return parse(data, media_type_of(content_type, filename=filename))
    except ImportFormatError as exc:
        raise Invalid(("file",), str(exc)) from None


async def import_file(
    conn: psycopg.AsyncConnection[Any],
    data: bytes,
    *,
    content_type: str | None,
    status: str,
    dry_run: bool,
    actor: Actor,
) -> ImportReport:
    """``import_registry`` of a file's bytes; a file that cannot be read (or of a type we do
    not read) is a report with one error for the file, as a row error would be."""
    try:
        document = read_document(data, content_type=content_type)
    except Invalid as exc:
        return ImportReport(
            dry_run=dry_run,
            ok=False,
            created=[],
            updated=[],
            unchanged=0,
            buildings_created=0,
            buildings_updated=0,
            zones_written=0,
            errors=[RowError(section="file", row=0, id=None, field=None, reason=exc.message)],
            credentials=[],
        )
    return await import_registry(conn, document, status=status, dry_run=dry_run, actor=actor)


async def export(conn: psycopg.AsyncConnection[Any]) -> dict[str, list[dict[str, Any]]]:
    """Zones, buildings and every device not decommissioned, in the import format's fields."""
    return await export_registry(conn)


async def import_document(
    conn: psycopg.AsyncConnection[Any],
    document: dict[str, Any],
    *,
    status: str = "active",
    actor: Actor = SYSTEM,
) -> ImportReport:
    """Imports a registry document (``Quarter.document()``: buildings and devices) and commits
    it, as ``firewatch devices import`` would: the demo, ``simulate --register``, benchmarks
    and tests register through the same checks. Raises Invalid naming the first row error."""
    async with conn.transaction():
        report = await import_registry(
            conn, parse(orjson.dumps(document), "json"), status=status, dry_run=False, actor=actor
        )
        if not report.ok:
            e = report.errors[0]
            raise Invalid(
                (e.section, str(e.row), e.field or "-"),
                f"{len(report.errors)} row error(s), the first: {e.section} row {e.row} "
                f"({e.id}): {e.field}: {e.reason}",
            )
    return report


async def import_at(database_url: str, document: dict[str, Any]) -> ImportReport:
    """``import_document`` on a connection of its own, for a command that has only the
    database's URL."""
    async with await connect_async(database_url) as conn:
        return await import_document(conn, document)
