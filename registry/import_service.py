"""An import from parsed file to committed registry, shared by the API and the console script.

All or nothing: any row error and nothing is written. A dry run performs the same writes in a
savepoint it rolls back, so its counts of created and updated rows are exact.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg

from registry.credentials import issue_credentials
from registry.device_import import (
    CheckedImport,
    ImportDocument,
    buildings_referenced,
    check,
    device_ids,
)
from registry.schemas import CredentialRead, ImportReport, RowError
from store.audit import Actor, record_many
from store.buildings import known_buildings
from store.devices import existing_devices
from store.registry_bulk import (
    DEVICE_FIELDS,
    DeviceFieldChanges,
    Upserted,
    insert_devices_bulk,
    lock_registry_import,
    update_devices_bulk,
    upsert_buildings_bulk,
    upsert_zones_bulk,
)

CHUNK = 1000

# (phase, done, total): for a progress bar.
Progress = Callable[[str, int, int], None]


class _Skipped(Exception):
    """Rows the database refused to write although they passed the checks; rolls back."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} row(s) changed meanwhile")
        self.errors = errors


async def import_registry(
    conn: psycopg.AsyncConnection[Any],
    document: ImportDocument,
    *,
    status: str,
    dry_run: bool,
    actor: Actor,
    progress: Progress | None = None,
) -> ImportReport:
    """Runs inside the caller's transaction; ``status`` is what new devices start as.

    Imports take turns (a transaction-scoped advisory lock), and the file's registered devices
    are locked in id order before they are checked, so the checks hold until the commit and
    two imports never deadlock."""
    total = len(document.devices)
    await lock_registry_import(conn)
    existing = await existing_devices(conn, device_ids(document), fields=DEVICE_FIELDS)
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
    try:
        async with conn.transaction(force_rollback=dry_run):
            zones = await upsert_zones_bulk(conn, checked.zones)
            buildings = await upsert_buildings_bulk(conn, checked.buildings)
            created, updated = await _write_devices(conn, checked, status=status, progress=progress)
            if not dry_run:
                passwords = await issue_credentials(conn, created)
                report.credentials = [
                    CredentialRead(device_id=i, mqtt_password=p) for i, p in passwords.items()
                ]
                await _audit(
                    conn,
                    actor,
                    zones=zones,
                    buildings=buildings,
                    checked=checked,
                    status=status,
                )
    except _Skipped as exc:
        report.ok, report.errors = False, exc.errors
        return report
    report.created, report.updated = sorted(created), sorted(updated)
    report.unchanged = checked.unchanged
    report.buildings_created = len(buildings.created)
    report.buildings_updated = len(buildings.updated)
    report.zones_written = len(zones.created) + len(zones.updated)
    return report


async def _write_devices(
    conn: psycopg.AsyncConnection[Any],
    checked: CheckedImport,
    *,
    status: str,
    progress: Progress | None,
) -> tuple[list[str], list[str]]:
    """New devices, then changed ones, in id order; raises _Skipped for any the database
    refused (an id registered, or a device changed, by someone else meanwhile)."""
    new = sorted(checked.new_devices, key=lambda r: r[1]["id"])
    changed = sorted(checked.changed_devices, key=lambda c: c.id)
    total = len(new) + len(changed) + checked.unchanged
    created: list[str] = []
    for start in range(0, len(new), CHUNK):
        rows = [r for _, r in new[start : start + CHUNK]]
        created += await insert_devices_bulk(conn, rows, status=status)
        if progress is not None:
            progress("write", min(start + CHUNK, len(new)), total)
    updated = await update_devices_bulk(
        conn,
        [
            DeviceFieldChanges(c.id, c.kind, c.site, {k: v[1] for k, v in c.changes.items()})
            for c in changed
        ],
    )
    if progress is not None:
        progress("write", total, total)
    done = {*created, *updated}
    skipped = [
        RowError(
            section="devices",
            row=row,
            id=device_id,
            field="id",
            reason="registered or changed by someone else during this import; import again",
        )
        for row, device_id in [(r, d["id"]) for r, d in new] + [(c.row, c.id) for c in changed]
        if device_id not in done
    ]
    if skipped:
        raise _Skipped(sorted(skipped, key=lambda e: e.row))
    return created, updated


async def _audit(
    conn: psycopg.AsyncConnection[Any],
    actor: Actor,
    *,
    zones: Upserted,
    buildings: Upserted,
    checked: CheckedImport,
    status: str,
) -> None:
    """Devices as PATCH audits them: each changed field's old and new value."""
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
            *((d["id"], "import_create", {"status": status}) for _, d in checked.new_devices),
            *(
                (c.id, "import_update", {k: list(v) for k, v in c.changes.items()})
                for c in checked.changed_devices
            ),
        ],
    )
