"""The rosters' import format, CSV and JSON, for ``firewatch rosters import`` and
``POST /api/v1/rosters/import`` alike.

JSON is one object of up to four sections, each a list of rows: ``people`` (id and a person's
body), ``channels`` (id and a channel's body), ``shifts`` (zone and a shift) and
``supervisors`` (zone, level, person). A CSV holds one section, told by its header (the columns
in ``CSV_COLUMNS``); a CSV cell of channels or weekdays is a list like ``wecom-g03; sms`` or
``1-5``, a channel's config a JSON object, and an empty cell the field's default.

People and channels are created or replaced by id. The shifts of each zone the file names
replace that zone's roster; its supervisors (by level) replace its chain; zones the file does
not name keep theirs. All or nothing: any error and nothing is written, and the report names
each row, field and reason. The writes go through ``dispatch.roster_service``, so a row passes
the same checks and leaves the same audit rows as the API's own routes. A dry run makes the
writes in a savepoint and rolls them back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import psycopg
from pydantic import BaseModel, ValidationError

from dispatch import roster_service as service
from dispatch.roster_schemas import (
    MAX_SHIFTS,
    ChannelRow,
    ChannelWrite,
    PersonRow,
    PersonWrite,
    RosterImportReport,
    RosterRowError,
    RosterSection,
    RosterWrite,
    ShiftRow,
    ShiftWrite,
    SupervisorRow,
    SupervisorsWrite,
)
from registry.errors import Invalid, RegistryError
from registry.import_files import BadCells, ImportFormatError, csv_lines, json_document
from store.audit import Actor

MAX_IMPORT_BYTES = 256 * 1024  # the API's body limit: thousands of rows
MAX_ROWS = 10_000
SECTIONS: dict[RosterSection, type[BaseModel]] = {
    "channels": ChannelRow,
    "people": PersonRow,
    "shifts": ShiftRow,
    "supervisors": SupervisorRow,
}
# Per section: its columns, and those a CSV of it must have.
CSV_COLUMNS: dict[RosterSection, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "people": (("id", "name", "phone", "role", "active", "channels"), ("id", "name")),
    "channels": (("id", "kind", "name", "zone", "config"), ("id", "kind")),
    "shifts": (
        ("zone", "person", "position", "weekdays", "start", "end"),
        ("zone", "person", "position", "start", "end"),
    ),
    "supervisors": (("zone", "level", "person"), ("zone", "level", "person")),
}


@dataclass(slots=True)
class RosterDocument:
    """Raw rows with their row numbers, per section."""

    rows: dict[RosterSection, list[tuple[int, Any]]] = field(
        default_factory=lambda: {section: [] for section in SECTIONS}
    )


def media_type_of(content_type: str | None, *, filename: str | None = None) -> str:
    """'csv' or 'json', from a Content-Type or else a file name's suffix."""
    value = (content_type or "").split(";")[0].strip().lower()
    if value in ("text/csv", "application/csv"):
        return "csv"
    if value == "application/json" or value.endswith("+json"):
        return "json"
    suffix = (filename or "").lower().rpartition(".")[2]
    if not value and suffix in ("csv", "json"):
        return suffix
    if filename and not value:
        raise ImportFormatError(f"cannot tell what {filename} holds: name it .csv or .json")
    raise ImportFormatError(
        f"cannot import {value or 'a file of unknown type'}: send text/csv or application/json"
    )


def parse(data: bytes, media_type: str) -> RosterDocument:
    if len(data) > MAX_IMPORT_BYTES:
        raise ImportFormatError(f"larger than {MAX_IMPORT_BYTES // 1024} KiB; split the file")
    document = _parse_csv(data) if media_type == "csv" else _parse_json(data)
    if sum(len(rows) for rows in document.rows.values()) > MAX_ROWS:
        raise ImportFormatError(f"more than {MAX_ROWS:,} rows; split the file")
    return document


def _parse_json(data: bytes) -> RosterDocument:
    parsed = json_document(data)
    if not isinstance(parsed, dict):
        raise ImportFormatError(f"JSON must be an object with sections {', '.join(SECTIONS)}")
    unknown = sorted(set(parsed) - set(SECTIONS))
    if unknown:
        raise ImportFormatError(
            f"unknown section {unknown[0]!r}; sections are {', '.join(SECTIONS)}"
        )
    document = RosterDocument()
    for section in SECTIONS:
        rows = parsed.get(section, [])
        if not isinstance(rows, list):
            raise ImportFormatError(f"'{section}' must be a list of rows")
        document.rows[section].extend(enumerate(rows, start=1))
    return document


