"""The periodic jobs' scheduler on a clock the test moves: each job at its own period, a job
the database refused retried at its own pace with the outage told once, and a bug never
mistaken for an outage, nor a job that asks to be retried for a bug. The database errors are
real: a connection to a closed port."""

from __future__ import annotations

import logging

import psycopg
import pytest

from ingest.counters import IngestCounters
from ingest.outage import Outage
from ingest.scheduler import FAILED_RETRY_S, JOB_RETRY_S, RetryLater, Scheduler

DEAD_DATABASE = "postgresql://postgres@127.0.0.1:1/none?connect_timeout=2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Database:
    """A job's view of the database: up, or away (a real refused connection)."""

    def __init__(self) -> None:
        self.up = True
        self.runs = 0

    def job(self) -> None:
        if not self.up:
            psycopg.connect(DEAD_DATABASE).close()
        self.runs += 1


def _scheduler(clock: Clock, counters: IngestCounters, lost: list[int]) -> Scheduler:
    return Scheduler(Outage(counters), lost=lambda: lost.append(1), clock=clock)


def test_each_job_runs_at_its_own_period() -> None:
    clock, runs = Clock(), {"fast": 0, "slow": 0, "later": 0}
    scheduler = _scheduler(clock, IngestCounters(), [])

    def count(name: str) -> None:
        runs[name] += 1

    scheduler.every("fast", run=lambda: count("fast"), every_s=1)
    scheduler.every("slow", run=lambda: count("slow"), every_s=5)
    scheduler.every("later", run=lambda: count("later"), every_s=3, first_now=False)
    for _ in range(100):  # ten seconds of 100 ms passes
        scheduler.run_due()
        clock.now += 0.1
    assert runs == {"fast": 10, "slow": 2, "later": 3}


def test_a_database_outage_postpones_at_the_jobs_pace_and_is_told_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, counters, database = Clock(), IngestCounters(), Database()
    lost: list[int] = []
    scheduler = _scheduler(clock, counters, lost)
    scheduler.every("alert timers", run=database.job, every_s=1)
    scheduler.every("maintenance", run=database.job, every_s=3600)
    caplog.set_level(logging.INFO, logger="ingest.outage")
    scheduler.run_due()
    database.up = False
    clock.now += 3600
    for _ in range(300):  # thirty seconds away, the loop passing every 100 ms
        scheduler.run_due()
        clock.now += 0.1
    database.up = True
    for _ in range(20):
        scheduler.run_due()
        clock.now += 0.1
    # Away for 30 s: the timers tried once a second, maintenance every JOB_RETRY_S.
    away = 30 + 30 / JOB_RETRY_S
    assert away <= counters.postponed <= away + 2
    assert len(lost) == counters.postponed
    assert [r.levelname for r in caplog.records] == ["WARNING", "INFO"]
    assert f"{counters.postponed} periodic runs were postponed" in caplog.records[1].message
    assert database.runs >= 2 + 2  # both ran before and after


def test_an_error_that_is_no_outage_propagates() -> None:
    counters = IngestCounters()
    scheduler = _scheduler(Clock(), counters, [])

    def broken() -> None:
        raise ZeroDivisionError

    scheduler.every("alert timers", run=broken, every_s=1)
    with pytest.raises(ZeroDivisionError):
        scheduler.run_due()
    assert counters.postponed == 0


def test_a_job_without_the_database_does_not_end_an_outage(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, counters = Clock(), IngestCounters()
    database, progress = Database(), []
    database.up = False
    scheduler = _scheduler(clock, counters, [])
    scheduler.every("alert timers", run=database.job, every_s=1)
    scheduler.every("progress", run=lambda: progress.append(1), every_s=1, uses_database=False)
    caplog.set_level(logging.INFO, logger="ingest.outage")
    for _ in range(5):
        scheduler.run_due()
        clock.now += 1
    assert len(progress) == 5
    assert [r.levelname for r in caplog.records] == ["WARNING"]


def test_a_job_that_asks_to_be_retried_is_logged_and_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock, counters = Clock(), IngestCounters()
    lost: list[int] = []
    scheduler = _scheduler(clock, counters, lost)
    tries, timers = [], []

    def maintenance() -> None:
        tries.append(clock.now)
        if len(tries) < 3:
            raise RetryLater("retention policy already exists")

    scheduler.every("maintenance", run=maintenance, every_s=3600)
    scheduler.every("alert timers", run=lambda: timers.append(1), every_s=1)
    caplog.set_level(logging.INFO, logger="ingest")
    for _ in range(int(3 * FAILED_RETRY_S)):  # three minutes, a pass a second
        scheduler.run_due()
        clock.now += 1
    assert [t - tries[0] for t in tries] == [0, FAILED_RETRY_S, 2 * FAILED_RETRY_S]
    assert len(timers) == 3 * FAILED_RETRY_S  # the other jobs went on
    assert (counters.postponed, lost) == (0, [])  # no outage: the connection is kept
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert (
        warned == ["maintenance failed (retention policy already exists); tried again in 60 s"] * 2
    )
