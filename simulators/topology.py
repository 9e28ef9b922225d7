"""The Zilai Street old quarter: buildings along narrow lanes and the devices in them.

Seeded and deterministic. One block is the real quarter's size (320 buildings, 3,031
devices that speak, and the 122 video cameras of its video dispatch, which only the registry
knows); load tests tile more blocks side by side for a scaled-up city.

The contract knows four kinds only, so the "other devices" are registered under the kind
whose metrics they report: kitchen heat detectors, stairwell multi-sensors and manual call
points are ``smoke`` devices (``config.model`` says which), as GB 50116 wires them into the
same fire-alarm loop.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from contract.kinds import KIND_SPECS, Kind
from simulators.seeding import rng_for

CAMERA_RANGE_M = 500.0
EARTH_RADIUS_M = 6_371_008.8

# Per block (the real quarter).
LANES, SLOTS = 16, 20  # 320 buildings
SMOKE_DETECTORS = 1000
ELECTRICAL_MONITORS = 457
RENTED_SHARE_OF_MONITORS = 0.85
HEAT_DETECTORS = 760
MULTI_SENSORS = 480
CAMERAS = 14
HALL_SENSORS = 4  # MS-0001..MS-0004 on the community hall's ceiling, one per quadrant
# The street's video dispatch: 122 cameras on the lanes, every third a PTZ dome with presets
# on the buildings nearest it, the others fixed cameras seeing the lane around them.
VIDEO_CAMERAS = 122
PTZ_EVERY = 3
PTZ_RANGE_M, FIXED_RANGE_M = 150.0, 60.0
PTZ_PRESETS = 5  # one per nearest building, and a lane view of the nearest three
THERMAL_PRESETS = 4

# South-west corner and spacing: lanes 44 m apart, a plot every 51 m along them (the lanes'
# back-to-back terraces, markets and temples in between are not modelled); the block is about
# 1.0 km by 0.7 km, centred on 23.10 N, 113.27 E, so a camera covers part of it, not all.
_ORIGIN = (23.0970, 113.26525)
_LANE_STEP, _SLOT_STEP = 0.0004, 0.0005
_BLOCK_STEP = (0.0068, 0.0105)

_LANE_NAMES = (
    "Zilai Fang",
    "Yongxing Li",
    "Fuxing Li",
    "Shunde Xiang",
    "Wanshou Li",
    "Qingping Fang",
    "Xiguan Xiang",
    "Longjin Li",
    "Baohua Fang",
    "Duobao Li",
    "Enning Xiang",
    "Fengyuan Li",
    "Huifu Fang",
    "Jinhua Xiang",
    "Liwan Li",
    "Panxi Fang",
)


@dataclass(kw_only=True, frozen=True, slots=True)
class Building:
    id: str
    name: str
    address: str
    lat: float
    lon: float
    zone: str
    rented: bool
    floors: int

    def document(self) -> dict[str, Any]:
        """The registry's import format (floors stay internal: the registry has no column)."""
        return {
            "id": self.id,
            "name": self.name,
            "address": self.address,
            "lat": self.lat,
            "lon": self.lon,
            "zone": self.zone,
            "rented": self.rented,
        }


@dataclass(kw_only=True, frozen=True, slots=True)
class Device:
    id: str
    kind: Kind
    model: str  # smoke, heat, multi, call_point, electrical, thermal_dome, ptz_dome, bullet
    site: str
    name: str
    building: str
    floor: int
    room: str
    lat: float
    lon: float
    zone: str
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def heartbeat_s(self) -> int:
        return KIND_SPECS[self.kind].heartbeat_s

    def registry_row(self) -> dict[str, Any]:
        """Exactly the fields of a device in the registry's import format (docs/devices.md)."""
        return {
            "id": self.id,
            "kind": self.kind.value,
            "site": self.site,
            "name": self.name,
            "building": self.building,
            "floor": self.floor,
            "room": self.room,
            "lat": self.lat,
            "lon": self.lon,
            "zone": self.zone,
            "heartbeat_s": self.heartbeat_s,
            "config": self.config,
        }


