"""Logging, set up once per process: JSON lines for a log collector, text for a person.

Ids that matter ride on records as ``extra={"batch": n, "device": id, "alert": id}``; both
formats show them, JSON as fields of their own so they can be searched without parsing text.

Bearer tokens never reach a log: the live stream takes its token in the query string (a
browser's EventSource cannot send headers), and uvicorn's access log writes the whole URL.
Nor do field links' tokens, which are a path segment (``/field/{token}``,
``/api/v1/field/{token}/steps``): whoever reads the log must not open a worker's dispatch.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Literal, TextIO
from urllib.parse import unquote_plus

import orjson

LogFormat = Literal["auto", "json", "text"]

# What every record has; anything else was passed as ``extra`` and is a field of its own.
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


_BEARER = re.compile(r"(?i)(authorization:\s*bearer\s+|bearer\s+)[^&\s\"']+")
# Any query parameter: its name is compared once percent-decoded, as the server reads it
# (``acc%65ss_token=`` is ``access_token=`` to Starlette).
_PARAM = re.compile(r"(?P<name>[^?&;=\s\"']+)=(?P<value>[^&\s\"']*)")
_TOKEN_PARAMS = frozenset({"access_token"})
# The segment after /field/, but the field page's own files (api/routers/field.py).
_FIELD_TOKEN = re.compile(r"(/field/)(?!static/|sw\.js(?![^/?#\s\"']))[^/?#\s\"']+")
REDACTED = "[REDACTED]"
# uvicorn's access log does not propagate to the root logger: it gets its own filter.
ACCESS_LOGGERS = ("uvicorn.access", "uvicorn.error")


def redact(text: str) -> str:
    """``text`` with every token value (``access_token=…``, ``Bearer …``, ``/field/…``)
    replaced."""
    text = _BEARER.sub(lambda m: m.group(1) + REDACTED, text)
    if "/field/" in text:
        text = _FIELD_TOKEN.sub(lambda m: m.group(1) + REDACTED, text)
    if "=" not in text:
        return text
    return _PARAM.sub(_redact_param, text)


def _redact_param(match: re.Match[str]) -> str:
    if unquote_plus(match["name"]).lower() in _TOKEN_PARAMS:
        return f"{match['name']}={REDACTED}"
    return match[0]


class RedactTokens(logging.Filter):
    """Rewrites a record's message and arguments so that no token survives formatting."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redacted(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redacted(v) for k, v in record.args.items()}
        return True


def _redacted(value: object) -> object:
    return redact(value) if isinstance(value, str) else value


def redact_access_logs() -> None:
    """Idempotent; uvicorn's own logging config keeps a logger's filters, so this holds
    whether it is called before or after uvicorn configures its loggers."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


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
    """``auto``: JSON unless the stream is a terminal. Replaces the root logger's handlers,
    which redact tokens, as uvicorn's access log does."""
    out = stream if stream is not None else sys.stderr
    as_json = log_format == "json" or (log_format == "auto" and not out.isatty())
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if as_json else TextFormatter())
    handler.addFilter(RedactTokens())
    redact_access_logs()
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
