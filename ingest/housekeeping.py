"""Ingest's hourly housekeeping of the store: partitions ahead of the data, retention, and the
bounded tables trimmed to their caps (store/bounded.py)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from ingest.pipeline import BatchWriter
from settings import Settings
from store.bounded import prune_bounded_tables
from store.restamped import prune_restamped
from store.timeseries import apply_retention

log = logging.getLogger(__name__)

EVERY_S = 3600.0


def keep_house(writer: BatchWriter, settings: Settings) -> None:
    """Partitions cover every day a message may still be stamped with (a stale clock included),
    so a batch seldom creates one on its hot path."""
    conn = writer.conn
    now = datetime.now(UTC)
    writer.partitions.ensure_window(
        conn, now=now, back=timedelta(seconds=settings.stale_after_s + 86400)
    )
    dropped = apply_retention(conn, now=now, keep_days=settings.retention_days)
    prune_restamped(conn, before=now - timedelta(days=settings.retention_days))
    if dropped:
        log.info("retention: %s", ", ".join(dropped))
    prune_bounded_tables(
        conn,
        now=now,
        dead_letter_days=settings.dead_letter_retention_days,
        dead_letters_max=settings.dead_letters_max,
        pending_days=settings.pending_retention_days,
        pending_max=settings.pending_max,
    )
