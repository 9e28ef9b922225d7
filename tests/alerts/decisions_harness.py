"""Every decision the engine makes on a fixed, rich input, serialised byte for byte.

A refactor of the engine must not change one decision: this feeds it the scenario matrix, a
few FSRI fires, and a backlog of electrical monitors with many samples each per batch, cut
into batches of varying sizes, with timer ticks between them, some batches rolled back and
retried, and devices moving in and out of maintenance. Each section's decisions are hashed;
the golden file holds the hashes and a readable sample.

    python -m tests.alerts.decisions_harness --write   # only when a change is meant
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from alerts.devices import DeviceInfo, device_info
from alerts.engine import Engine
from alerts.signals import Change, Decision
from contract.codec import Limits, decode
from contract.kinds import Kind
from contract.messages import Decoded
from contract.topics import Channel
from simulators.fsri import NOMINAL_START_MS, read_fsri
from simulators.scenarios import SCENARIOS, build_scenario
from simulators.topology import build_quarter

GOLDEN = Path(__file__).with_name("decisions_golden.json")
FSRI_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "fsri2018"
SEED = 7
TICK_S = 10.0
BATCH_SIZES = (1, 2, 3, 5, 17, 64, 250, 1000, 5000)
SAMPLE_LINES = 40
LIMITS = Limits(future_tolerance=timedelta(days=1), stale_after=timedelta(days=30))

Timed = tuple[Decoded, datetime]


def _default(value: object) -> object:
    return f"{type(value).__name__}:{value!r}"


def serialise(decision: Decision) -> str:
    """Every field, floats by repr, detail with sorted keys: equal strings, equal decisions."""
    received = decision.received_at.isoformat() if decision.received_at else "-"
    fields = (
        decision.subject,
        decision.rule.value,
        decision.alert_class.value,
        decision.change.value,
        decision.at.isoformat(),
        repr(decision.value),
        received,
        repr(decision.site),
        repr(decision.building),
        repr(decision.suppressed),
        json.dumps(decision.detail, sort_keys=True, default=_default),
    )
    return "|".join(fields)


class Run:
    """Drives one engine through a stream and keeps every decision's line."""

    def __init__(self, devices: list[DeviceInfo], *, seed: int) -> None:
        self.engine = Engine()
        self.engine.configure(devices)
        self.devices = {d.id: d for d in devices}
        self.rng = random.Random(seed)
        self.lines: list[str] = []
        self.raised: list[tuple[float, str]] = []  # (time, site) of raises, for flood ticks
        self.next_tick: datetime | None = None
        self.batches = 0

    def keep(self, tag: str, decisions: list[Decision]) -> None:
        for decision in decisions:
            self.lines.append(f"{tag} {serialise(decision)}")
            if decision.change is Change.RAISE and decision.site:
                self.raised.append((decision.at.timestamp(), decision.site))

    def tick_until(self, until: datetime) -> None:
        if self.next_tick is None:
            self.next_tick = until
        while self.next_tick <= until:
            now = self.next_tick
            opened: dict[str, int] | None = None
            if self.rng.random() < 0.5:
                opened = {}
                for t, site in self.raised:
                    if t >= now.timestamp() - 600:
                        opened[site] = opened.get(site, 0) + 1
            if self.rng.random() < 0.05:
                self.keep("T-", self.engine.tick(now, opened_last_10min=opened))
                self.engine.rollback()
            self.keep("T", self.engine.tick(now, opened_last_10min=opened))
            self.engine.commit()
            self.next_tick = now + timedelta(seconds=TICK_S)

    def feed(self, messages: list[Timed]) -> None:
        """In batches of varying sizes; now and then a batch is rolled back and retried, or a
        device goes into maintenance (and back)."""
        at = 0
        while at < len(messages):
            size = self.rng.choice(BATCH_SIZES)
            batch = messages[at : at + size]
            at += size
            self.tick_until(max(arrived for _, arrived in batch))
            self.batches += 1
            if self.rng.random() < 0.1:
                self.keep("E-", self.engine.evaluate(batch))
                self.engine.rollback()
            if self.rng.random() < 0.03:
                self._toggle_maintenance(batch[0][0].device_id)
            self.keep("E", self.engine.evaluate(batch))
            self.engine.commit()

    def _toggle_maintenance(self, device_id: str) -> None:
        d = self.devices[device_id]
        status = "active" if d.status == "maintenance" else "maintenance"
        config = {"rules": {f: getattr(d.rules, f) for f in ("fixed_c", "leakage_ma")}}
        self.devices[device_id] = device_info(
            device_id=d.id,
            kind=d.kind,
            site=d.site,
            building=d.building,
            status=status,
            heartbeat_s=d.heartbeat_s,
            config=config,
        )
        self.engine.configure([self.devices[device_id]])


def _quarter_devices() -> list[DeviceInfo]:
    quarter = build_quarter(seed=SEED, site="zilai")
    return [
        device_info(
            device_id=d.id,
            kind=d.kind,
            site=d.site,
            building=d.building,
            heartbeat_s=d.heartbeat_s,
            config=d.config,
        )
        for d in quarter.devices
    ]


