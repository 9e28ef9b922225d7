"""Video linkage, pure: which cameras can show an incident, in the order an operator should
try them, each with the address to open and the preset that shows the place.

First the incident's own camera (a camera target outside every building), then the cameras
with a preset on its building (nearest first), then the nearest within their range
(``config.range_m``, or the kind's default). A camera's stream template is filled in with the
camera, its PTZ channel and the chosen preset.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote, urlsplit

from contract.kinds import Kind
from registry.device_config import DEFAULT_RANGE_M, RANGE_M

EARTH_RADIUS_M = 6_371_008.8
REACH_M = RANGE_M[1]  # no camera sees farther: the store's search box


class VideoCheck(StrEnum):
    """What the operator saw on the camera: an incident's timeline step."""

    FIRE_SEEN = "fire_seen"
    SMOKE_SEEN = "smoke_seen"
    NOTHING_SEEN = "nothing_seen"
    VIEW_BLOCKED = "view_blocked"


class Why(StrEnum):
    ORIGIN = "origin"  # the camera whose target the incident is
    PRESET = "preset"  # a preset shows the incident's building
    NEARBY = "nearby"  # within its range of the place


@dataclass(frozen=True, slots=True, kw_only=True)
class Place:
    """Where the incident is: its building (None for a camera's target outside every
    building), its position, and the camera that saw it, if it has no building."""

    building: str | None
    lat: float | None
    lon: float | None
    origin: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CameraLink:
    camera: Mapping[str, Any]  # the registry row: id, kind, name, building, lat, lon, config
    why: Why
    distance_m: float | None
    preset: Mapping[str, Any] | None  # {name, number, buildings}

    @property
    def can_move(self) -> bool:
        return bool(self.camera["config"].get("ptz")) and bool(self.camera["config"].get("presets"))

    def stream(self) -> str | None:
        template = self.camera["config"].get("stream")
        if template is None:
            return None
        return stream_address(
            template,
            camera=self.camera["id"],
            channel=int((self.camera["config"].get("ptz") or {}).get("channel", 1)),
            preset=self.preset["number"] if self.preset else None,
        )


def link(place: Place, cameras: Iterable[Mapping[str, Any]], *, limit: int) -> list[CameraLink]:
    """At most ``limit`` cameras in the order above; ties by distance, then id."""
    origin: list[CameraLink] = []
    preset: list[CameraLink] = []
    nearby: list[CameraLink] = []
    for camera in cameras:
        distance = _distance(place, camera)
        shows = preset_for(camera["config"], place.building) if place.building else None
        if camera["id"] == place.origin:
            origin.append(
                CameraLink(camera=camera, why=Why.ORIGIN, distance_m=distance, preset=shows)
            )
        elif shows is not None:
            preset.append(
                CameraLink(camera=camera, why=Why.PRESET, distance_m=distance, preset=shows)
            )
        elif distance is not None and distance <= range_m(camera):
            nearby.append(
                CameraLink(camera=camera, why=Why.NEARBY, distance_m=distance, preset=None)
            )
    ordered = origin + sorted(preset, key=_nearest_first) + sorted(nearby, key=_nearest_first)
    return ordered[:limit]


def preset_for(config: Mapping[str, Any], building: str) -> Mapping[str, Any] | None:
    """The camera's preset showing the building: of those that do, the one showing fewest
    buildings (the closest view), then the lowest number."""
    showing = [p for p in config.get("presets") or () if building in p["buildings"]]
    return min(showing, key=lambda p: (len(p["buildings"]), p["number"]), default=None)


def range_m(camera: Mapping[str, Any]) -> float:
    configured = camera["config"].get("range_m")
    return float(configured) if configured is not None else DEFAULT_RANGE_M[Kind(camera["kind"])]


def stream_address(template: str, *, camera: str, channel: int, preset: int | None) -> str:
    """The template with its fields filled in (URL-quoted); no preset: an empty one."""
    return template.format(
        camera=quote(camera, safe=""), channel=channel, preset="" if preset is None else preset
    )


def stream_type(url: str) -> str:
    """rtsp, hls (an .m3u8 playlist) or web (a player page), for the console to open it."""
    parts = urlsplit(url)
    if parts.scheme in ("rtsp", "rtsps"):
        return "rtsp"
    return "hls" if parts.path.endswith(".m3u8") else "web"


def _distance(place: Place, camera: Mapping[str, Any]) -> float | None:
    lat, lon = camera["lat"], camera["lon"]
    if place.lat is None or place.lon is None or lat is None or lon is None:
        return None
    return haversine_m(place.lat, place.lon, lat, lon)


def _nearest_first(link: CameraLink) -> tuple[bool, float, str]:
    return (link.distance_m is None, link.distance_m or 0.0, str(link.camera["id"]))


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))
