"""Two partitioned ingest workers started at the same moment on a fresh database, ``--times``
times on each backend: how many errors their start-up maintenance met (a worker that died, a
maintenance run the database refused), and whether what they left is one policy set or one
set of partitions.

    python -m bench.workers_start [--times 10] [--timescaledb URL]

Before the fix (issue 20) the TimescaleDB path failed here: retention policies removed and
added in separate commits by both workers (DuplicateObject, tuple concurrently deleted), and
a worker's loop ended on it.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

from bench.results import Figure, record
from bench.timeseries_ingest import timescaledb_server
from firewatch.testing import own_broker, own_database, wait_until
from ingest.service import IngestService
from settings import Settings
from store.migrate import backend
from store.timeseries import PARTITIONED, policies

SETTLE_S = 3.0  # after both are ready: their first maintenance has run by then


class Errors(logging.Handler):
    """Every WARNING or worse an ingest module logs."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith("ingest"):
            self.seen.append(f"{record.name}: {record.getMessage()}")


def _left_consistent(url: str) -> bool:
    """One job per wanted policy (TimescaleDB), or each partition once (stock PostgreSQL)."""
    with psycopg.connect(url) as conn:
        if backend(conn) == "timescaledb":
            jobs = conn.execute(
                "SELECT proc_name, hypertable_name FROM timescaledb_information.jobs"
                " WHERE hypertable_name IS NOT NULL"
            ).fetchall()
            wanted = policies(keep_days=Settings().retention_days, stale_after_s=7 * 86400)
            return sorted(jobs) == sorted((p.proc, p.relation) for p in wanted)
        parents = conn.execute(
            "SELECT p.relname, count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = ANY(%s) GROUP BY 1",
            (list(PARTITIONED),),
        ).fetchall()
        return len({n for _, n in parents}) == 1 and len(parents) == len(PARTITIONED)


def _once(broker: str, server: str, n: int) -> tuple[int, bool]:
    """Errors met, and whether the database was left as one worker would leave it."""
    errors = Errors()
    logging.getLogger().addHandler(errors)
    try:
        with own_database("fw_start", server=server) as url:
            services = [
                IngestService(
                    Settings(
                        database_url=url,
                        mqtt_url=broker,
                        site=f"s{n}",
                        ingest_client_id=f"start-{n}-{i}",
                        ingest_workers=2,
                        ingest_worker_index=i,
                        ingest_alarm_session=False,
                    )
                )
                for i in range(2)
            ]
            stop, go = threading.Event(), threading.Barrier(2)

            def run(service: IngestService) -> None:
                go.wait()
                service.run(stop)

            threads = [threading.Thread(target=run, args=(s,), daemon=True) for s in services]
            for thread in threads:
                thread.start()
            try:
                wait_until(lambda: all(s.ready for s in services), timeout=30, what="ready")
                time.sleep(SETTLE_S)
                died = sum(not t.is_alive() for t in threads)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(timeout=20)
            return len(errors.seen) + died, _left_consistent(url)
    finally:
        logging.getLogger().removeHandler(errors)
        for line in errors.seen:
            print(f"    {line}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--times", type=int, default=10)
    parser.add_argument("--timescaledb", default="", help="default: FIREWATCH_TEST_DATABASE_URL")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR)
    servers = {"native": Settings().database_url}
    timescale = timescaledb_server(args.timescaledb)
    if timescale:
        servers["timescaledb"] = timescale
    figures = []
    with tempfile.TemporaryDirectory() as work, own_broker(Path(work)) as broker:
        for name, server in servers.items():
            errors, consistent = 0, 0
            for n in range(args.times):
                met, ok = _once(broker, server, n)
                errors += met
                consistent += ok
                print(
                    f"  {name} start {n + 1}: {met} errors, left consistent: {ok}", file=sys.stderr
                )
            print(
                f"{name}: two workers started together {args.times} times: {errors} errors,"
                f" {consistent} of {args.times} left as one worker would"
            )
            figures.append(
                Figure(
                    name=f"{name}: two workers starting together, errors in {args.times} starts",
                    value=errors,
                    unit="errors",
                    target="0 errors",
                    met=errors == 0 and consistent == args.times,
                )
            )
    if "timescaledb" not in servers:
        print("TimescaleDB: no server with it at --timescaledb or FIREWATCH_TEST_DATABASE_URL")
    record("workers_start", figures, note=f"{args.times} starts per backend")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
