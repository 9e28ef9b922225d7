"""Upkeep of the time-series tables: daily partitions on stock PostgreSQL; retention on both;
on TimescaleDB, the compression and roll-up refresh policies, derived from the settings.

Every ingest worker runs this hourly and at start, often several at the same moment. So each
change is made in one transaction under an advisory lock, and a policy that already matches is
left alone: no new job id, no unplanned run.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from store.migrate import backend

TABLES = ("readings", "events", "heartbeats")
# The readings' roll-ups (store/rollups.py): tables kept by a trigger on stock PostgreSQL,
# continuous aggregates on TimescaleDB.
ROLLUPS = ("readings_5m", "readings_1h")
# On stock PostgreSQL, partitioned by day alike, so retention drops a day of each at once.
PARTITIONED = TABLES + ROLLUPS

# Partition creation and retention take turns: several workers create the same day at once,
# and dropping a partition while another worker creates one would deadlock on the parent.
_PARTITION_LOCK = "firewatch.partitions"
_POLICY_LOCK = "firewatch.policies"
_ROLLUP_REFRESH = {  # end offset (the newest bucket is still filling) and schedule
    "readings_5m": (timedelta(minutes=5), timedelta(minutes=5)),
    "readings_1h": (timedelta(hours=1), timedelta(hours=1)),
}


def _partition_name(table: str, day: date) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _create_partition(conn: psycopg.Connection[tuple[object, ...]], table: str, day: date) -> None:
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    # Creating a partition locks the parent; never queue ingest behind a long API query.
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        # Several ingest workers create the same day at once; IF NOT EXISTS alone still races
        # (DuplicateTable), so they take turns.
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_PARTITION_LOCK,))
        conn.execute(
            sql.SQL(
                "CREATE TABLE IF NOT EXISTS {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})"
            ).format(
                sql.Identifier(_partition_name(table, day)),
                sql.Identifier(table),
                sql.Literal(start),
                sql.Literal(start + timedelta(days=1)),
            )
        )


class PartitionKeeper:
    """Makes sure a day's partition exists before rows for it are written.

    Ingest asks for every day in a batch; only an unknown day costs a round trip, so the
    hot path is a set lookup. On TimescaleDB chunks appear by themselves and this is idle.
    """

    def __init__(self, conn: psycopg.Connection[tuple[object, ...]]) -> None:
        self.native = backend(conn) == "native"
        self._known: set[date] = set()

    def ensure(self, conn: psycopg.Connection[tuple[object, ...]], days: Iterable[date]) -> None:
        if not self.native:
            return
        for day in sorted(set(days) - self._known):
            for table in PARTITIONED:
                _create_partition(conn, table, day)
            self._known.add(day)

    def ensure_window(
        self, conn: psycopg.Connection[tuple[object, ...]], *, now: datetime, back: timedelta
    ) -> None:
        """Every day a message may still be accepted for, plus two days ahead."""
        first = (now - back).date()
        last = (now + timedelta(days=2)).date()
        self.ensure(conn, (first + timedelta(days=n) for n in range((last - first).days + 1)))


def compression_delay(stale_after_s: float) -> timedelta:
    """A chunk is compressed a day after the oldest message ingest still accepts has left it,
    so late writes, which ingest refuses beyond the stale limit, never land in it."""
    return timedelta(seconds=stale_after_s) + timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Policy:
    """One TimescaleDB job as it should be: its procedure, its relation and its settings."""

    proc: str
    relation: str
    config: dict[str, timedelta]
    schedule: timedelta | None = None

    def describe(self) -> str:
        settings = ", ".join(f"{k} {_interval(v)}" for k, v in self.config.items())
        return f"{self.proc.removeprefix('policy_')} {self.relation} ({settings})"


def _interval(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    return f"{seconds // 86400} days" if seconds % 86400 == 0 else f"{seconds} s"


def policies(*, keep_days: int, stale_after_s: float) -> list[Policy]:
    """What ingest's maintenance keeps in place on TimescaleDB. The roll-ups are refreshed as far
    back as a late message may still arrive, compressed beyond that, like the readings, and kept
    as long as them."""
    keep = timedelta(days=keep_days)
    late = compression_delay(stale_after_s)
    wanted = [Policy("policy_retention", t, {"drop_after": keep}) for t in TABLES + ROLLUPS]
    wanted += [Policy("policy_compression", t, {"compress_after": late}) for t in TABLES + ROLLUPS]
    wanted += [
        Policy(
            "policy_refresh_continuous_aggregate",
            view,
            {"start_offset": late, "end_offset": end},
            schedule=every,
        )
        for view, (end, every) in _ROLLUP_REFRESH.items()
    ]
    return wanted


# A relation's jobs of one kind (a continuous aggregate's are listed under its view's name),
# and whether the job's settings are those wanted.
_JOBS = """
SELECT j.job_id,
       coalesce((SELECT bool_and((j.config ->> w.key)::interval = w.value::interval)
                 FROM jsonb_each_text(%(want)s) w), false)
       AND (%(schedule)s::interval IS NULL OR j.schedule_interval = %(schedule)s::interval)
       AS matches
