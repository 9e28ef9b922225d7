"""An import from parsed file to committed registry, shared by the API and the console script.

All or nothing: any row error and nothing is written. A dry run performs the same writes in a
savepoint it rolls back, so its counts of created and updated rows are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from api.device_import import ImportDocument, buildings_referenced, check, device_ids
from api.registry_schemas import CredentialRead, ImportReport
from store.audit import Actor, record_many
from store.buildings import known_buildings
from store.credentials import issue_credentials
from store.devices import existing_devices
from store.registry_bulk import (
    Upserted,
    upsert_buildings_bulk,
    upsert_devices_bulk,
    upsert_zones_bulk,
)

CHUNK = 1000

# (phase, done, total): for a progress bar.
Progress = Callable[[str, int, int], None]


async def import_registry(
    conn: psycopg.AsyncConnection[Any],
    document: ImportDocument,
    *,
    status: str,
    dry_run: bool,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Runs inside the caller's transaction; ``status`` is what new devices start as."""
    total = len(document.devices)
    existing = await existing_devices(conn, device_ids(document))
    known = await known_buildings(conn, buildings_referenced(document))
    checked = check(
        document,
        existing=existing,
        known_buildings=known,
        progress=(lambda n: progress("check", n, total)) if progress else None,
    )
    report = ImportReport(
        dry_run=dry_run,
        ok=not checked.errors,
        created=[],
        updated=[],
        unchanged=0,
        buildings_created=0,
        buildings_updated=0,
        zones_written=0,
        errors=checked.errors,
        credentials=[],
    )
    if checked.errors:
        return report
    async with conn.transaction(force_rollback=dry_run):
        zones = await upsert_zones_bulk(conn, checked.zones)
        buildings = await upsert_buildings_bulk(conn, checked.buildings)
        devices = Upserted()
        for start in range(0, len(checked.devices), CHUNK):
            chunk = await upsert_devices_bulk(
                conn, checked.devices[start : start + CHUNK], status=status
            )
            devices.created += chunk.created
            devices.updated += chunk.updated
            if progress is not None:
                progress("write", min(start + CHUNK, total), total)
        if not dry_run:
            passwords = await issue_credentials(conn, devices.created)
            report.credentials = [
                CredentialRead(device_id=i, mqtt_password=p) for i, p in passwords.items()
            ]
            await _audit(
                conn, actor, zones=zones, buildings=buildings, devices=devices, status=status
            )
    report.created, report.updated = sorted(devices.created), sorted(devices.updated)
    report.unchanged = total - len(devices.created) - len(devices.updated)
    report.buildings_created = len(buildings.created)
    report.buildings_updated = len(buildings.updated)
    report.zones_written = len(zones.created) + len(zones.updated)
    return report


async def _audit(
    conn: psycopg.AsyncConnection[Any],
    actor: Actor,
    *,
    zones: Upserted,
    buildings: Upserted,
    devices: Upserted,
    status: str,
) -> None:
    for subject_type, done in (("zone", zones), ("building", buildings)):
        await record_many(
            conn,
            actor,
            subject_type=subject_type,
            entries=[
                *((i, "import_create", {}) for i in done.created),
                *((i, "import_update", {}) for i in done.updated),
            ],
        )
    await record_many(
        conn,
        actor,
        subject_type="device",
        entries=[
            *((i, "import_create", {"status": status}) for i in devices.created),
            *((i, "import_update", {}) for i in devices.updated),
        ],
    )
