"""What an ingest service is made of, built from the settings; a test may build its own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from alerts.engine import Engine
from contract.logins import ALARMS_SUFFIX
from contract.topics import alarm_subscription_for, subscription_for
from ingest.inbox_source import InboxSource
from ingest.mqtt_source import MqttSource
from ingest.partition import Assignment, WorkerPartition
from ingest.pipeline import BatchWriter, Inbound
from ingest.registry import RegistryCache
from ingest.sources import Source
from settings import Settings
from store.database import connect
from store.inbox import Share


@dataclass(kw_only=True, slots=True)
class IngestParts:
    source: MqttSource
    # Alarms ahead of telemetry (ingest/lanes.py); None for one session only.
    alarms: MqttSource | None
    # Worker i of N (ingest/partition.py); None for a worker that takes the whole site.
    partition: WorkerPartition | None
    registry: RegistryCache
    engine: Engine
    open_writer: Callable[[], BatchWriter]  # a new connection each call: one is dropped at errors
    inbox: InboxSource  # gateways in other processes (store/inbox.py)
    # Gateways running in this process (gateways/), each handing over through its own source.
    local_gateways: list[Source]

    @property
    def gateways(self) -> list[Source]:
        return [self.inbox, *self.local_gateways]

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        before_commit: Callable[[Sequence[Inbound]], None] | None = None,
        local_gateways: Sequence[Source] = (),
    ) -> IngestParts:
        """``before_commit`` is a fault-injection point inside each batch's transaction."""
        target = settings.mqtt
        source = MqttSource(
            target,
            client_id=settings.ingest_client_id,
            subscription=subscription_for(settings.site, settings.ingest_shared_group),
            session_expiry_s=settings.ingest_session_expiry_s,
            receive_maximum=4 * settings.ingest_batch_max,
            mqtt5=settings.ingest_mqtt5,
        )
        partition = WorkerPartition(settings, source) if settings.ingest_workers > 1 else None
        # A partitioned worker subscribes to its own devices' explicit topics, a backlog no
        # bigger than its share: one session only.
        alarms = None
        if partition is None and settings.ingest_alarm_session:
            alarms = MqttSource(
                target,
                client_id=settings.ingest_client_id + ALARMS_SUFFIX,
                subscription=alarm_subscription_for(settings.site, settings.ingest_shared_group),
                session_expiry_s=settings.ingest_session_expiry_s,
                receive_maximum=settings.ingest_batch_max,
                mqtt5=settings.ingest_mqtt5,
            )
        engine = Engine()

        def open_writer() -> BatchWriter:
            return BatchWriter(
                connect(settings.database_url, autocommit=True),
                engine=engine,
                window_s=settings.correlation_window_s,
                before_commit=before_commit,
                keep=partition.records if partition is not None else None,
            )

        return cls(
            source=source,
            alarms=alarms,
            partition=partition,
            registry=RegistryCache(settings.database_url),
            engine=engine,
            open_writer=open_writer,
            inbox=InboxSource(
                settings.database_url,
                site=settings.site,
                share=_share_of(partition) if partition else None,
            ),
            local_gateways=list(local_gateways),
        )


def _share_of(partition: WorkerPartition) -> Callable[[], Share]:
    """The worker's inbox rows, rebuilt only when its assignment changes."""
    cached: list[tuple[Assignment, Share]] = []

    def share() -> Share:
        now = partition.assignment
        if not cached or cached[0][0] is not now:
            cached[:] = [
                (now, Share(sorted(now.devices), strays=now.judges_site, known=sorted(now.known)))
            ]
        return cached[0][1]

    return share