FROM timescaledb_information.jobs j
WHERE j.proc_name = %(proc)s AND j.hypertable_schema = current_schema()
  AND j.hypertable_name = %(relation)s
"""

_REMOVE = {
    "policy_retention": "SELECT remove_retention_policy(%(relation)s, if_exists => true)",
    "policy_compression": "SELECT remove_compression_policy(%(relation)s, if_exists => true)",
    "policy_refresh_continuous_aggregate": (
        "SELECT remove_continuous_aggregate_policy(%(relation)s, if_exists => true)"
    ),
}
_ADD = {
    "policy_retention": "SELECT add_retention_policy(%(relation)s, %(drop_after)s::interval)",
    "policy_compression": (
        "SELECT add_compression_policy(%(relation)s, %(compress_after)s::interval)"
    ),
    "policy_refresh_continuous_aggregate": (
        "SELECT add_continuous_aggregate_policy(%(relation)s,"
        " start_offset => %(start_offset)s::interval, end_offset => %(end_offset)s::interval,"
        " schedule_interval => %(schedule)s::interval)"
    ),
}


def _ensure_policies(
    conn: psycopg.Connection[tuple[object, ...]], wanted: list[Policy]
) -> list[str]:
    """Sets what differs, in one transaction under the lock; returns what it set."""
    changed = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_POLICY_LOCK,))
        for policy in wanted:
            want = Jsonb({k: f"{v.total_seconds()} seconds" for k, v in policy.config.items()})
            jobs = conn.execute(
                _JOBS,
                {
                    "want": want,
                    "proc": policy.proc,
                    "relation": policy.relation,
                    "schedule": policy.schedule,
                },
            ).fetchall()
            if len(jobs) == 1 and jobs[0][1]:
                continue
            params = {"relation": policy.relation, "schedule": policy.schedule, **policy.config}
            conn.execute(_REMOVE[policy.proc], params)
            conn.execute(_ADD[policy.proc], params)
            changed.append(policy.describe())
    return changed


def _drop_old_partitions(
    conn: psycopg.Connection[tuple[object, ...]], *, cutoff: date
) -> list[str]:
    dropped = []
    with conn.transaction():
        conn.execute("SET LOCAL lock_timeout = '2s'")
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (_PARTITION_LOCK,))
        rows = conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = ANY(%s)"
            " ORDER BY c.relname",
            (list(PARTITIONED),),
        ).fetchall()
        for (name,) in rows:
            suffix = str(name).rsplit("_p", 1)[-1]
            if suffix.isdigit() and datetime.strptime(suffix, "%Y%m%d").date() < cutoff:
                conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(str(name))))
                dropped.append(str(name))
    return dropped


def apply_retention(
    conn: psycopg.Connection[tuple[object, ...]],
    *,
    now: datetime,
    keep_days: int,
    stale_after_s: float,
) -> list[str]:
    """Drop what is older than ``keep_days`` (stock PostgreSQL) or keep TimescaleDB's policies
    as the settings say; returns what was dropped or set, empty when nothing changed. Safe to
    run from several connections at once."""
    if backend(conn) == "timescaledb":
        return _ensure_policies(conn, policies(keep_days=keep_days, stale_after_s=stale_after_s))
    return _drop_old_partitions(conn, cutoff=(now - timedelta(days=keep_days)).date())
