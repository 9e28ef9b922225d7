"""A day of the quarter at seed scale, loaded by binary COPY: 3,031 devices, electrical monitors
every 10 s, smoke detectors every 60 s, cameras every 5 s (about 24 million readings), their
live status, and a day's alerts with their logs.

Rows are built as numpy records in PostgreSQL's binary COPY layout, one block per device and
metric, so loading is bounded by the database, not by Python.
"""

from __future__ import annotations

import random
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg
from psycopg.types.json import Jsonb

from contract.alarms import Rule
from contract.families import family
from contract.kinds import Kind
from simulators.topology import Device, build_quarter
from store.timeseries import PartitionKeeper

PERIOD_S = {Kind.ELECTRICAL: 10, Kind.SMOKE: 60, Kind.THERMAL_CAMERA: 5}
METRICS: dict[Kind, dict[str, tuple[float, float]]] = {  # metric: (level, noise)
    Kind.ELECTRICAL: {
        "residual_current_ma": (25.0, 3.0),
        "cable_temp_c": (38.0, 1.5),
        "current_a": (6.0, 1.0),
        "voltage_v": (220.0, 2.0),
    },
    Kind.SMOKE: {"obscuration_pct_per_m": (0.2, 0.05), "temperature_c": (24.0, 0.4)},
    Kind.THERMAL_CAMERA: {
        "max_temp_c": (45.0, 3.0),
        "avg_temp_c": (22.0, 1.0),
        "min_temp_c": (8.0, 1.0),
    },
}
ALERTS_PER_DAY = 400
_PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_HEADER = b"PGCOPY\n\xff\r\n\x00" + (0).to_bytes(4, "big") + (0).to_bytes(4, "big")
_TRAILER = (-1).to_bytes(2, "big", signed=True)


def _block(
    device: str,
    metric: str,
    ts_us: np.ndarray[Any, Any],
    values: np.ndarray[Any, Any],
    received_us: np.ndarray[Any, Any],
) -> bytes:
    """Rows (ts, device_id, metric, value, seq, region NULL, preset NULL, received_at)."""
    d, m = device.encode(), metric.encode()
    rec = np.dtype(
        [
            ("nf", ">i2"),
            ("l_ts", ">i4"),
            ("ts", ">i8"),
            ("l_dev", ">i4"),
            ("dev", f"S{len(d)}"),
            ("l_met", ">i4"),
            ("met", f"S{len(m)}"),
            ("l_val", ">i4"),
            ("val", ">f8"),
            ("l_seq", ">i4"),
            ("seq", ">i8"),
            ("l_region", ">i4"),
            ("l_preset", ">i4"),
            ("l_rec", ">i4"),
            ("rec", ">i8"),
        ]
    )
    rows = np.empty(len(ts_us), dtype=rec)
    rows["nf"], rows["l_ts"], rows["ts"] = 8, 8, ts_us
    rows["l_dev"], rows["dev"], rows["l_met"], rows["met"] = len(d), d, len(m), m
    rows["l_val"], rows["val"], rows["l_seq"] = 8, values, 8
    rows["seq"] = np.arange(1, len(ts_us) + 1)
    rows["l_region"], rows["l_preset"], rows["l_rec"], rows["rec"] = -1, -1, 8, received_us
    return rows.tobytes()


def _readings(devices: list[Device], start: datetime, end: datetime) -> Iterator[tuple[bytes, int]]:
    rng = np.random.default_rng(7)
    base_us = int((start - _PG_EPOCH).total_seconds() * 1e6)
    span_s = int((end - start).total_seconds())
    for device in devices:
        period = PERIOD_S[device.kind]
        offsets = np.arange(rng.integers(0, period), span_s, period, dtype=np.int64)
        ts_us = base_us + offsets * 1_000_000
        received = ts_us + rng.integers(20_000, 400_000, len(ts_us))
        for metric, (level, noise) in METRICS[device.kind].items():
            walk = np.cumsum(rng.normal(0, noise / 8, len(ts_us)))
            values = np.maximum(level + walk - walk.mean() + rng.normal(0, noise, len(ts_us)), 0)
            yield _block(device.id, metric, ts_us, values, received), len(ts_us)


