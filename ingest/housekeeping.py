"""Ingest's hourly housekeeping of the store: partitions ahead of the data, retention (and on
TimescaleDB its policies), and the bounded tables trimmed to their caps (store/bounded.py).

Every worker runs it, at start and hourly, often at the same moment as another. A statement
the database refuses (a lock held too long, a race the store did not foresee) is logged and the
whole run tried again soon (ingest/scheduler.py); it never ends the worker. A database that is
away is an outage, handled as for every other job.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import psycopg

from ingest.outage import TRANSIENT
from ingest.pipeline import BatchWriter
from ingest.scheduler import RetryLater
from settings import Settings
from store.bounded import prune_bounded_tables
from store.restamped import prune_restamped
from store.timeseries import apply_retention

log = logging.getLogger(__name__)

EVERY_S = 3600.0


def keep_house(writer: BatchWriter, settings: Settings) -> None:
    try:
        _keep_house(writer, settings)
    except psycopg.errors.LockNotAvailable as exc:  # an OperationalError, but no outage
        raise RetryLater(str(exc).strip()) from exc
    except TRANSIENT:
        raise
    except psycopg.Error as exc:
        raise RetryLater(f"{type(exc).__name__}: {str(exc).strip()}") from exc


def _keep_house(writer: BatchWriter, settings: Settings) -> None:
    """Partitions cover every day a message may still be stamped with (a stale clock included),
    so a batch seldom creates one on its hot path."""
    conn = writer.conn
    now = datetime.now(UTC)
    writer.partitions.ensure_window(
        conn, now=now, back=timedelta(seconds=settings.stale_after_s + 86400)
    )
    changed = apply_retention(
        conn, now=now, keep_days=settings.retention_days, stale_after_s=settings.stale_after_s
    )
    prune_restamped(conn, before=now - timedelta(days=settings.retention_days))
    if changed:
        log.info("retention: %s", ", ".join(changed))
    prune_bounded_tables(
        conn,
        now=now,
        dead_letter_days=settings.dead_letter_retention_days,
        dead_letters_max=settings.dead_letters_max,
        pending_days=settings.pending_retention_days,
        pending_max=settings.pending_max,
    )
