-- Stock PostgreSQL: range partitions by day, created ahead by store.partitions; BRIN on time.
-- Every unique index includes ts, as TimescaleDB requires, so queries are the same on both.

CREATE TABLE readings (
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    metric       text NOT NULL,
    value        double precision NOT NULL,
    seq          bigint NOT NULL,
    region       text,
    received_at  timestamptz NOT NULL
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX readings_identity ON readings (device_id, metric, ts, seq);
CREATE INDEX readings_ts ON readings USING brin (ts);

CREATE TABLE events (
    ts           timestamptz NOT NULL,
    device_id    text NOT NULL,
    seq          bigint NOT NULL,
    type         text NOT NULL,
    detail       jsonb,
    received_at  timestamptz NOT NULL
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX events_identity ON events (device_id, ts, seq);
CREATE INDEX events_ts ON events USING brin (ts);
