"""One batch, one transaction: decode, validate, store, evaluate, write alert changes.

The caller acknowledges the batch to the broker only after :meth:`BatchWriter.commit` returns,
so whatever it raised for is redelivered by the broker and nothing acknowledged is lost.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import psycopg

from alerts.devices import DeviceInfo
from alerts.engine import Engine
from contract.codec import Limits, check_kind, decode
from contract.kinds import CLOCK_EXEMPT_EVENTS
from contract.messages import Decoded, Reason, Rejection
from contract.topics import Channel
from ingest.registry import RegistryCache
from store.alerts import apply_decisions
from store.dead_letters import PAYLOAD_KEEP_BYTES, DeadLetterRow, insert_dead_letters
from store.notify import AlertChange
from store.restamped import Claim, remembered, stamps
from store.series import (
    EventRow,
    HeartbeatRow,
    ReadingRow,
    insert_events,
    insert_heartbeats,
    insert_readings,
    prepare_staging,
)
from store.status import StatusUpdate, upsert_frames, upsert_status
from store.timeseries import PartitionKeeper

TOPIC_KEEP_CHARS = 512
# Read once: a member lookup on an enum class costs a quarter of a microsecond, per message here.
_STATUS, _EVENT, _FRAME = Channel.STATUS, Channel.EVENT, Channel.FRAME


@dataclass(slots=True)
class Inbound:
    """A message as the broker handed it over; ``token`` is what acknowledges it.

    Not frozen, like the other per-message classes: frozen dataclasses cost three times as
    much to create, and ingest creates several per message."""

    topic: str
    payload: bytes
    received_at: datetime
    token: object = None
    # A gateway's input refused before it became a contract message (a bad frame or
    # signature): dead-lettered as it is, never decoded.
    rejection: Rejection | None = None


@dataclass(slots=True)
class BatchOutcome:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: Counter[Reason] = field(default_factory=Counter)
    alerts: list[AlertChange] = field(default_factory=list)


def _registry_rejection(message: Decoded, device: DeviceInfo | None) -> Rejection | None:
    if device is None:
        return Rejection(
            Reason.UNKNOWN_DEVICE,
            f"device {message.device_id!r} is not registered; register it with "
            "POST /api/v1/devices",
            message.device_id,
        )
    if device.site != message.site:
        return Rejection(
            Reason.UNKNOWN_DEVICE,
            f"device {message.device_id!r} is registered at site {device.site!r}, "
            f"not {message.site!r}",
            message.device_id,
        )
    if device.status == "decommissioned":
        return Rejection(
            Reason.UNKNOWN_DEVICE,
            f"device {message.device_id!r} is decommissioned",
            message.device_id,
        )
    return check_kind(message, device.kind)


def dead_letter_row(item: Inbound, rejection: Rejection) -> DeadLetterRow:
    return (
        item.received_at,
        item.topic[:TOPIC_KEEP_CHARS].replace("\x00", "\ufffd"),
        rejection.device_id,
        rejection.reason.value,
        rejection.detail.replace("\x00", "\ufffd"),
        item.payload[:PAYLOAD_KEEP_BYTES],
        len(item.payload),
    )


@dataclass(slots=True)
class Prepared:
    """A batch decoded and validated, its rows built: everything but the database."""

    batch: Sequence[Inbound]
    outcome: BatchOutcome
    accepted: list[tuple[Decoded, Inbound]]
    devices: dict[str, DeviceInfo]
    reading_rows: list[ReadingRow]
    event_rows: list[EventRow]
    heartbeat_rows: list[HeartbeatRow]
    dead: list[DeadLetterRow]
    # Another worker's devices this one only evaluates (ingest/partition.py): no rows, no
    # dead letters, no decisions of their own; their owner stores them.
    observed: list[tuple[Decoded, Inbound]] = field(default_factory=list)
    # Events re-stamped for a wrong device clock: their row in ``event_rows``, their identity.
    # Their stamp is settled against the database just before the batch is written.
    restamped: list[tuple[int, Claim, Decoded, Inbound]] = field(default_factory=list)
    # Clock-exempt events sent within the window: a copy of one once re-stamped takes its stamp.
    exempt: list[tuple[int, Claim, Decoded, Inbound]] = field(default_factory=list)


def prepare(  # noqa: C901, PLR0912, PLR0915 - the batch's one pass per message on ingest's hot path; a call per step per message costs throughput
    batch: Sequence[Inbound],
    *,
    now: datetime,
    limits: Limits,
    registry: RegistryCache,
    observed_only: Callable[[str], bool] | None = None,
) -> Prepared:
    """Runs while the previous batch commits, so its CPU time overlaps the database's."""
    outcome = BatchOutcome(received=len(batch))
    dead: list[DeadLetterRow] = []
    decoded: list[tuple[Decoded, Inbound]] = []
    observed: list[tuple[Decoded, Inbound]] = []
    for item in batch:
        if item.rejection is not None:
            dead.append(dead_letter_row(item, item.rejection))
            outcome.rejected[item.rejection.reason] += 1
            continue
        result = decode(item.topic, item.payload, now=now, limits=limits, arrived=item.received_at)
        if observed_only is not None and observed_only(_topic_device(item.topic)):
            if not isinstance(result, Rejection):
                observed.append((result, item))
            continue
        if isinstance(result, Rejection):
            dead.append(dead_letter_row(item, result))
            outcome.rejected[result.reason] += 1
        else:
            decoded.append((result, item))

    devices = registry.resolve({m.device_id for m, _ in decoded}) if decoded else {}
    accepted: list[tuple[Decoded, Inbound]] = []
    seen: set[tuple[str, int, datetime]] = set()
    for message, item in decoded:
        device = devices.get(message.device_id)
        rejection = _registry_rejection(message, device)
        if rejection is not None:
            dead.append(dead_letter_row(item, rejection))
            outcome.rejected[rejection.reason] += 1
            continue
        key = (message.device_id, message.seq, message.device_ts or message.ts)
        if key in seen:
            outcome.duplicates += 1
            continue
        seen.add(key)
        accepted.append((message, item))

    # Every message becomes at least one row under a unique index, so every redelivery is
    # recognised: readings (and frames' derived metrics), events, heartbeats.
    reading_rows: list[ReadingRow] = []
    event_rows: list[EventRow] = []
    heartbeat_rows: list[HeartbeatRow] = []
    restamped: list[tuple[int, Claim, Decoded, Inbound]] = []
    exempt: list[tuple[int, Claim, Decoded, Inbound]] = []
    for m, item in accepted:
        if m.channel is _STATUS:
            heartbeat_rows.append(
                (
                    m.ts,
                    m.device_id,
                    m.seq,
                    m.values.get("battery_pct"),
                    m.values.get("rssi_dbm"),
                    m.firmware,
                    item.received_at,
                )
            )
        elif m.channel is _EVENT:
            if m.device_ts is not None:
                restamped.append((len(event_rows), (m.device_id, m.seq, m.device_ts), m, item))
            elif m.event_type in CLOCK_EXEMPT_EVENTS:
                exempt.append((len(event_rows), (m.device_id, m.seq, m.ts), m, item))
            event_rows.append(_event_row(m, item))
        else:
            for metric, value in m.values.items():
                reading_rows.append(
                    (m.ts, m.device_id, metric, value, m.seq, m.region, m.preset, item.received_at)
                )
    if observed:
        devices |= registry.resolve({m.device_id for m, _ in observed})
        observed = [
            (m, i) for m, i in observed if _registry_rejection(m, devices.get(m.device_id)) is None
        ]
    infos = {i: devices[i] for i in {m.device_id for m, _ in accepted + observed}}
    return Prepared(
        batch,
        outcome,
        accepted,
        infos,
        reading_rows,
        event_rows,
        heartbeat_rows,
        dead,
        observed,
        restamped,
        exempt,
    )


