"""The registry's import format, CSV and JSON, parsed and checked without the database.

JSON is what ``firewatch simulate topology`` writes: ``{"zones": [...], "buildings": [...],
"devices": [...]}`` (zones and buildings optional), or a bare list of devices. CSV holds
devices only, one per line, with the same field names as its header; ``config`` is a JSON
object in its cell. The API's import and ``firewatch devices import`` both use this module,
so a file that passes one passes the other.

An import changes only what a row gives: for a registered device, a JSON key left out or an
empty CSV cell keeps the current value; JSON ``null`` or the CSV cell ``-`` clears it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from contract.kinds import KIND_SPECS
from contract.text import is_clean
from registry.device_config import named_buildings
from registry.import_files import BadCells, ImportFormatError, csv_lines, json_document
from registry.schemas import PLACE_ID, BuildingCreate, DeviceCreate, RowError, Section, ZoneWrite
from store.registry_bulk import BUILDING_FIELDS, DEVICE_FIELDS, ZONE_FIELDS

MAX_IMPORT_BYTES = 32 * 1024 * 1024
MAX_ROWS = 100_000
_SECTIONS = ("zones", "buildings", "devices")
# A CSV cell holding only this clears the field (an empty cell keeps it).
CLEAR = "-"
# A text cell behind a leading quote is taken exactly as it stands: the export writes so the
# cells a spreadsheet would run as a formula, and those the import would otherwise trim or
# read as an escape themselves.
_FORMULA_START = ("=", "+", "-", "@")
_QUOTE = "'"
_TEXT_FIELDS = frozenset({"id", "site", "name", "building", "room", "zone"})
# Fixed for a registered device: a change is refused, not applied.
_FIXED_FIELDS = ("id", "kind", "site")


class ZoneRow(ZoneWrite):
    model_config = ConfigDict(extra="forbid")

    id: str = Field(pattern=PLACE_ID)


@dataclass(slots=True)
class ImportDocument:
    """Raw rows with their row numbers, per section."""

    zones: list[tuple[int, Any]] = field(default_factory=list)
    buildings: list[tuple[int, Any]] = field(default_factory=list)
    devices: list[tuple[int, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DeviceChange:
    """A registered device's fields that the file changes: name -> (old, new)."""

    row: int
    id: str
    kind: str
    site: str
    changes: dict[str, tuple[Any, Any]]


@dataclass(kw_only=True, slots=True)
class CheckedImport:
    zones: list[dict[str, Any]] = field(default_factory=list)
    buildings: list[dict[str, Any]] = field(default_factory=list)
    # New devices, every DEVICE_FIELD filled in, with their row numbers.
    new_devices: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    changed_devices: list[DeviceChange] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)


def media_type_of(content_type: str | None, *, filename: str | None = None) -> str:
    """'csv' or 'json', from a Content-Type or else a file name's suffix."""
    value = (content_type or "").split(";")[0].strip().lower()
    if value in ("text/csv", "application/csv"):
        return "csv"
    if value == "application/json" or value.endswith("+json"):
        return "json"
    if not value and filename:
        if filename.lower().endswith(".csv"):
            return "csv"
        if filename.lower().endswith(".json"):
            return "json"
    raise ImportFormatError(
        f"cannot import {value or 'a file of unknown type'}: send text/csv or application/json"
    )


def parse(data: bytes, media_type: str) -> ImportDocument:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFormatError(f"larger than {MAX_IMPORT_BYTES // 2**20} MiB; split the file")
    document = _parse_csv(data) if media_type == "csv" else _parse_json(data)
    if len(document.devices) + len(document.buildings) + len(document.zones) > MAX_ROWS:
        raise ImportFormatError(f"more than {MAX_ROWS:,} rows; split the file")
    return document


def _parse_json(data: bytes) -> ImportDocument:
    parsed = json_document(data)
    if isinstance(parsed, list):
        parsed = {"devices": parsed}
    if not isinstance(parsed, dict):
        raise ImportFormatError(
            "JSON must be an object with 'devices' (and optionally "
            "'buildings', 'zones'), or a list of devices"
        )
    unknown = sorted(set(parsed) - set(_SECTIONS))
    if unknown:
        raise ImportFormatError(
            f"unknown section {unknown[0]!r}; a file holds {', '.join(_SECTIONS)}"
        )
    document = ImportDocument()
    for section in _SECTIONS:
        rows = parsed.get(section, [])
        if not isinstance(rows, list):
            raise ImportFormatError(f"'{section}' must be a list")
        getattr(document, section).extend(enumerate(rows, start=1))
    return document


