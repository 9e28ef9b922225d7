"""Mapped MQTT's cost: Tasmota plugs' own JSON through ingest's mapped session, against the
same readings sent as contract messages on fw/v1 (the baseline, measured in the same run on
the same ingest, broker and database).

Each round publishes ``--messages`` Tasmota SENSOR messages (voltage and current, each one
contract reading once translated) spread over ``--devices`` plugs, and as many contract
readings, in turn; a round's rate is from its first publish until ingest has stored them all
(counted after commit). Publisher, broker, ingest and PostgreSQL share the machine's cores.

    nice python -m bench.mapped_mqtt [--runs 3] [--messages 5000] [--devices 200]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import orjson
import psycopg
from psycopg.types.json import Jsonb

from bench.results import Figure, record
from contract.kinds import KIND_SPECS, Kind
from contract.topics import Channel, topic_for
from firewatch.testing import own_broker, own_database, wait_until
from gateways.mapped_mqtt import MappedMqttSource
from ingest.parts import IngestParts
from ingest.service import IngestService
from settings import Settings
from simulators.publisher import Publisher

SITE = "bench"
BEIJING = ZoneInfo("Asia/Shanghai")
MODEL = {
    "time": {"path": "Time", "zone": "Asia/Shanghai"},
    "metrics": [
        {"path": "ENERGY.Voltage", "metric": "voltage_v"},
        {"path": "ENERGY.Current", "metric": "current_a"},
    ],
    "events": [],
}
SMOKE_MODEL = {
    "time": None,
    "metrics": [],
    "events": [{"path": "smoke", "equals": True, "event": "alarm"}],
}


def _register(url: str, devices: int, alarms: int) -> list[str]:
    """The plugs, and smoke sensors for the alarms: ``SD-…`` through Zigbee2MQTT, ``SC-…``
    speaking the contract."""
    ids = [f"EM-{i:04d}" for i in range(devices)]
    link = Jsonb({"mqtt": {"model": "tasmota-energy"}})
    rows = [(i, "electrical", link) for i in ids]
    rows += [
        (f"SD-{i:04d}", "smoke", Jsonb({"mqtt": {"model": "z2m-smoke"}})) for i in range(alarms)
    ]
    rows += [(f"SC-{i:04d}", "smoke", Jsonb({})) for i in range(alarms)]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO device_models (name, kind, topic, mapping) VALUES (%s, %s, %s, %s)",
            ("tasmota-energy", "electrical", "tele/{device}/SENSOR", Jsonb(MODEL)),
        )
        db.execute(
            "INSERT INTO device_models (name, kind, topic, mapping) VALUES (%s, %s, %s, %s)",
            ("z2m-smoke", "smoke", "z2m/{device}", Jsonb(SMOKE_MODEL)),
        )
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (id, kind, site, heartbeat_s, config)"
                " VALUES (%s, %s, %s, %s, %s)",
                [(i, kind, SITE, KIND_SPECS[Kind(kind)].heartbeat_s, c) for i, kind, c in rows],
            )
    return ids


def _tasmota(ids: list[str], count: int, start: datetime) -> list[tuple[str, bytes]]:
    """Tasmota's Time has whole seconds: each plug's messages a second apart."""
    out = []
    for n in range(count):
        at = (start + timedelta(seconds=n // len(ids))).astimezone(BEIJING)
        body = {
            "Time": at.replace(tzinfo=None).isoformat(timespec="seconds"),
            "ENERGY": {"Power": 460, "Voltage": 230.0 + n % 10, "Current": 2.0},
        }
        out.append((f"tele/{ids[n % len(ids)]}/SENSOR", orjson.dumps(body)))
    return out


def _contract(ids: list[str], count: int, start: datetime) -> list[tuple[str, bytes]]:
    out = []
    for n in range(count):
        ts = start + timedelta(seconds=n // len(ids))
        body = {
            "ts": int(ts.timestamp() * 1000),
            "seq": n,
            "values": {"voltage_v": 230.0 + n % 10, "current_a": 2.0},
        }
        out.append((topic_for(SITE, ids[n % len(ids)], Channel.READING), orjson.dumps(body)))
    return out


def _round(
    service: IngestService, publisher: Publisher, messages: list[tuple[str, bytes]]
) -> float:
    before = service.counters.stored
    started = time.perf_counter()
    for topic, payload in messages:
        publisher.publish(topic, payload)
    wait_until(
        lambda: service.counters.stored >= before + len(messages),
        timeout=300,
        what=f"{len(messages)} messages stored",
    )
    return len(messages) / (time.perf_counter() - started)


def _latencies(
    service: IngestService, publisher: Publisher, messages: list[tuple[str, bytes]]
) -> list[float]:
    """Each message alone: from its publish until ingest has committed it, in ms."""
    out = []
    for topic, payload in messages:
        before = service.counters.stored
        started = time.perf_counter()
        publisher.publish(topic, payload)
        while service.counters.stored <= before:
            time.sleep(0.0005)
        out.append((time.perf_counter() - started) * 1000)
    return out


def _alarms(count: int, start: datetime) -> tuple[list[tuple[str, bytes]], ...]:
    """A Zigbee2MQTT alarm per SD sensor (smoke alone: one event), and the same alarm as a
    contract event per SC sensor: one contract message each, each raising its own alert."""
    mapped = [(f"z2m/SD-{i:04d}", b'{"smoke": true}') for i in range(count)]
    contract = [
        (
            topic_for(SITE, f"SC-{i:04d}", Channel.EVENT),
            orjson.dumps({"ts": int(start.timestamp() * 1000), "seq": i, "type": "alarm"}),
        )
        for i in range(count)
    ]
    return mapped, contract


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=200)
    parser.add_argument("--alarms", type=int, default=200)
    args = parser.parse_args()
    with own_database("fw_bench_mapped") as url, own_broker(Path(tempfile.mkdtemp())) as broker:
        ids = _register(url, args.devices, args.alarms)
        settings = Settings(
            database_url=url,
            mqtt_url=broker,
            site=SITE,
            ingest_client_id="bench-mapped",
            mapped_mqtt=True,
        )
        mapped = MappedMqttSource(settings)
        mapped.start()
        service = IngestService(
            settings, parts=IngestParts.from_settings(settings, local_gateways=[mapped])
        )
        stop = threading.Event()
        thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
        thread.start()
        wait_until(lambda: service.ready, timeout=10, what="ingest")
        rates: dict[str, list[float]] = {"mapped": [], "contract": []}
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
        try:
            with Publisher(settings.mqtt, client_id="bench-publisher") as publisher:
                warm = start - timedelta(minutes=5)  # first rounds pay for caches: not counted
                _round(service, publisher, _tasmota(ids, len(ids), warm))
                _round(service, publisher, _contract(ids, len(ids), warm))
                for run in range(args.runs):
                    at = start + timedelta(minutes=5 * run)
                    rates["mapped"].append(
                        _round(service, publisher, _tasmota(ids, args.messages, at))
                    )
                    rates["contract"].append(
                        _round(service, publisher, _contract(ids, args.messages, at))
                    )
                    print(
                        f"run {run + 1}: mapped {rates['mapped'][-1]:,.0f} msg/s, "
                        f"contract {rates['contract'][-1]:,.0f} msg/s"
                    )
                alarm_mapped, alarm_contract = _alarms(args.alarms, datetime.now(UTC))
                waits: dict[str, list[float]] = {"mapped": [], "contract": []}
                for half in range(2):  # interleaved halves, so drift hits both alike
                    part = slice(half * args.alarms // 2, (half + 1) * args.alarms // 2)
                    waits["mapped"] += _latencies(service, publisher, alarm_mapped[part])
                    waits["contract"] += _latencies(service, publisher, alarm_contract[part])
        finally:
            stop.set()
            thread.join(timeout=20)
            mapped.stop()
        made = args.runs * args.messages + len(ids) + args.alarms
        assert mapped.counters.committed == made, mapped.counters
        assert not mapped.counters.refused, mapped.counters.refused
    mapped_rate = statistics.median(rates["mapped"])
    contract_rate = statistics.median(rates["contract"])
    spread = {k: (min(v), max(v)) for k, v in rates.items()}
    ratio = mapped_rate / contract_rate
    print(
        f"mapped MQTT (Tasmota JSON) median {mapped_rate:,.0f} msg/s "
        f"(runs {spread['mapped'][0]:,.0f}..{spread['mapped'][1]:,.0f}); contract readings "
        f"median {contract_rate:,.0f} msg/s ({spread['contract'][0]:,.0f}.."
        f"{spread['contract'][1]:,.0f})"
    )
    print(f"mapped / contract = {ratio:.2f}x")
    p50 = {k: statistics.median(v) for k, v in waits.items()}
    p99 = {k: _percentile(v, 0.99) for k, v in waits.items()}
    print(
        f"an alarm alone, publish to commit: mapped p50 {p50['mapped']:.1f} ms p99 "
        f"{p99['mapped']:.1f} ms; contract p50 {p50['contract']:.1f} ms p99 "
        f"{p99['contract']:.1f} ms ({args.alarms // 2 * 2} each)"
    )
    record(
        "mapped_mqtt",
        [
            Figure(
                name="mapped MQTT messages stored per second",
                value=round(mapped_rate),
                unit="msg/s",
                target="",
                met=None,
                baseline="the same readings as contract messages, same run",
                ratio=round(ratio, 2),
            ),
            Figure(
                name="mapped MQTT alarm, publish to commit, p99",
                value=round(p99["mapped"], 1),
                unit="ms",
                target="",
                met=None,
                baseline="the same alarm as a contract event, same run",
                ratio=round(p99["mapped"] / p99["contract"], 2),
            ),
        ],
        note=f"{args.runs} runs of {args.messages} messages over {args.devices} plugs, medians;"
        f" {args.alarms} alarms alone",
    )


if __name__ == "__main__":
    main()
