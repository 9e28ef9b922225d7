"""The timers ingest runs on the server clock, in one transaction of their own: the engine's
tick (offline, floods, repeats), ingest's session trouble alerts, escalations of unacknowledged
fire alarms (logged; reaching people is the dispatcher's: dispatch/dispatcher.py), expired
shelves and the end of devices' maintenance windows."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from alerts.engine import Engine
from ingest.committer import WriterSlot
from ingest.counters import IngestCounters
from ingest.mqtt_source import MqttSource
from ingest.partition import WorkerPartition
from ingest.sessions import SessionAlerts
from store.alert_timers import escalate_due, expire_shelves
from store.alerts import apply_decisions, summarise_repeats
from store.device_lifecycle import end_due_maintenance
from store.incidents import opened_since

log = logging.getLogger(__name__)

FLOOD_WINDOW = timedelta(minutes=10)


class AlertTimers:
    """Runs on the committer thread, between batches, so the engine is never used by two
    threads at once."""

    def __init__(
        self,
        database: WriterSlot,
        *,
        engine: Engine,
        sessions: Sequence[MqttSource],
        session_alerts: SessionAlerts,
        counters: IngestCounters,
        partition: WorkerPartition | None,
        escalate_after_s: int,
        escalate_max_level: int,
        window_s: float,
    ) -> None:
        """``partition``: a partitioned worker records only its own subjects, and only
        worker 0 judges site-wide rules."""
        self._database = database
        self._engine = engine
        self._sessions = sessions
        self._session_alerts = session_alerts
        self._counters = counters
        self._partition = partition
        self._escalate_after_s = escalate_after_s
        self._escalate_max_level = escalate_max_level
        self._window_s = window_s

    def tick(self) -> None:
        conn = self._database.get().conn
        now = datetime.now(UTC)
        engine, partition = self._engine, self._partition
        for source in self._sessions:
            troubles = source.take_troubles()
            self._counters.session_troubles += len(troubles)
            self._session_alerts.note(troubles)
        try:
            with conn.transaction():
                # Site-wide rules (alert floods) are judged by one worker only.
                judges_site = partition is None or partition.assignment.judges_site
                opened = opened_since(conn, since=now - FLOOD_WINDOW) if judges_site else None
                decisions = engine.tick(now, opened_last_10min=opened)
                if partition is not None:
                    decisions = [d for d in decisions if partition.records(d.subject)]
                connected = {s.client_id: s.connected for s in self._sessions}
                decisions += self._session_alerts.plan(now=now.timestamp(), connected=connected)
                changes = apply_decisions(conn, decisions, window_s=self._window_s)
                escalations = escalate_due(
                    conn,
                    now=now,
                    after_s=self._escalate_after_s,
                    max_level=self._escalate_max_level,
                )
                end_due_maintenance(conn, now=now)
        except BaseException:
            engine.rollback()
            raise
        engine.commit()
        self._session_alerts.committed()
        with conn.transaction():
            expire_shelves(conn, now=now, window_s=self._window_s)
        with conn.transaction():
            summarise_repeats(conn)
        self._counters.alerts_opened += sum(1 for c in changes if c.change == "raise")
        for escalation in escalations:
            log.warning(
                "escalated unacknowledged fire alert %s (%s on %s) to level %d",
                escalation["id"],
                escalation["rule"],
                escalation["subject"],
                escalation["escalation_level"],
                extra={"alert": escalation["id"], "device": escalation["subject"]},
            )
