"""422 answers that can always be encoded as JSON and stay small whatever was sent.

FastAPI echoes the offending input (and the constraint's context) in a validation error. A JSON
body may carry ``NaN`` or ``Infinity``, which Python reads but strict JSON cannot write, and
lone surrogates, which UTF-8 cannot: non-finite numbers are echoed as their names and
surrogates as escapes. A body of 200,000 wrong keys would be echoed whole in each of 200,000
errors, so only the first ``MAX_ERRORS`` are listed and each input is cut to an excerpt. A
body that is not JSON reaches a model as bytes, and JSON may nest deeper than Python recurses:
bytes are echoed as text and nesting below ``MAX_DEPTH`` as "…".
"""

from __future__ import annotations

import json
import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from contract.text import printable

MAX_ERRORS = 20
EXCERPT_CHARS = 200
MAX_DEPTH = 20


def json_safe(value: Any, *, depth: int = 0) -> Any:
    """``value`` with every non-finite float replaced by its name ("NaN", "Infinity"), every
    string made encodable, bytes as text, and anything nested deeper than MAX_DEPTH cut."""
    if depth >= MAX_DEPTH and isinstance(value, dict | list | tuple):
        return "…"
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, bytes | bytearray | str):
        text = value if isinstance(value, str) else bytes(value).decode("utf-8", "backslashreplace")
        return printable(text)
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v, depth=depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v, depth=depth + 1) for v in value]
    return value


def excerpt(value: Any) -> Any:
    """Small inputs as they are; a long string or a large object as the start of its JSON."""
    if isinstance(value, str):
        return value if len(value) <= EXCERPT_CHARS else value[:EXCERPT_CHARS] + "…"
    if isinstance(value, dict | list):
        text = json.dumps(value, default=str, ensure_ascii=False)  # orjson: no big ints
        return value if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "…"
    return value


def bounded(errors: list[dict[str, Any]], *, total: int) -> dict[str, Any]:
    """The body of a 422: the first MAX_ERRORS of ``total`` errors (already ``json_safe``),
    each input an excerpt."""
    shown = []
    for error in errors[:MAX_ERRORS]:
        safe = dict(error)
        if "input" in safe:
            safe["input"] = excerpt(safe["input"])
        shown.append(safe)
    content: dict[str, Any] = {"detail": shown}
    if total > len(shown):
        content["omitted"] = total - len(shown)
    return content


async def validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    first = jsonable_encoder([json_safe(dict(error)) for error in errors[:MAX_ERRORS]])
    return JSONResponse(status_code=422, content=bounded(first, total=len(errors)))