class Quarter:
    """Buildings and devices with lookups; devices are ordered building by building, so the
    first N devices of a quarter are a smaller quarter with every kind that speaks in it.
    ``video_cameras`` are registered but send nothing: no simulation publishes for them."""

    def __init__(
        self,
        *,
        site: str,
        seed: int,
        buildings: list[Building],
        devices: list[Device],
        video_cameras: Sequence[Device] = (),
    ) -> None:
        self.site, self.seed = site, seed
        self.buildings = tuple(buildings)
        self.devices = tuple(devices)
        self.video_cameras = tuple(video_cameras)
        self._building = {b.id: b for b in buildings}
        self._device = {d.id: d for d in (*devices, *video_cameras)}
        grouped: dict[str, list[Device]] = defaultdict(list)
        for device in devices:
            grouped[device.building].append(device)
        self._in_building = {k: tuple(v) for k, v in grouped.items()}
        covering: dict[str, list[Device]] = defaultdict(list)
        for device in devices:
            for building_id in device.config.get("covers", ()):
                covering[building_id].append(device)
        self._covering = covering

    def building(self, building_id: str) -> Building:
        return self._building[building_id]

    def device(self, device_id: str) -> Device:
        return self._device[device_id]

    def in_building(self, building_id: str) -> tuple[Device, ...]:
        return self._in_building.get(building_id, ())

    def cameras_covering(self, building_id: str) -> list[Device]:
        """Nearest first."""
        target = self._building[building_id]
        return sorted(
            self._covering.get(building_id, ()),
            key=lambda c: haversine_m(c.lat, c.lon, target.lat, target.lon),
        )

    def document(self) -> dict[str, Any]:
        return {
            "buildings": [b.document() for b in self.buildings],
            "devices": [d.registry_row() for d in (*self.devices, *self.video_cameras)],
        }


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


def _distances_m(
    lats1: np.ndarray[Any, Any],
    lons1: np.ndarray[Any, Any],
    lats2: np.ndarray[Any, Any],
    lons2: np.ndarray[Any, Any],
) -> np.ndarray[Any, Any]:
    """Haversine for every pair (rows: first set), vectorised for scaled-up quarters."""
    p1, p2 = np.radians(lats1)[:, None], np.radians(lats2)[None, :]
    dl = np.radians(lons2)[None, :] - np.radians(lons1)[:, None]
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    result: np.ndarray[Any, Any] = 2 * EARTH_RADIUS_M * np.arcsin(np.sqrt(a))
    return result


def _floors(rng_value: float) -> int:
    # Old-quarter stock: mostly 3-4 storey brick houses, some 2 and 5-6.
    for floors, cumulative in ((2, 0.15), (3, 0.47), (4, 0.78), (5, 0.93), (6, 1.0)):
        if rng_value < cumulative:
            return floors
    return 6