def section_of(header: list[str]) -> RosterSection:
    """The one section whose columns cover the header and include its required ones."""
    for section, (columns, required) in CSV_COLUMNS.items():
        if set(header) <= set(columns) and set(required) <= set(header):
            return section
    described = "; ".join(
        f"{section}: {', '.join(columns)} (required: {', '.join(required)})"
        for section, (columns, required) in CSV_COLUMNS.items()
    )
    raise ImportFormatError(
        f"the header names no section's columns; a CSV holds one of {described}"
    )


def _parse_csv(data: bytes) -> RosterDocument:
    (header, section), lines = csv_lines(data, read_header=_roster_header)
    document = RosterDocument()
    document.rows[section].extend((line, _csv_row(header, cells)) for line, cells in lines)
    return document


def _roster_header(header: list[str]) -> tuple[list[str], RosterSection]:
    if len(set(header)) != len(header):
        raise ImportFormatError("a column appears twice in the header")
    return header, section_of(header)


def _csv_row(header: list[str], cells: list[str]) -> dict[str, Any]:
    if len(cells) != len(header):
        return BadCells(reason=f"{len(cells)} cells where the header has {len(header)}")
    row: dict[str, Any] = {}
    for name, raw in zip(header, cells, strict=True):
        cell = raw.strip()
        if not cell:
            continue
        if name == "config":
            try:
                row[name] = orjson.loads(cell)
            except orjson.JSONDecodeError:
                return BadCells(reason="not a JSON object", field="config")
        else:
            row[name] = cell
    return row


def _ident(section: str, raw: Any) -> str | None:
    value = (
        raw.get("zone" if section in ("shifts", "supervisors") else "id")
        if isinstance(raw, dict)
        else None
    )
    return value[:64] if isinstance(value, str) else None


@dataclass(kw_only=True, slots=True)
class _Checked:
    """Valid rows by section, each with its row number."""

    rows: dict[RosterSection, list[tuple[int, Any]]]
    errors: list[RosterRowError]


def check(document: RosterDocument) -> _Checked:
    """Every row against its section's schema; ids, levels and people given once; a zone's
    shifts within bounds."""
    checked = _Checked(rows={section: [] for section in SECTIONS}, errors=[])
    shifts: Counter[str] = Counter()
    for section, model in SECTIONS.items():
        seen: dict[Any, int] = {}
        for row, raw in document.rows[section]:
            parsed, problems = _parsed(model, raw)
            for key, name in _once_keys(parsed):
                if key in seen:
                    problems.append((name, f"given already in row {seen[key]}"))
            if isinstance(parsed, ShiftRow):
                shifts[parsed.zone] += 1
                if shifts[parsed.zone] == MAX_SHIFTS + 1:
                    problems.append(("zone", f"more than {MAX_SHIFTS} shifts in this zone"))
            if problems:
                checked.errors.extend(
                    RosterRowError(
                        section=section,
                        row=row,
                        id=_ident(section, raw),
                        field=name,
                        reason=reason,
                    )
                    for name, reason in problems
                )
                continue
            seen.update((key, row) for key, _ in _once_keys(parsed))
            checked.rows[section].append((row, parsed))
    return checked


def _parsed(model: type[BaseModel], raw: Any) -> tuple[Any, list[tuple[str | None, str]]]:
    """The row as its model, or None and what is wrong with it, field by field."""
    if isinstance(raw, BadCells):
        return None, [(raw.get("field"), raw["reason"])]
    if not isinstance(raw, dict):
        return None, [(None, "a row must be an object")]
    try:
        return model.model_validate(raw), []
    except ValidationError as exc:
        return None, [
            (".".join(str(p) for p in e["loc"]) or None, e["msg"])
            for e in exc.errors(include_url=False)
        ]


def _once_keys(parsed: Any) -> Iterable[tuple[Any, str]]:
    """What a row may give only once in its section, and the field that gives it."""
    if isinstance(parsed, PersonRow | ChannelRow):
        yield parsed.id, "id"
    elif isinstance(parsed, SupervisorRow):
        yield (parsed.zone, "level", parsed.level), "level"
        yield (parsed.zone, "person", parsed.person), "person"