def _decoded(topic: str, payload: bytes, at: datetime) -> Decoded:
    message = decode(topic, payload, now=at, limits=LIMITS)
    if not isinstance(message, Decoded):
        raise AssertionError(f"{topic}: {message}")
    return message


def scenario_section(name: str) -> list[str]:
    quarter = build_quarter(seed=SEED, site="zilai")
    scenario = build_scenario(name, quarter=quarter, seed=SEED)
    run = Run(_quarter_devices(), seed=hash_seed(name))
    start = scenario.expectation.start
    messages = []
    for m in scenario.messages:
        at = start + timedelta(seconds=m.t)
        messages.append((_decoded(m.topic, m.payload, at), at))
    run.feed(messages)
    run.tick_until(start + timedelta(seconds=scenario.expectation.duration_s))
    return run.lines


def fsri_section(path: Path) -> list[str]:
    run = Run(_quarter_devices(), seed=hash_seed(path.name))
    start = datetime.fromtimestamp(NOMINAL_START_MS / 1000, UTC)
    messages = []
    for r in read_fsri(path, site="zilai"):
        at = start + timedelta(seconds=r.t)
        messages.append((_decoded(r.topic, r.payload, at), at))
    run.feed(messages)
    return run.lines


def backlog_section(monitors: int = 60, readings: int = 400) -> list[str]:
    """Electrical monitors' backlog after an outage, oldest first per device: many samples of
    one device per batch. Cables heat up and cool, leakage climbs, a sensor freezes, a gateway
    resends old samples and a few share a timestamp."""
    rng = random.Random(11)
    devices = [
        device_info(
            device_id=f"EF-{n:03d}", kind=Kind.ELECTRICAL, site="zilai", building=f"B-{n // 6}"
        )
        for n in range(monitors)
    ]
    t0 = datetime(2025, 6, 12, 8, 0, tzinfo=UTC)
    streams: list[list[Timed]] = []
    for n, device in enumerate(devices):
        stream: list[Timed] = []
        cable, leak = 30.0 + rng.random() * 5, 120.0 + rng.random() * 50
        heat_from = rng.randrange(readings)
        for k in range(readings):
            step = 5.0 if k % 97 else 0.0  # a repeated timestamp now and then
            ts = t0 + timedelta(seconds=k * 5.0 - (0 if step else 5.0))
            if heat_from <= k < heat_from + 60:
                cable += rng.uniform(0.5, 2.5)
            elif cable > 35:
                cable -= rng.uniform(0.0, 1.5)
            cable += rng.gauss(0, 0.2)
            climb = (0.6 if k < readings * 3 // 4 else -2.0) if n % 3 == 0 else 0.0
            leak += rng.gauss(climb, 3.0)
            values = {"residual_current_ma": round(leak, 2), "cable_temp_c": round(cable, 2)}
            if n % 10 == 9 and k > readings // 2:
                values["cable_temp_c"] = 33.0  # frozen
            if k % 53 == 52:
                ts -= timedelta(seconds=60)  # a resent old sample
            message = Decoded("zilai", device.id, Channel.READING, ts, k + 1, values)
            stream.append((message, t0 + timedelta(seconds=k * 5.0 + n * 0.01)))
        streams.append(stream)
    # Ingest drains one device's backlog after another's, in runs of a few hundred.
    messages: list[Timed] = []
    for chunk in range(0, readings, 200):
        for stream in streams:
            messages.extend(stream[chunk : chunk + 200])
    run = Run(devices, seed=5)
    run.feed(messages)
    return run.lines


def hash_seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def fsri_files() -> list[Path]:
    files = sorted(p for p in FSRI_DIR.glob("*.csv") if not p.name.endswith("_Events.csv"))
    return files[::8]


def sections() -> Iterator[tuple[str, Callable[[], list[str]]]]:
    for name in sorted(SCENARIOS):
        yield f"scenario:{name}", partial(scenario_section, name)
    for path in fsri_files():
        yield f"fsri:{path.stem}", partial(fsri_section, path)
    yield "backlog:electrical", backlog_section


def compute() -> dict[str, Any]:
    digests: dict[str, dict[str, Any]] = {}
    sample: list[str] = []
    whole = hashlib.sha256()
    for name, build in sections():
        lines = build()
        text = "\n".join(lines).encode()
        whole.update(name.encode() + b"\n" + text + b"\n")
        digests[name] = {"decisions": len(lines), "sha256": hashlib.sha256(text).hexdigest()}
        sample.extend(f"{name} {line}" for line in lines[:: max(1, len(lines) // 3)][:3])
    return {"sha256": whole.hexdigest(), "sections": digests, "sample": sample[:SAMPLE_LINES]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the golden file")
    args = parser.parse_args()
    result = compute()
    if args.write:
        GOLDEN.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "sample"}, indent=1))


if __name__ == "__main__":
    main()
