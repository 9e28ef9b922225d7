"""Reading an import file as a whole, for the registry's import and the rosters' alike: the
errors that refuse the file, and its CSV lines or JSON document. What the rows mean is each
import's own."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from typing import Any, TypeVar

import orjson

T = TypeVar("T")


class ImportFormatError(ValueError):
    """The file as a whole cannot be read; the message says what to fix."""


class BadCells(dict[str, Any]):
    """A CSV row whose cells could not be read as a row at all; validation reports it."""


def json_document(data: bytes) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ImportFormatError(f"not valid JSON: {exc}") from None


def csv_lines(
    data: bytes, *, read_header: Callable[[list[str]], T]
) -> tuple[T, list[tuple[int, list[str]]]]:
    """What ``read_header`` makes of the header (its names stripped; it raises
    ImportFormatError on a bad one), and every line that is not blank, with its line number."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFormatError(f"not UTF-8 (byte {exc.start}); save the CSV as UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        first = next(reader, None)
        if first is None:
            raise ImportFormatError("empty file: the first line must name the columns")
        header = read_header([h.strip() for h in first])
        lines = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    except csv.Error as exc:
        raise ImportFormatError(f"line {reader.line_num}: {exc}") from None
    return header, lines