def _parse_csv(data: bytes) -> ImportDocument:
    header, lines = csv_lines(data, read_header=_device_header)
    document = ImportDocument()
    document.devices.extend((line, _csv_row(header, cells)) for line, cells in lines)
    return document


def _device_header(header: list[str]) -> list[str]:
    unknown = [h for h in header if h not in DEVICE_FIELDS]
    if unknown:
        raise ImportFormatError(
            f"unknown column {unknown[0]!r}; columns are {', '.join(DEVICE_FIELDS)}"
        )
    if len(set(header)) != len(header):
        raise ImportFormatError("a column appears twice in the header")
    missing = [c for c in ("id", "kind", "site") if c not in header]
    if missing:
        raise ImportFormatError(f"missing column {missing[0]!r}")
    return header


def _csv_row(header: list[str], cells: list[str]) -> dict[str, Any]:
    if len(cells) != len(header):
        return BadCells(reason=f"{len(cells)} cells where the header has {len(header)}")
    row: dict[str, Any] = {}
    for name, raw in zip(header, cells, strict=True):
        if name in _TEXT_FIELDS and raw.startswith(_QUOTE):
            row[name] = raw[1:]  # as exported (to_csv), so an export imports unchanged
            continue
        cell = raw.strip()
        if not cell:
            continue
        if cell == CLEAR and name not in _FIXED_FIELDS:
            row[name] = {} if name == "config" else None
        elif name == "config":
            try:
                row[name] = orjson.loads(cell)
            except orjson.JSONDecodeError:
                return BadCells(reason="config: not a JSON object", field="config")
        else:
            row[name] = cell
    return row


def _errors(section: Section, row: int, raw: Any, exc: ValidationError) -> Iterable[RowError]:
    ident = raw.get("id") if isinstance(raw, dict) else None
    for error in exc.errors(include_url=False):
        ctx = error.get("ctx") or {}
        name: str | None
        if error["type"] == "config":
            name, reason = f"config.{ctx['field']}", str(ctx["reason"])
        else:
            name, reason = ".".join(str(p) for p in error["loc"]) or None, error["msg"]
        yield RowError(
            section=section,
            row=row,
            id=_text(ident),
            field=name,
            reason=reason,
        )


def _text(value: Any) -> str | None:
    return value[:64] if isinstance(value, str) else None


def _check_rows(
    section: Section,
    rows: list[tuple[int, Any]],
    model: type[BaseModel],
    errors: list[RowError],
    progress: Callable[[int], None] | None = None,
    *,
    given_only: bool = False,
) -> list[tuple[int, dict[str, Any]]]:
    """Valid rows as dicts: every field, or (``given_only``) only the fields the row gives."""
    good: list[tuple[int, dict[str, Any]]] = []
    first_row: dict[str, int] = {}
    for done, (row, raw) in enumerate(rows, start=1):
        if progress is not None and done % 500 == 0:
            progress(done)
        if isinstance(raw, BadCells):
            errors.append(
                RowError(
                    section=section,
                    row=row,
                    id=None,
                    field=raw.get("field"),
                    reason=raw["reason"],
                )
            )
            continue
        if not isinstance(raw, dict):
            errors.append(
                RowError(
                    section=section,
                    row=row,
                    id=None,
                    field=None,
                    reason="must be an object",
                )
            )
            continue
        try:
            checked = model.model_validate(raw).model_dump(mode="json", exclude_unset=given_only)
        except ValidationError as exc:
            errors.extend(_errors(section, row, raw, exc))
            continue
        ident = checked["id"]
        if ident in first_row:
            errors.append(
                RowError(
                    section=section,
                    row=row,
                    id=ident,
                    field="id",
                    reason=f"duplicate: row {first_row[ident]} has the same id",
                )
            )
            continue
        first_row[ident] = row
        good.append((row, checked))
    return good


