"""A database away while ingest idles: the periodic jobs (maintenance, alert timers) retry at
their own pace and the outage is logged once as it starts and once as it ends, with the
postponed runs counted on /metrics in between. Before, the jobs retried at every pass of the
loop (10 ms) and logged each time: about 170 lines a second."""

from __future__ import annotations

import time
from pathlib import Path

from firewatch.testing import wait_until
from settings import Settings
from tests.faults.ingest_process import IngestProcess, log_records
from tests.faults.private_postgres import private_cluster

DOWN_S = 5.0
MAX_LINES = 10  # the bound for a whole minute; here it must hold for DOWN_S already


def test_database_outage_is_logged_once_and_counted(
    broker_url: str, site: str, tmp_path: Path
) -> None:
    log_path = tmp_path / "ingest.log"
    with private_cluster() as (cluster, url):
        local = Settings(
            database_url=url, mqtt_url=broker_url, site=site, ingest_client_id=f"ingest-{site}"
        )
        with IngestProcess(local, log_path) as ingest:
            wait_until(
                lambda: "engine warmed up" in log_path.read_text(),
                timeout=20,
                what="ingest to reach the database",
            )
            postponed_before = ingest.metric("firewatch_ingest_postponed_total")
            before = len(log_path.read_text().splitlines())
            records_before = len(log_records(log_path))
            cluster.stop()
            time.sleep(DOWN_S)
            postponed_in_outage = ingest.metric("firewatch_ingest_postponed_total")
            cluster.start()
            wait_until(
                lambda: "database back" in log_path.read_text(),
                timeout=30,
                what="ingest to notice the database is back",
            )
            lines = log_path.read_text().splitlines()[before:]
            records = log_records(log_path)[records_before:]
    print(
        f"\n  {len(lines)} log lines over a {DOWN_S:.0f} s outage; "
        f"{postponed_in_outage - postponed_before:.0f} periodic runs postponed"
    )
    for line in lines:
        print("   ", line[:160])
    assert len(lines) <= MAX_LINES
    outage = [r for r in records if r["logger"] == "ingest.outage"]
    assert [r["level"] for r in outage] == ["WARNING", "INFO"], outage
    # The timers run every second (FIREWATCH_ENGINE_TICK_S): postponed at that pace, not 100
    # times a second, and not forgotten either.
    assert DOWN_S - 3 <= postponed_in_outage - postponed_before <= 2 * DOWN_S + 2
