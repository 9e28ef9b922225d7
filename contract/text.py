"""The one rule every string from a client obeys: no NUL and no lone surrogate.

PostgreSQL text and jsonb cannot hold NUL, and a lone surrogate (``"\\ud800"`` in a JSON
string) cannot be encoded as UTF-8 at all; either one let through fails deep in the store or
in the answer as a 500. Bodies use ``Text`` and ``JsonObject`` in their schemas; query strings
and paths are checked by ``api.limits.RequestGuard`` with ``text_problem``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

_BAD = re.compile("[\x00\ud800-\udfff]")


def text_problem(value: str) -> str | None:
    """Why ``value`` may not be stored, or None when it may."""
    found = _BAD.search(value)
    if found is None:
        return None
    if found.group() == "\x00":
        return f"NUL character (U+0000) at position {found.start()} is not allowed"
    return (
        f"lone surrogate U+{ord(found.group()):04X} at position {found.start()} is not "
        "valid Unicode; send the character itself or a surrogate pair"
    )


def is_clean(value: object) -> bool:
    """True for a string ``Text`` would accept."""
    return isinstance(value, str) and _BAD.search(value) is None


def check_text(value: str) -> str:
    problem = text_problem(value)
    if problem is not None:
        raise PydanticCustomError("text", problem)
    return value


def check_json(value: Any) -> Any:
    """Every key and string inside a free-form JSON value, at any depth (iteratively: a
    deeply nested body must not exhaust the stack)."""
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, dict):
            pending.extend(str(k) for k in item)
            pending.extend(item.values())
        elif isinstance(item, list):
            pending.extend(item)
    return value


Text = Annotated[str, AfterValidator(check_text)]
JsonObject = Annotated[dict[str, Any], AfterValidator(check_json)]


def printable(value: str) -> str:
    """``value`` as it can be written out as UTF-8: lone surrogates become ``\\udXXX``."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")
