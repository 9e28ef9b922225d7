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


def _register(url: str, devices: int) -> list[str]:
    ids = [f"EM-{i:04d}" for i in range(devices)]
    with psycopg.connect(url, autocommit=True) as db:
        db.execute(
            "INSERT INTO device_models (name, kind, topic, mapping) VALUES (%s, %s, %s, %s)",
            ("tasmota-energy", "electrical", "tele/{device}/SENSOR", Jsonb(MODEL)),
        )
        with db.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (id, kind, site, heartbeat_s, config)"
                " VALUES (%s, 'electrical', %s, %s, %s)",
                [
                    (
                        i,
                        SITE,
                        KIND_SPECS[Kind.ELECTRICAL].heartbeat_s,
                        Jsonb({"mqtt": {"model": "tasmota-energy"}}),
                    )
                    for i in ids
                ],
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--devices", type=int, default=200)
    args = parser.parse_args()
    with own_database("fw_bench_mapped") as url, own_broker(Path(tempfile.mkdtemp())) as broker:
        ids = _register(url, args.devices)
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
        finally:
            stop.set()
            thread.join(timeout=20)
            mapped.stop()
        assert mapped.counters.committed == args.runs * args.messages + len(ids), mapped.counters
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
        ],
        note=f"{args.runs} runs of {args.messages} messages over {args.devices} plugs, medians",
    )


if __name__ == "__main__":
    main()
