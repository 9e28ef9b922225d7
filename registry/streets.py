"""The site's street lines for the plan, read from a GeoJSON file (``FIREWATCH_STREETS_FILE``,
e.g. exported from OpenStreetMap). Only line geometry is kept, checked as [lon, lat] points on
Earth, so the console draws what it gets; buildings come from the registry, not from here."""

from __future__ import annotations

from typing import Any

import orjson

MAX_BYTES = 16 * 2**20  # a quarter's lanes are a few hundred KiB
_LINES = frozenset({"LineString", "MultiLineString"})


class StreetFileError(ValueError):
    """The file is not GeoJSON with street lines; the message says what is wrong."""


def _point(value: Any, where: str) -> list[float]:
    if isinstance(value, list) and len(value) >= 2:  # a third value (height) is dropped
        lon, lat = value[0], value[1]
        numbers = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (lon, lat))
        if numbers and -180 <= lon <= 180 and -90 <= lat <= 90:
            return [float(lon), float(lat)]
    raise StreetFileError(f"{where}: {value!r} is not a [lon, lat] point on Earth")


def _line(value: Any, where: str) -> list[list[float]]:
    if not isinstance(value, list) or len(value) < 2:
        raise StreetFileError(f"{where}: a line needs at least two points")
    return [_point(p, f"{where}[{i}]") for i, p in enumerate(value)]


def _geometries(data: Any) -> list[tuple[dict[str, Any], dict[str, Any]]]:
    """(geometry, properties) of every feature, or of the bare geometry."""
    if not isinstance(data, dict):
        raise StreetFileError("not a GeoJSON object")
    kind = data.get("type")
    if kind == "FeatureCollection":
        features = data.get("features")
        if not isinstance(features, list):
            raise StreetFileError("a FeatureCollection needs a list of features")
        return [g for f in features for g in _geometries(f)]
    if kind == "Feature":
        geometry = data.get("geometry")
        properties = data.get("properties")
        return [(geometry, properties if isinstance(properties, dict) else {})] if geometry else []
    return [(data, {})]


def street_lines(raw: bytes) -> dict[str, Any]:
    """A FeatureCollection of the file's LineString and MultiLineString features, each with its
    ``name`` if it has one; points, polygons and other geometry are left out."""
    if len(raw) > MAX_BYTES:
        raise StreetFileError(f"larger than {MAX_BYTES // 2**20} MiB")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise StreetFileError(f"not JSON: {error}") from None
    features = []
    for n, (geometry, properties) in enumerate(_geometries(data)):
        kind = geometry.get("type") if isinstance(geometry, dict) else None
        if kind not in _LINES:
            continue
        where = f"feature {n} ({kind})"
        coordinates = geometry.get("coordinates")
        if kind == "LineString":
            lines = [_line(coordinates, where)]
        elif isinstance(coordinates, list):
            lines = [_line(line, f"{where}[{i}]") for i, line in enumerate(coordinates)]
        else:
            raise StreetFileError(f"{where}: coordinates must be a list of lines")
        name = properties.get("name")
        features.append(
            {
                "type": "Feature",
                "geometry": {"type": "MultiLineString", "coordinates": lines},
                "properties": {"name": name} if isinstance(name, str) else {},
            }
        )
    if not features:
        raise StreetFileError("no LineString or MultiLineString in it")
    return {"type": "FeatureCollection", "features": features}
