"""The periodic jobs' view of a database outage: told once, counted in between.

Maintenance, the alert timers and the partition refresh each retry at their own pace while the
database is away; each postponed run is counted (``IngestCounters.postponed``), and the outage
is logged twice: a WARNING when it starts and an INFO when it ends. Logging every postponed
run wrote 170 lines a second (5 MB a minute) and buried what mattered.
"""

from __future__ import annotations

import logging
import time

import psycopg

from ingest.counters import IngestCounters
from store.database import DatabaseUnavailable

log = logging.getLogger(__name__)

# What a database that is away raises: asking again later is the cure.
TRANSIENT = (psycopg.OperationalError, psycopg.InterfaceError, DatabaseUnavailable)


class Outage:
    """Written by the committer thread only, like the counters."""

    def __init__(self, counters: IngestCounters) -> None:
        self._counters = counters
        self._since: float | None = None
        self._postponed_at_start = 0

    def postponed(self, job: str, exc: BaseException) -> None:
        """A job could not run for want of the database: counted; logged only if it is the
        first sign of the outage."""
        self._counters.postponed += 1
        if self._since is None:
            self._since = time.monotonic()
            self._postponed_at_start = self._counters.postponed - 1
            log.warning(
                "database unavailable (%s); %s and the other periodic jobs are postponed and "
                "retried at their own pace until it returns",
                str(exc).strip(),
                job,
            )

    def ran(self) -> None:
        """A job reached the database: the outage, if any, is over."""
        if self._since is not None:
            log.info(
                "database back after %.1f s; %d periodic runs were postponed meanwhile",
                time.monotonic() - self._since,
                self._counters.postponed - self._postponed_at_start,
            )
            self._since = None
