"""A small, safe path syntax into a device's own JSON, for mapped MQTT models
(contract/mapping.py): ``ENERGY.Power``, ``DS18B20-1.Temperature``, ``sensors.0.value``.

A path is up to ``MAX_SEGMENTS`` keys joined by dots. A key is 1..64 printable characters
other than a dot. A key of digits indexes a list when the value there is a list, and is an
object's key otherwise. Nothing is evaluated: no wildcards, filters or expressions, so a path
costs at most ``MAX_SEGMENTS`` lookups whatever the document."""

from __future__ import annotations

from typing import Final

MAX_SEGMENTS = 8
MAX_KEY_CHARS = 64
MAX_PATH_CHARS = MAX_SEGMENTS * (MAX_KEY_CHARS + 1)


class PathError(ValueError):
    """The path does not follow the syntax; the message says which part is wrong."""


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()


def parse_path(path: str) -> tuple[str, ...]:
    """The path's keys; raises PathError naming what is wrong."""
    if not isinstance(path, str) or not path:
        raise PathError("a path is one or more keys joined by dots, e.g. ENERGY.Power")
    if len(path) > MAX_PATH_CHARS:
        raise PathError(f"longer than {MAX_PATH_CHARS} characters")
    keys = tuple(path.split("."))
    if len(keys) > MAX_SEGMENTS:
        raise PathError(f"{len(keys)} keys; at most {MAX_SEGMENTS}")
    for index, key in enumerate(keys, start=1):
        if not key:
            raise PathError(f"key {index} is empty (two dots, or a dot at an end)")
        if len(key) > MAX_KEY_CHARS:
            raise PathError(f"key {index} is longer than {MAX_KEY_CHARS} characters")
        if not key.isprintable():
            raise PathError(f"key {index} holds a character that cannot be printed")
    return keys


def resolve(document: object, keys: tuple[str, ...]) -> object:
    """The value at ``keys`` in a parsed JSON document, or MISSING."""
    value = document
    for key in keys:
        if isinstance(value, dict):
            if key not in value:
                return MISSING
            value = value[key]
        elif isinstance(value, list) and key.isdigit() and key.isascii():
            index = int(key)
            if index >= len(value):
                return MISSING
            value = value[index]
        else:
            return MISSING
    return value
