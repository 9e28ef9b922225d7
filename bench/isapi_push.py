"""Camera alarms (ISAPI notifications) committed per second through `firewatch api` into a
real `firewatch ingest` (issue 18's HTTP push target: >= 1,000 requests/s, a retry stores
nothing twice).

Each request is one TMA notification (XML, as a DS-2TD dome posts it) from one of the
registered thermal cameras, logged in with Basic against the device password's hash; it counts
only once answered 200, which the route gives only after ingest has committed it. Three ways
of sending, in each run on the same processes:

- concurrent: many camera connections at once, whose notifications the api hands to ingest
  together;
- one at a time: each notification waits for its own commit before the next (the baseline);
- concurrent with pictures: each notification multipart with two 200 KiB JPEGs, dropped unread;

then a retry of notifications already committed: every one answered 200, no row more stored.
The load comes from a keep-alive HTTP/1.1 client on raw sockets; api, ingest, PostgreSQL and
the client share the machine's cores.

    nice python -m bench.isapi_push [--runs 3] [--posts 4000] [--connections 64]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx2
import psycopg

from bench.results import Figure, record
from contract.kinds import KIND_SPECS, Kind
from firewatch.testing import free_port, own_broker, own_database, wait_until
from registry.credentials import mosquitto_hash

CAMERAS = 50
PASSWORD = "bench-camera-password"
TARGET = 1000.0
PICTURE = b"\xff\xd8\xff\xe0" + os.urandom(200 * 1024) + b"\xff\xd9"


def _tma(at: datetime, count: int, celsius: float) -> bytes:
    return (
        '<EventNotificationAlert version="2.0" xmlns="http://www.isapi.org/ver20/XMLSchema">'
        "<ipAddress>192.168.1.64</ipAddress><portNo>80</portNo><protocol>HTTP</protocol>"
        "<macAddress>4c:f5:dc:12:34:56</macAddress><channelID>2</channelID>"
        f"<dateTime>{at.isoformat(timespec='seconds')}</dateTime>"
        f"<activePostCount>{count}</activePostCount><eventType>TMA</eventType>"
        "<eventState>active</eventState><eventDescription>Temperature Measurement Alarm"
        "</eventDescription><DetectionRegionList><DetectionRegionEntry><regionID>1</regionID>"
        "<TMA><thermometryUnit>celsius</thermometryUnit><ruleTemperature>55</ruleTemperature>"
        f"<currTemperature>{celsius:.1f}</currTemperature><ruleCalibType>region</ruleCalibType>"
        "<ruleType>highest temp is higher than</ruleType><presetNo>1</presetNo></TMA>"
        "</DetectionRegionEntry></DetectionRegionList></EventNotificationAlert>"
    ).encode()


def _with_pictures(alert: bytes) -> bytes:
    head = b'--boundary\r\nContent-Disposition: form-data; name="TMA"\r\n'
    body = head + b"Content-Type: application/xml\r\n\r\n" + alert + b"\r\n"
    for _ in range(2):
        body += (
            head.replace(b'"TMA"', b'"TMA"; filename="TMA.jpg"')
            + b"Content-Type: image/jpeg\r\n\r\n"
            + PICTURE
            + b"\r\n"
        )
    return body + b"--boundary--\r\n"


def posts(count: int, *, start: datetime, serial: int, pictures: bool = False) -> list[bytes]:
    """``count`` distinct requests (head and body), spread over the cameras."""
    out = []
    for i in range(count):
        camera = f"TC-{(i + serial) % CAMERAS:03d}"
        alert = _tma(start + timedelta(seconds=i), serial * 1_000_000 + i + 1, 60 + i % 30)
        body = _with_pictures(alert) if pictures else alert
        kind = "multipart/form-data; boundary=boundary" if pictures else "application/xml"
        login = base64.b64encode(f"{camera}:{PASSWORD}".encode()).decode()
        out.append(
            (
                f"POST /api/v1/gateways/isapi HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                f"Authorization: Basic {login}\r\nContent-Type: {kind}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n"
            ).encode()
            + body
        )
    return out


async def _connection(port: int, work: list[bytes], statuses: list[int]) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while work:
            writer.write(work.pop())
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            await reader.readexactly(length)
            statuses.append(int(head.split(b" ", 2)[1]))
    finally:
        writer.close()


async def _send(port: int, requests: list[bytes], connections: int) -> tuple[float, list[int]]:
    work, statuses = list(reversed(requests)), list[int]()
    started = time.perf_counter()
    await asyncio.gather(*(_connection(port, work, statuses) for _ in range(connections)))
    return time.perf_counter() - started, statuses


def _stored(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT count(*) FROM readings").fetchone()
    assert row is not None
    return int(row[0])


def _register(url: str, site: str) -> None:
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        ids = [f"TC-{i:03d}" for i in range(CAMERAS)]
        heartbeat = KIND_SPECS[Kind.THERMAL_CAMERA].heartbeat_s
        cur.executemany(
            "INSERT INTO devices (id, kind, site, heartbeat_s) VALUES (%s, %s, %s, %s)",
            [(i, Kind.THERMAL_CAMERA.value, site, heartbeat) for i in ids],
        )
        cur.executemany(
            "INSERT INTO device_credentials (device_id, password_hash) VALUES (%s, %s)",
            [(i, mosquitto_hash(PASSWORD)) for i in ids],
        )


@contextmanager
def _processes(url: str, broker: str, site: str, port: int) -> Iterator[None]:
    env = {
        **os.environ,
        "FIREWATCH_DATABASE_URL": url,
        "FIREWATCH_MQTT_URL": broker,
        "FIREWATCH_SITE": site,
        "FIREWATCH_API_PORT": str(port),
        "FIREWATCH_INGEST_METRICS_PORT": "0",
        "FIREWATCH_INGEST_CLIENT_ID": f"bench-isapi-{port}",
        "FIREWATCH_LOG_FORMAT": "json",
        "FIREWATCH_EMBEDDED": "false",
    }
    main = "from firewatch.cli import main; main()"
    procs = [
        subprocess.Popen([sys.executable, "-c", main, role], env=env, stderr=subprocess.DEVNULL)
        for role in ("ingest", "api")
    ]
    try:
        wait_until(lambda: _up(port), timeout=60, what="firewatch api")
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def _up(port: int) -> bool:
    try:
        return httpx2.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx2.TransportError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--posts", type=int, default=4000)
    parser.add_argument("--one-at-a-time", type=int, default=300)
    parser.add_argument("--with-pictures", type=int, default=600)
    parser.add_argument("--retries", type=int, default=1000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    site = "bench"
    concurrent: list[float] = []
    single: list[float] = []
    pictured: list[float] = []
    retries_clean = True
    with (
        tempfile.TemporaryDirectory() as work,
        own_broker(Path(work)) as broker,
        own_database("fw_bench_isapi") as url,
    ):
        _register(url, site)
        port = free_port()
        with _processes(url, broker, site, port):
            start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
            asyncio.run(_send(port, posts(200, start=start, serial=99), 16))  # warm
            for run in range(args.runs):
                base = start + timedelta(hours=run + 1)
                before = _stored(url)
                requests = posts(args.posts, start=base, serial=run)
                took, statuses = asyncio.run(_send(port, requests, args.connections))
                ok = statuses.count(200)
                stored = _stored(url) - before
                concurrent.append(ok / took)
                lone = posts(args.one_at_a_time, start=base + timedelta(minutes=20), serial=run)
                took_lone, lone_statuses = asyncio.run(_send(port, lone, 1))
                single.append(lone_statuses.count(200) / took_lone)
                heavy = posts(
                    args.with_pictures,
                    start=base + timedelta(minutes=40),
                    serial=run,
                    pictures=True,
                )
                took_heavy, heavy_statuses = asyncio.run(_send(port, heavy, args.connections))
                pictured.append(heavy_statuses.count(200) / took_heavy)
                held = _stored(url)
                again = asyncio.run(_send(port, requests[: args.retries], args.connections))[1]
                clean = set(again) == {200} and _stored(url) == held
                retries_clean &= clean and stored == ok == len(requests)
                print(
                    f"run {run + 1}: concurrent {ok}/{len(requests)} answered 200 in {took:.2f} s"
                    f" = {ok / took:.0f}/s, {stored} rows; one at a time {single[-1]:.0f}/s; "
                    f"with 2 x 200 KiB pictures {pictured[-1]:.0f}/s "
                    f"({heavy_statuses.count(200)}/{len(heavy)}); {len(again)} retries "
                    f"{'stored nothing twice' if clean else 'STORED AGAIN or refused'}"
                )
    median, lone_median = statistics.median(concurrent), statistics.median(single)
    heavy_median = statistics.median(pictured)
    spread = f"{min(concurrent):.0f}-{max(concurrent):.0f}"
    print(
        f"concurrent: median {median:.0f}/s committed (runs {spread}); one at a time: median "
        f"{lone_median:.0f}/s ({min(single):.0f}-{max(single):.0f}); ratio "
        f"{median / lone_median:.1f}x; with pictures: median {heavy_median:.0f}/s "
        f"({min(pictured):.0f}-{max(pictured):.0f})"
    )
    figures = [
        Figure(
            name=f"ISAPI camera alarms committed, {args.connections} connections",
            value=round(median, 0),
            unit="requests/s",
            target=">= 1,000 requests/s",
            met=median >= TARGET,
            baseline="one notification at a time, each waiting for its commit",
            ratio=round(median / lone_median, 1),
        ),
        Figure(
            name="ISAPI camera alarms with two 200 KiB pictures, committed",
            value=round(heavy_median, 0),
            unit="requests/s",
            target="",
            met=None,
            baseline="one notification at a time, each waiting for its commit",
            ratio=round(heavy_median / lone_median, 1),
        ),
        Figure(
            name="a retry of a committed notification stores nothing twice",
            value=float(retries_clean),
            unit="bool",
            target="all",
            met=retries_clean,
        ),
    ]
    note = f"median of {args.runs} runs, spread {spread} requests/s"
    print(f"wrote {record('isapi_push', figures, note=note)}")


if __name__ == "__main__":
    main()