def _block_buildings(*, seed: int, block: int, columns: int, first: int) -> list[Building]:
    rng = rng_for(seed, "buildings", block)
    row, col = divmod(block, columns)
    base_lat = _ORIGIN[0] + row * _BLOCK_STEP[0]
    base_lon = _ORIGIN[1] + col * _BLOCK_STEP[1]
    tall = set(rng.sample(range(LANES * SLOTS), 20))  # newer infill: the quarter's high points
    buildings = []
    for index in range(LANES * SLOTS):
        lane, slot = divmod(index, SLOTS)
        number = first + index
        lane_name = _LANE_NAMES[lane]
        house = slot * 2 + 1 + rng.randrange(2)
        floors = rng.randint(7, 9) if index in tall else _floors(rng.random())
        zone = block * 12 + (lane * 3 // LANES) * 4 + slot * 4 // SLOTS + 1
        name = f"{lane_name} No. {house}"
        if block == 0 and index == 0:
            name, floors = "Zilai Street Community Hall", 2
        buildings.append(
            Building(
                id=f"B-{number:03d}",
                name=name,
                address=f"No. {house}, {lane_name}, Zilai Street, Yuexiu District, Guangzhou",
                lat=round(base_lat + lane * _LANE_STEP + rng.uniform(-4e-5, 4e-5), 6),
                lon=round(base_lon + slot * _SLOT_STEP + rng.uniform(-6e-5, 6e-5), 6),
                zone=f"G-{zone:02d}",
                rented=not (block == 0 and index == 0) and rng.random() < 0.4,
                floors=floors,
            )
        )
    return buildings


def _spread(rng_seed: str, count: int, weights: list[float]) -> list[int]:
    """``count`` items over buildings in proportion to ``weights``; seeded."""
    rng = rng_for(rng_seed)
    picks = rng.choices(range(len(weights)), weights=weights, k=count)
    tally = [0] * len(weights)
    for pick in picks:
        tally[pick] += 1
    return tally


def _camera_hosts(buildings: list[Building], count: int) -> list[Building]:
    """High points spread over the block: farthest-point picks among the tallest buildings."""
    tall = [b for b in buildings if b.floors >= 7]
    lat0 = sum(b.lat for b in buildings) / len(buildings)
    lon0 = sum(b.lon for b in buildings) / len(buildings)
    chosen = [min(tall, key=lambda b: haversine_m(b.lat, b.lon, lat0, lon0))]
    while len(chosen) < min(count, len(tall)):
        chosen.append(
            max(
                (b for b in tall if b not in chosen),
                key=lambda b: min(haversine_m(b.lat, b.lon, c.lat, c.lon) for c in chosen),
            )
        )
    return chosen


def build_quarter(*, seed: int = 7, site: str = "zilai", blocks: int = 1) -> Quarter:
    buildings: list[Building] = []
    plan: list[tuple[Building, Kind, str, int, str]] = []  # building, kind, model, floor, room
    video: list[Device] = []
    columns = math.ceil(math.sqrt(blocks))
    for block in range(blocks):
        mine = _block_buildings(seed=seed, block=block, columns=columns, first=len(buildings) + 1)
        buildings.extend(mine)
        video.extend(_video_cameras(mine, seed=seed, site=site, block=block, first=len(video) + 1))
        rng = rng_for(seed, "rooms", block)
        floors = [float(b.floors) for b in mine]
        tag = f"{seed}:{block}"
        smoke = [1 + n for n in _spread(f"{tag}:smoke", SMOKE_DETECTORS - len(mine), floors)]
        heat = _spread(
            f"{tag}:heat",
            HEAT_DETECTORS,
            [f * (1.5 if b.rented else 1) for f, b in zip(floors, mine, strict=True)],
        )
        multi_count = MULTI_SENSORS - (HALL_SENSORS if block == 0 else 0)
        multi = _spread(f"{tag}:multi", multi_count, [f if f >= 3 else 0 for f in floors])
        rented_monitors = round(ELECTRICAL_MONITORS * RENTED_SHARE_OF_MONITORS)
        electrical = [
            a + b
            for a, b in zip(
                _spread(
                    f"{tag}:ef-rented",
                    rented_monitors,
                    [f if b.rented else 0 for f, b in zip(floors, mine, strict=True)],
                ),
                _spread(
                    f"{tag}:ef-owned",
                    ELECTRICAL_MONITORS - rented_monitors,
                    [0 if b.rented else f for f, b in zip(floors, mine, strict=True)],
                ),
                strict=True,
            )
        ]
        hosts = {b.id for b in _camera_hosts(mine, CAMERAS)}
        for index, b in enumerate(mine):
            if block == 0 and index == 0:
                for quadrant in "ABCD":
                    plan.append((b, Kind.SMOKE, "multi", 1, f"hall ceiling, quadrant {quadrant}"))
            plan.append((b, Kind.SMOKE, "call_point", 1, "entrance"))
            for n in range(smoke[index]):
                plan.append((b, Kind.SMOKE, "smoke", n % b.floors + 1, "corridor"))
            for _ in range(heat[index]):
                plan.append((b, Kind.SMOKE, "heat", rng.randint(1, b.floors), "kitchen"))
            for _ in range(multi[index]):
                plan.append((b, Kind.SMOKE, "multi", rng.randint(2, b.floors), "stairwell"))
            for n in range(electrical[index]):
                plan.append(
                    (b, Kind.ELECTRICAL, "electrical", n % b.floors + 1, "distribution board")
                )
            if b.id in hosts:
                plan.append((b, Kind.THERMAL_CAMERA, "thermal_dome", b.floors, "roof"))
    return Quarter(
        site=site,
        seed=seed,
        buildings=buildings,
        devices=_number(plan, seed, site),
        video_cameras=video,
    )


def _video_cameras(
    buildings: list[Building], *, seed: int, site: str, block: int, first: int
) -> list[Device]:
    """The block's video cameras, each on a building by a lane: a PTZ dome on the roof with
    presets on the buildings nearest it, or a fixed camera on a pole seeing the lane. Their
    addresses are the street's private network's, numbered per block."""
    rng = rng_for(seed, "video", block)
    hosts = sorted(rng.sample(range(len(buildings)), min(VIDEO_CAMERAS, len(buildings))))
    subnet = f"10.{20 + block // 200}.{block % 200}"
    cameras = []
    for n, index in enumerate(hosts):
        host = buildings[index]
        lat = round(host.lat + rng.uniform(-1.5e-4, 1.5e-4), 6)
        lon = round(host.lon + rng.uniform(-1.5e-4, 1.5e-4), 6)
        address = f"{subnet}.{n + 10}"
        if n % PTZ_EVERY == 0:
            model, floor, room = "ptz_dome", host.floors, "roof"
            config: dict[str, Any] = {
                "model": model,
                "stream": f"rtsp://{address}:554/Streaming/Channels/{{channel}}01",
                "presets": _presets(_nearest(buildings, lat, lon, PTZ_RANGE_M), PTZ_PRESETS),
                "ptz": {"driver": "isapi", "url": f"http://{address}", "channel": 1},
                "range_m": PTZ_RANGE_M,
            }
        else:
            model, floor, room = "bullet", 1, "lane pole"
            config = {
                "model": model,
                "stream": f"https://video.{site}.local/live/{{camera}}.m3u8",
                "range_m": FIXED_RANGE_M,
            }
        cameras.append(
            Device(
                id=f"VC-{first + n:03d}",
                kind=Kind.VIDEO_CAMERA,
                model=model,
                site=site,
                name=f"{host.name}, {'roof dome' if model == 'ptz_dome' else 'lane camera'}",
                building=host.id,
                floor=floor,
                room=room,
                lat=lat,
                lon=lon,
                zone=host.zone,
                config=config,
            )
        )
    return cameras


def _nearest(
    buildings: Sequence[Building], lat: float, lon: float, within: float
) -> list[Building]:
    """Nearest first, within ``within`` metres."""
    by_distance = sorted((haversine_m(lat, lon, b.lat, b.lon), b.id, b) for b in buildings)
    return [b for distance, _, b in by_distance if distance <= within]


def _presets(nearest: list[Building], count: int) -> list[dict[str, Any]]:
    """One preset per nearest building, then a lane view showing the nearest three."""
    presets: list[dict[str, Any]] = [
        {"name": b.name, "number": n, "buildings": [b.id]}
        for n, b in enumerate(nearest[:count], start=1)
    ]
    if len(nearest) >= 3:
        presets.append({"name": "lane view", "number": 9, "buildings": [b.id for b in nearest[:3]]})
    return presets


_PREFIX = {
    "smoke": "SD",
    "heat": "HD",
    "multi": "MS",
    "call_point": "MC",
    "electrical": "EF",
    "thermal_dome": "TC",
}


def _number(plan: list[tuple[Building, Kind, str, int, str]], seed: int, site: str) -> list[Device]:
    counters: dict[str, int] = defaultdict(int)
    devices = []
    rng = rng_for(seed, "placement")
    for b, kind, model, floor, room in plan:
        counters[model] += 1
        prefix = _PREFIX[model]
        device_id = (
            f"{prefix}-{counters[model]:02d}"
            if model == "thermal_dome"
            else (f"{prefix}-{counters[model]:04d}")
        )
        devices.append(
            Device(
                id=device_id,
                kind=kind,
                model=model,
                site=site,
                name=f"{b.name}, {floor}F {room}",
                building=b.id,
                floor=floor,
                room=room,
                lat=round(b.lat + rng.uniform(-3e-5, 3e-5), 6),
                lon=round(b.lon + rng.uniform(-3e-5, 3e-5), 6),
                zone=b.zone,
                config={"model": model},
            )
        )
    return _with_coverage(devices, plan)


def _with_coverage(
    devices: list[Device], plan: list[tuple[Building, Kind, str, int, str]]
) -> list[Device]:
    """A camera covers every building within ``CAMERA_RANGE_M``, itself included."""
    buildings = list({b.id: b for b, *_ in plan}.values())
    cameras = [i for i, d in enumerate(devices) if d.kind is Kind.THERMAL_CAMERA]
    if not cameras:
        return devices
    distances = _distances_m(
        np.array([devices[i].lat for i in cameras]),
        np.array([devices[i].lon for i in cameras]),
        np.array([b.lat for b in buildings]),
        np.array([b.lon for b in buildings]),
    )
    for row, index in enumerate(cameras):
        camera = devices[index]
        within = np.flatnonzero(distances[row] <= CAMERA_RANGE_M)
        covers = [buildings[j].id for j in within]
        nearest = [buildings[j] for j in within[np.argsort(distances[row][within], kind="stable")]]
        address = f"10.30.{row // 200}.{row % 200 + 10}"
        config = {
            "model": camera.model,
            "covers": covers,
            "stream": f"rtsp://{address}:554/Streaming/Channels/{{channel}}01",
            "presets": _presets(nearest, THERMAL_PRESETS),
            "ptz": {"driver": "isapi", "url": f"http://{address}", "channel": 2},
        }
        devices[index] = Device(**{**_fields(camera), "config": config})
    return devices


def _fields(device: Device) -> dict[str, Any]:
    return {name: getattr(device, name) for name in Device.__dataclass_fields__}


def load_quarter(*, seed: int, site: str, devices: int) -> Quarter:
    """The smallest quarter of whole blocks with at least ``devices`` devices, cut to that."""
    per_block = len(build_quarter(seed=seed, site=site).devices)
    whole = build_quarter(seed=seed, site=site, blocks=max(1, math.ceil(devices / per_block)))
    kept = whole.devices[:devices]
    used = {d.building for d in kept}
    return Quarter(
        site=site,
        seed=seed,
        buildings=[b for b in whole.buildings if b.id in used],
        devices=list(kept),
        video_cameras=[_within(c, used) for c in whole.video_cameras if c.building in used],
    )


def _within(camera: Device, used: set[str]) -> Device:
    """A video camera of a cut quarter, its presets kept to the buildings still in it."""
    presets = [
        {**p, "buildings": [b for b in p["buildings"] if b in used]}
        for p in camera.config.get("presets", ())
    ]
    config = {k: v for k, v in camera.config.items() if k != "presets"}
    if any(p["buildings"] for p in presets):
        config["presets"] = [p for p in presets if p["buildings"]]
    return Device(**{**_fields(camera), "config": config})


def write_topology(quarter: Quarter, path: Path) -> None:
    path.write_bytes(orjson.dumps(quarter.document(), option=orjson.OPT_INDENT_2) + b"\n")