def check(
    document: ImportDocument,
    *,
    existing: dict[str, dict[str, Any]],
    known_buildings: set[str],
    progress: Callable[[int], None] | None = None,
) -> CheckedImport:
    """Every row against its schema, the file against itself and the registry: duplicate ids,
    unknown buildings, a kind or site that would change, a decommissioned id. ``existing`` is
    id -> the registered row (DEVICE_FIELDS and status) of the file's devices."""
    result = CheckedImport()
    errors = result.errors
    zones = _check_rows("zones", document.zones, ZoneRow, errors)
    buildings = _check_rows("buildings", document.buildings, BuildingCreate, errors)
    devices = _check_rows(
        "devices", document.devices, DeviceCreate, errors, progress, given_only=True
    )
    buildings_known = known_buildings | {b["id"] for _, b in buildings}
    result.zones = [{k: z.get(k) for k in ZONE_FIELDS} for _, z in zones]
    result.buildings = [{k: b.get(k) for k in BUILDING_FIELDS} for _, b in buildings]
    for row, device in devices:
        known = existing.get(device["id"])
        problem = _against_registry(device, known, buildings_known)
        if problem is not None:
            name, reason = problem
            errors.append(
                RowError(section="devices", row=row, id=device["id"], field=name, reason=reason)
            )
            continue
        if device.get("heartbeat_s", 0) is None:  # cleared: back to the kind's interval
            device["heartbeat_s"] = KIND_SPECS[device["kind"]].heartbeat_s
        if known is None:
            new = {k: device.get(k) for k in DEVICE_FIELDS}
            new["config"] = device.get("config") or {}
            new["heartbeat_s"] = new["heartbeat_s"] or KIND_SPECS[device["kind"]].heartbeat_s
            result.new_devices.append((row, new))
            continue
        changes = {
            k: (known[k], v) for k, v in device.items() if k not in _FIXED_FIELDS and known[k] != v
        }
        if changes:
            result.changed_devices.append(
                DeviceChange(row, device["id"], device["kind"], device["site"], changes)
            )
        else:
            result.unchanged += 1
    errors.sort(key=lambda e: (_SECTIONS.index(e.section), e.row))
    return result


def _against_registry(
    device: dict[str, Any], known: dict[str, Any] | None, buildings: set[str]
) -> tuple[str, str] | None:
    building = device.get("building")
    if known is not None:
        if known["status"] == "decommissioned":
            return "id", (
                "this id is decommissioned, which is final; register the hardware under a new id"
            )
        for fixed in ("kind", "site"):
            if known[fixed] != device[fixed]:
                return fixed, (
                    f"registered with {fixed} {known[fixed]!r}; a {fixed} never changes: "
                    "decommission it, or replace it with a new id"
                )
    # A device keeping the building it has was accepted before (perhaps before buildings were
    # a resource): an export of the registry must import again.
    moved = known is None or ("building" in device and known["building"] != building)
    if moved and building is not None and building not in buildings:
        return "building", (
            f"building {building!r} is not registered; add it to the file's "
            "buildings or POST /api/v1/buildings first"
        )
    for path, named in named_buildings(device.get("config") or {}):
        if named not in buildings:
            return f"config.{path}", f"building {named!r} is not registered"
    return None


def buildings_referenced(document: ImportDocument) -> set[str]:
    """Building ids the devices name (location, camera coverage and presets), for one
    registry query; text the database cannot take is left to the row checks to report."""
    found: set[str] = set()
    for _, raw in document.devices:
        if isinstance(raw, dict):
            if is_clean(raw.get("building")):
                found.add(raw["building"])
            config = raw.get("config")
            if isinstance(config, dict):
                found.update(b for _, b in named_buildings(config) if is_clean(b))
    return found


def device_ids(document: ImportDocument) -> set[str]:
    return {
        raw["id"]
        for _, raw in document.devices
        if isinstance(raw, dict) and is_clean(raw.get("id"))
    }


def to_csv(devices: Iterable[dict[str, Any]]) -> str:
    """Empty cells for unset fields; text a spreadsheet would run as a formula, or the import
    would trim, gets a leading quote, which the import removes again."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")  # RFC 4180; a text with \r is quoted too
    writer.writerow(DEVICE_FIELDS)
    for d in devices:
        writer.writerow([_csv_cell(k, d[k]) for k in DEVICE_FIELDS])
    return out.getvalue()


def _csv_cell(name: str, value: Any) -> Any:
    if name == "config":
        return orjson.dumps(value).decode() if value else ""
    if value is None:
        return ""
    text = str(value)
    if name in _TEXT_FIELDS and (
        text.startswith((*_FORMULA_START, _QUOTE)) or text != text.strip() or not text
    ):
        return _QUOTE + text
    return value


def to_json(document: dict[str, list[dict[str, Any]]]) -> bytes:
    """Empty optional fields are left out, as the topology writes them."""
    cleaned = {
        section: [
            {k: v for k, v in row.items() if v is not None or k in ("id", "kind", "site")}
            for row in rows
        ]
        for section, rows in document.items()
        if rows or section == "devices"
    }
    return orjson.dumps(cleaned, option=orjson.OPT_INDENT_2) + b"\n"