def load_day(url: str, *, site: str, now: datetime, progress: bool = True) -> dict[str, int]:
    """Registers the quarter under ``site`` and fills the 24 h before ``now``; returns counts."""
    quarter = build_quarter(seed=7, site=site)
    devices = list(quarter.devices)
    start = now - timedelta(hours=24)
    counts = {"devices": len(devices), "readings": 0, "alerts": 0}
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO devices (id, kind, site, name, building, floor, room, lat, lon, zone,"
                " heartbeat_s, config) VALUES (%(id)s, %(kind)s, %(site)s, %(name)s, %(building)s,"
                " %(floor)s, %(room)s, %(lat)s, %(lon)s, %(zone)s, %(heartbeat_s)s, %(config)s)",
                [{**d.registry_row(), "config": Jsonb(d.config)} for d in devices],
            )
        PartitionKeeper(conn).ensure(conn, {start.date(), now.date()})
        began, total = time.perf_counter(), 0
        with conn.cursor() as cur, cur.copy("COPY readings FROM STDIN (FORMAT BINARY)") as copy:
            copy.write(_HEADER)
            for n, (block, rows) in enumerate(_readings(devices, start, now)):
                copy.write(block)
                total += rows
                if progress and n % 500 == 0:
                    rate = total / max(time.perf_counter() - began, 1e-9)
                    print(f"\r  readings: {total:,} ({rate:,.0f} rows/s)", end="", file=sys.stderr)
            copy.write(_TRAILER)
        if progress:
            print(
                f"\r  readings: {total:,} in {time.perf_counter() - began:.0f} s", file=sys.stderr
            )
        counts["readings"] = total
        _status(conn, devices, now)
        counts["alerts"] = _alerts(conn, devices, site=site, start=start, now=now)
        conn.execute("ANALYZE")
    return counts


def _status(conn: psycopg.Connection[Any], devices: list[Device], now: datetime) -> None:
    """Every device's newest values; 2 % of them silent for an hour (offline)."""
    rng = random.Random(7)
    with conn.cursor() as cur:
        cur.executemany(
            "INSERT INTO device_status (device_id, last_seen, last_received_at, last_seq, latest,"
            " battery_pct, message_count) VALUES (%s, %s, %s, 1, %s, 90, 1000)",
            [
                (
                    d.id,
                    heard,
                    heard,
                    Jsonb(
                        {
                            m: round(lv + rng.gauss(0, nz), 2)
                            for m, (lv, nz) in METRICS[d.kind].items()
                        }
                    ),
                )
                for d in devices
                for heard in [now - timedelta(seconds=3600 if rng.random() < 0.02 else 5)]
            ],
        )


def _alerts(
    conn: psycopg.Connection[Any],
    devices: list[Device],
    *,
    site: str,
    start: datetime,
    now: datetime,
) -> int:
    """A busy day: alerts of every class, most handled and resolved, some still open."""
    rng = random.Random(11)
    rules = [
        ("smoke_alarm", "fire"),
        ("heat_anomaly", "prealarm"),
        ("leakage", "prealarm"),
        ("offline", "trouble"),
        ("low_battery", "trouble"),
        ("tamper", "supervisory"),
    ]
    for n in range(ALERTS_PER_DAY):
        device = rng.choice(devices)
        rule, cls = rng.choice(rules)
        raised = start + timedelta(seconds=rng.uniform(0, 86_000))
        resolved = n < ALERTS_PER_DAY * 0.9
        acked = raised + timedelta(seconds=rng.uniform(5, 120))
        done = acked + timedelta(seconds=rng.uniform(60, 1800))
        row = conn.execute(
            "INSERT INTO alerts (device_id, subject, family, rule, class, state, raised_at,"
            " received_at, last_at, created_at, site, building, acked_at, acked_by, resolved_at,"
            " resolved_by, cause)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (
                device.id,
                device.id,
                family(Rule(rule)),
                rule,
                cls,
                "resolved" if resolved else "active_unack",
                raised,
                raised,
                raised,
                raised,
                site,
                device.building,
                acked if resolved else None,
                "op-bench" if resolved else None,
                done if resolved else None,
                "op-bench" if resolved else None,
                "false_alarm" if resolved else None,
            ),
        ).fetchone()
        if row is None:
            continue
        steps = [("engine", "raise", raised)]
        if resolved:
            steps += [("op-bench", "ack", acked), ("op-bench", "resolve", done)]
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO alert_log (alert_id, actor, action, at) VALUES (%s, %s, %s, %s)",
                [(row[0], actor, action, at) for actor, action, at in steps],
            )
    # The open signals' incidents, one per building, as ingest would have placed them.
    conn.execute(_INCIDENTS, {"site": site})
    return int(conn.execute("SELECT count(*) FROM alerts").fetchone()[0])  # type: ignore[index]


_INCIDENTS = """
WITH made AS (
    INSERT INTO incidents (site, building, class, state, opened_at, last_at)
    SELECT %(site)s, building,
           CASE WHEN bool_or(class = 'fire') THEN 'fire'
                WHEN bool_or(class = 'prealarm') THEN 'prealarm' ELSE 'supervisory' END,
           'active_unack', min(raised_at), max(last_at)
    FROM alerts
    WHERE state <> 'resolved' AND class <> 'trouble' AND building IS NOT NULL
    GROUP BY building
    RETURNING id, building
)
UPDATE alerts a SET incident_id = made.id FROM made
WHERE a.building = made.building AND a.state <> 'resolved' AND a.class <> 'trouble'
"""