def unreadable(message: str, *, dry_run: bool) -> RosterImportReport:
    """The report on a file that could not be read at all: one error, for the file."""
    return RosterImportReport(
        dry_run=dry_run,
        ok=False,
        errors=[RosterRowError(section="file", row=0, id=None, field=None, reason=message)],
    )


class _RollBack(Exception):
    """Leaves the import's savepoint without its writes."""


async def import_rosters(
    conn: psycopg.AsyncConnection[Any], document: RosterDocument, *, dry_run: bool, actor: Actor
) -> RosterImportReport:
    """Applies the document in the caller's transaction, all or nothing; the report says what
    was (or, in a dry run, would be) written, or every error found."""
    checked = check(document)
    report = RosterImportReport(dry_run=dry_run, ok=False, errors=checked.errors)
    if checked.errors:
        return report
    try:
        async with conn.transaction():
            await _apply(conn, checked.rows, report, actor=actor)
            if report.errors or dry_run:
                raise _RollBack
    except _RollBack:
        pass
    report.ok = not report.errors
    return report


async def _apply(
    conn: psycopg.AsyncConnection[Any],
    rows: dict[RosterSection, list[tuple[int, Any]]],
    report: RosterImportReport,
    *,
    actor: Actor,
) -> None:
    """In order, so a row may name what an earlier section of the same file adds: channels,
    people, then each zone's shifts and chain."""
    for row, channel in rows["channels"]:
        try:
            _, created = await service.put_channel(
                conn, channel.id, ChannelWrite(**channel.model_dump(exclude={"id"})), actor=actor
            )
        except RegistryError as exc:
            report.errors.append(_row_error("channels", row, channel.id, exc))
            continue
        (report.channels_created if created else report.channels_updated).append(channel.id)
    for row, person in rows["people"]:
        try:
            _, created = await service.put_person(
                conn, person.id, PersonWrite(**person.model_dump(exclude={"id"})), actor=actor
            )
        except RegistryError as exc:
            report.errors.append(_row_error("people", row, person.id, exc))
            continue
        (report.people_created if created else report.people_updated).append(person.id)
    for zone, shifts in _by_zone(rows["shifts"]).items():
        roster = RosterWrite(
            shifts=[ShiftWrite(**s.model_dump(exclude={"zone"})) for _, s in shifts]
        )
        try:
            await service.put_roster(conn, zone, roster, actor=actor)
        except RegistryError as exc:
            report.errors.append(_zone_error("shifts", [r for r, _ in shifts], zone, exc))
            continue
        report.rosters.append(zone)
    for zone, chain in _by_zone(rows["supervisors"]).items():
        ordered = sorted(chain, key=lambda item: item[1].level)
        people = SupervisorsWrite(people=[s.person for _, s in ordered])
        try:
            await service.put_supervisors(conn, zone, people, actor=actor)
        except RegistryError as exc:
            report.errors.append(_zone_error("supervisors", [r for r, _ in ordered], zone, exc))
            continue
        report.supervisors.append(zone)


def _row_error(section: RosterSection, row: int, ident: str, exc: RegistryError) -> RosterRowError:
    name = ".".join(exc.loc) if isinstance(exc, Invalid) else None
    return RosterRowError(section=section, row=row, id=ident, field=name, reason=exc.message)


def _zone_error(
    section: RosterSection, row_numbers: list[int], zone: str, exc: RegistryError
) -> RosterRowError:
    """A zone's rows are written as one: an error at its i-th entry is that row's, any other
    (an unknown zone) its first row's."""
    if isinstance(exc, Invalid) and len(exc.loc) > 1 and exc.loc[1].isdigit():
        row, name = row_numbers[int(exc.loc[1])], "person"
    else:
        row, name = row_numbers[0], "zone"
    return RosterRowError(section=section, row=row, id=zone, field=name, reason=exc.message)


def _by_zone(rows: list[tuple[int, Any]]) -> dict[str, list[tuple[int, Any]]]:
    zones: dict[str, list[tuple[int, Any]]] = {}
    for row, parsed in rows:
        zones.setdefault(parsed.zone, []).append((row, parsed))
    return zones
