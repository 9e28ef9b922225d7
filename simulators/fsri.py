"""UL FSRI compartment-fire CSVs (fsri-compartments-2018) as detector readings.

One row per second; ``Time`` is seconds from ignition. A mapping sends a column to a device's
metric; by default each quadrant's thermocouple 25 mm below the ceiling becomes the
``temperature_c`` of one of the four multi-sensors on the community hall's ceiling
(MS-0001..MS-0004 in the topology), which is what a ceiling heat detector there would see.
"""

from __future__ import annotations

import csv
import difflib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import orjson

from contract.kinds import FRAME_METRICS, METRIC_RANGES
from contract.topics import DEVICE_ID_RE, Channel, topic_for
from simulators.errors import InputError
from simulators.recording import Recorded

TIME_COLUMN = "Time"
# Device time is always shifted for these files (their wall clock has no time zone): the
# readings are stamped from this nominal moment, 2018-12-01T00:00Z, plus their offset.
NOMINAL_START_MS = 1_543_622_400_000
MAP_SHAPE = "--map 'COLUMN=DEVICE[:metric]' (metric defaults to temperature_c)"


@dataclass(frozen=True, slots=True)
class ColumnMap:
    column: str
    device_id: str
    metric: str = "temperature_c"


DEFAULT_MAP = tuple(
    ColumnMap(f"Quadrant {quadrant} Temperature 25 mm Below Ceiling", f"MS-000{n}")
    for n, quadrant in enumerate("ABCD", start=1)
)


def parse_map(specs: Sequence[str]) -> tuple[ColumnMap, ...]:
    """``COLUMN=DEVICE[:metric]``; columns hold spaces, so the last ``=`` splits."""
    mapping = []
    for spec in specs:
        column, sep, target = spec.rpartition("=")
        device_id, _, metric = target.partition(":")
        metric = metric or "temperature_c"
        if not sep or not column.strip():
            raise InputError(f"cannot read the mapping {spec!r}; write it as {MAP_SHAPE}")
        if not DEVICE_ID_RE.fullmatch(device_id):
            raise InputError(
                f"device id {device_id!r} in {spec!r} must match [A-Za-z0-9_-]{{1,64}}"
            )
        if metric not in METRIC_RANGES or metric in FRAME_METRICS:
            raise InputError(
                f"metric {metric!r} in {spec!r} is not one a device may send; use "
                "one of the contract's metrics, e.g. temperature_c"
            )
        mapping.append(ColumnMap(column.strip(), device_id, metric))
    return tuple(mapping)


def _columns(path: Path, header: list[str], mapping: Sequence[ColumnMap]) -> dict[int, ColumnMap]:
    where = {name.strip(): index for index, name in enumerate(header)}
    if TIME_COLUMN not in where:
        raise InputError(
            f"{path}: no {TIME_COLUMN!r} column (seconds from ignition); is this a "
            "UL FSRI compartment CSV?"
        )
    found = {}
    for item in mapping:
        if item.column not in where:
            near = difflib.get_close_matches(item.column, list(where), n=3)
            hint = f"; did you mean {' or '.join(map(repr, near))}?" if near else ""
            raise InputError(
                f"{path}: no column {item.column!r}{hint} Map the columns it has with "
                f"{MAP_SHAPE}; channel_list.csv beside the data names them all"
            )
        found[where[item.column]] = item
    return found


def _number(path: Path, line: int, column: str, cell: str) -> float | None:
    if not cell.strip():
        return None  # a thermocouple dropout: that second has no reading
    try:
        value = float(cell)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(
            f"{path}, line {line}, column {column!r}: {cell!r} is not a number; "
            "fix the cell or leave it empty"
        )
    return value


def read_fsri(
    path: Path, *, site: str, mapping: Sequence[ColumnMap] = DEFAULT_MAP
) -> Iterator[Recorded]:
    """One reading per device and row, in time order, stamped from ``NOMINAL_START_MS``."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header is None:
            raise InputError(f"{path} is empty; expected a UL FSRI compartment CSV")
        columns = _columns(path, header, mapping)
        time_index = [name.strip() for name in header].index(TIME_COLUMN)
        topics = {m.device_id: topic_for(site, m.device_id, Channel.READING) for m in mapping}
        seqs = dict.fromkeys(topics, 0)
        first: float | None = None
        for line, row in enumerate(rows, start=2):
            seconds = _number(path, line, TIME_COLUMN, row[time_index] if row else "")
            if seconds is None:
                continue
            first = seconds if first is None else first
            t = seconds - first
            values: dict[str, dict[str, float]] = {}
            for index, item in columns.items():
                value = _number(path, line, item.column, row[index] if index < len(row) else "")
                if value is not None:
                    values.setdefault(item.device_id, {})[item.metric] = value
            for device_id, metrics in values.items():
                seqs[device_id] += 1
                body = {
                    "ts": NOMINAL_START_MS + round(t * 1000),
                    "seq": seqs[device_id],
                    "values": metrics,
                }
                yield Recorded(t, topics[device_id], orjson.dumps(body))
