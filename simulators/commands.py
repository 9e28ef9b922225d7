"""What ``firewatch simulate``, ``replay`` and ``record`` do, for the console script to call."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from pathlib import Path

from settings import Settings
from simulators.errors import InputError
from simulators.fsri import DEFAULT_MAP, parse_map, read_fsri
from simulators.load import LoadPlan, LoadResult, run_load
from simulators.progress import Progress
from simulators.publisher import Publisher
from simulators.record import record
from simulators.recording import read_jsonl, write_jsonl
from simulators.replay import ReplayResult, Source, replay
from simulators.scenarios import build_scenario
from simulators.topology import build_quarter, load_quarter, write_topology


def expectation_path(out: Path) -> Path:
    """``fire.jsonl`` -> ``fire.expect.json``, beside it."""
    return out.with_suffix(".expect.json")


def simulate_topology(*, seed: int, site: str, out: Path) -> str:
    quarter = build_quarter(seed=seed, site=site)
    write_topology(quarter, out)
    return (
        f"wrote {len(quarter.buildings)} buildings, {len(quarter.devices)} devices and "
        f"{len(quarter.video_cameras)} video cameras to {out}"
    )


def simulate_scenario(*, name: str, seed: int, site: str, out: Path) -> str:
    run = build_scenario(name, quarter=build_quarter(seed=seed, site=site), seed=seed)
    count = write_jsonl(out, ((m.t, m.topic, m.payload) for m in run.messages))
    run.expectation.write(expectation_path(out))
    return (
        f"wrote {count} messages over {run.expectation.duration_s:g} s of event time to "
        f"{out}, and the ground truth to {expectation_path(out)}"
    )


def register_devices(settings: Settings, *, seed: int, devices: int) -> int:
    """Registers the quarter (buildings and devices) through the registry's own import."""
    from registry.service import import_at

    quarter = load_quarter(seed=seed, site=settings.site, devices=devices)
    asyncio.run(import_at(settings.database_url, quarter.document()))
    return len(quarter.devices)


def simulate_run(
    settings: Settings,
    *,
    devices: int,
    rate: float,
    duration: float | None,
    processes: int,
    seed: int,
) -> LoadResult:
    plan = LoadPlan(
        mqtt_url=settings.mqtt_url,
        site=settings.site,
        seed=seed,
        devices=devices,
        rate=rate,
        duration=duration,
        processes=processes,
    )
    progress = Progress(f"simulate run ({devices:,} devices, {processes} process(es))")
    result = run_load(plan, progress=progress)
    progress.close()
    return result


def replay_source(path: Path, *, site: str, maps: Sequence[str], keep_time: bool) -> Source:
    if path.suffix == ".jsonl":
        if maps:
            raise InputError("--map is for CSV files; a JSONL recording names its own topics")
        return lambda: read_jsonl(path)
    if path.suffix == ".csv":
        if keep_time:
            raise InputError(
                f"{path}: the FSRI CSVs' clock has no time zone; replay them "
                "without --keep-time (device time then ends now)"
            )
        mapping = parse_map(maps) if maps else DEFAULT_MAP
        return lambda: read_fsri(path, site=site, mapping=mapping)
    raise InputError(f"{path}: replay reads .jsonl recordings and UL FSRI .csv files")


def replay_file(
    settings: Settings,
    *,
    path: Path,
    speed: float,
    keep_time: bool,
    site: str | None,
    maps: Sequence[str],
) -> ReplayResult:
    if not path.is_file():
        raise InputError(f"{path} does not exist; give a .jsonl recording or an FSRI .csv")
    source = replay_source(path, site=site or settings.site, maps=maps, keep_time=keep_time)
    progress = Progress(f"replay {path.name}")
    client_id = f"firewatch-replay-{uuid.uuid4().hex[:8]}"
    with Publisher(settings.mqtt, client_id=client_id) as publisher:
        result = replay(
            source,
            publisher=publisher,
            speed=speed,
            keep_time=keep_time,
            site=site,
            progress=progress,
        )
    progress.close()
    return result


def record_traffic(settings: Settings, *, out: Path, duration: float | None) -> int:
    progress = Progress(f"record {settings.site}")
    count = record(
        settings.mqtt,
        site=settings.site,
        out=out,
        duration=duration,
        progress=progress,
    )
    progress.close()
    return count
