"""Logging, set up once per process: JSON lines for a log collector, text for a person.

Ids that matter ride on records as ``extra={"batch": n, "device": id, "alert": id}``; both
formats show them, JSON as fields of their own so they can be searched without parsing text.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO

import orjson

LogFormat = Literal["auto", "json", "text"]

# What every record has; anything else was passed as ``extra`` and is a field of its own.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message", "asctime", "taskName",
}  # fmt: skip


def _extra(record: logging.LogRecord) -> dict[str, object]:
    return {k: v for k, v in record.__dict__.items() if k not in _STANDARD}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, the extras, the error."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
            **_extra(record),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """The classic line, with the extras appended as ``key=value``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        extra = " ".join(f"{k}={v}" for k, v in _extra(record).items())
        line = super().formatMessage(record)
        return f"{line} [{extra}]" if extra else line


def configure_logging(
    log_format: LogFormat = "auto", *, stream: TextIO | None = None, level: int = logging.INFO
) -> None:
    """``auto``: JSON unless the stream is a terminal. Replaces the root logger's handlers."""
    out = stream if stream is not None else sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not out.isatty())
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
