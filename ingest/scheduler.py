"""Ingest's periodic jobs (maintenance, the alert timers, the partition refresh, progress),
run from the committer's loop between batches, so no job ever runs beside a commit.

Each job has its own period. A job the database refused is tried again at its own pace (its
period, at most JOB_RETRY_S), never at every pass of the loop (every 10 ms), and the outage is
logged once (ingest/outage.py). A job that raises RetryLater (maintenance, when the database
refused one of its statements) is logged and tried again within FAILED_RETRY_S; the worker
goes on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from ingest.outage import TRANSIENT, Outage

log = logging.getLogger(__name__)

JOB_RETRY_S = 10.0
FAILED_RETRY_S = 60.0


class RetryLater(Exception):
    """Raised by a job whose run failed for a reason that may pass (a race with another
    worker, a lock held too long); its cause says what failed."""


@dataclass(slots=True)
class Job:
    name: str
    run: Callable[[], None]
    every_s: float
    uses_database: bool
    due_at: float


class Scheduler:
    def __init__(
        self,
        outage: Outage,
        *,
        lost: Callable[[], None],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """``lost`` is called when a job finds the database away (the connection is dropped,
        so the next try opens a fresh one)."""
        self._outage = outage
        self._lost = lost
        self._clock = clock
        self._jobs: list[Job] = []

    def every(
        self,
        name: str,
        *,
        run: Callable[[], None],
        every_s: float,
        uses_database: bool = True,
        first_now: bool = True,
    ) -> None:
        """Adds a job, due at once or (``first_now=False``) one period from now. A job that
        needs no database neither waits for one nor says it is back."""
        due_at = float("-inf") if first_now else self._clock() + every_s
        self._jobs.append(Job(name, run, every_s, uses_database, due_at))

    def run_due(self) -> None:
        """Runs every job that is due, in the order they were added. Errors other than the
        database's absence and RetryLater propagate: they are bugs, not weather."""
        for job in self._jobs:
            if self._clock() < job.due_at:
                continue
            try:
                job.run()
            except TRANSIENT as exc:
                self._lost()
                job.due_at = self._clock() + min(job.every_s, JOB_RETRY_S)
                self._outage.postponed(job.name, exc)
                continue
            except RetryLater as exc:
                retry_s = min(job.every_s, FAILED_RETRY_S)
                log.warning("%s failed (%s); tried again in %.0f s", job.name, exc, retry_s)
                job.due_at = self._clock() + retry_s
                continue
            job.due_at = self._clock() + job.every_s
            if job.uses_database:
                self._outage.ran()