def _event_row(m: Decoded, item: Inbound) -> EventRow:
    skew = m.clock_skew()
    detail = m.detail if skew is None else {**(m.detail or {}), "clock_skew": skew}
    return (m.ts, m.device_id, m.seq, m.event_type or "", detail, item.received_at)


def _topic_device(topic: str) -> str:
    levels = topic.split("/", 4)
    return levels[3] if len(levels) > 3 else ""


class BatchWriter:
    """Owns one connection (autocommit; each batch opens its own transaction)."""

    def __init__(
        self,
        conn: psycopg.Connection[Any],
        *,
        engine: Engine,
        window_s: float,
        before_commit: Callable[[Sequence[Inbound]], None] | None = None,
        keep: Callable[[str], bool] | None = None,
    ) -> None:
        """``keep`` says which alert subjects this worker records (all, when None);
        ``window_s`` is the incidents' confirmation window."""
        conn.autocommit = True
        self.conn = conn
        self.engine = engine
        self.window_s = window_s
        self._keep = keep
        self.partitions = PartitionKeeper(conn)
        self._before_commit = before_commit
        prepare_staging(conn)

    def commit(self, prepared: Prepared) -> BatchOutcome:
        outcome = prepared.outcome
        accepted = prepared.accepted
        self._restamp(prepared)
        self.partitions.ensure(self.conn, {m.ts.date() for m, _ in accepted})
        engine = self.engine
        engine.configure(d for i, d in prepared.devices.items() if engine.devices.get(i) is not d)
        try:
            self._write(prepared)
        except BaseException:
            engine.rollback()  # the batch is retried: its evaluation must not count twice
            raise
        engine.commit()
        return outcome

    def _restamp(self, prepared: Prepared) -> None:
        """Each re-stamped event takes the stamp its first copy got, so a redelivery is a
        duplicate under the events' unique index like any other (store/restamped.py)."""
        if prepared.exempt:
            earlier = remembered(self.conn, (c for _, c, _, _ in prepared.exempt))
            for index, claim, message, item in prepared.exempt:
                if claim in earlier:
                    message.device_ts, message.ts = message.ts, earlier[claim].astimezone(UTC)
                    prepared.event_rows[index] = _event_row(message, item)
        if not prepared.restamped:
            return
        found = stamps(self.conn, ((c, i.received_at) for _, c, _, i in prepared.restamped))
        for index, claim, message, item in prepared.restamped:
            message.ts = found[claim].astimezone(UTC)
            prepared.event_rows[index] = _event_row(message, item)

    def _write(self, prepared: Prepared) -> None:
        outcome = prepared.outcome
        accepted, observed = prepared.accepted, prepared.observed
        with self.conn.transaction():
            new_keys = insert_readings(self.conn, prepared.reading_rows)
            new_keys |= insert_events(self.conn, prepared.event_rows)
            new_keys |= insert_heartbeats(self.conn, prepared.heartbeat_rows)
            fresh = [(m, i) for m, i in accepted if (m.device_id, m.seq, m.ts) in new_keys]
            outcome.duplicates += len(accepted) - len(fresh)
            outcome.stored = len(fresh)
            decisions = self.engine.evaluate([(m, i.received_at) for m, i in fresh + observed])
            if self._keep is not None:
                decisions = [d for d in decisions if self._keep(d.subject)]
            outcome.alerts = apply_decisions(self.conn, decisions, window_s=self.window_s)
            upsert_status(self.conn, _status_updates(fresh))
            upsert_frames(self.conn, _newest_frames(fresh))
            insert_dead_letters(self.conn, prepared.dead)
            if self._before_commit is not None:
                self._before_commit(prepared.batch)


def _status_updates(fresh: Sequence[tuple[Decoded, Inbound]]) -> list[StatusUpdate]:
    updates: dict[str, StatusUpdate] = {}
    # Oldest first, so the newest message's values win within the batch.
    for message, item in sorted(fresh, key=lambda pair: pair[0].ts):
        update = updates.get(message.device_id)
        if update is None:
            update = updates[message.device_id] = StatusUpdate(
                message.device_id, message.ts, item.received_at, message.seq
            )
        update.count += 1
        update.last_seen, update.last_seq = message.ts, message.seq
        update.received_at = max(update.received_at, item.received_at)
        if message.channel is _STATUS:
            update.battery_pct = message.values.get("battery_pct", update.battery_pct)
            update.rssi_dbm = message.values.get("rssi_dbm", update.rssi_dbm)
            update.firmware = message.firmware or update.firmware
        else:
            update.latest.update(message.values)
    return list(updates.values())


def _newest_frames(
    fresh: Sequence[tuple[Decoded, Inbound]],
) -> list[tuple[str, datetime, int, bytes]]:
    newest: dict[str, tuple[str, datetime, int, bytes]] = {}
    for message, item in fresh:
        if message.channel is _FRAME:
            current = newest.get(message.device_id)
            if current is None or message.ts >= current[1]:
                newest[message.device_id] = (
                    message.device_id,
                    message.ts,
                    message.seq,
                    item.payload,
                )
    return list(newest.values())
