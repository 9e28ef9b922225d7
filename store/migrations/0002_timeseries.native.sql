-- Stock PostgreSQL: range partitions by day, created ahead by store.partitions; BRIN on time.
-- Every unique index includes ts, as TimescaleDB requires, so queries are the same on both.

CREATE TABLE readings (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    metric       text COLLATE "C" NOT NULL,
    value        double precision NOT NULL,
    seq          bigint NOT NULL,
    region       text,
    preset       text,
    received_at  timestamptz NOT NULL
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX readings_identity ON readings (device_id, metric, ts, seq);
CREATE INDEX readings_ts ON readings USING brin (ts);

CREATE TABLE events (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    type         text NOT NULL,
    detail       jsonb,
    received_at  timestamptz NOT NULL
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX events_identity ON events (device_id, ts, seq);
CREATE INDEX events_ts ON events USING brin (ts);

-- Status messages (the heartbeat): one row each, so a redelivered heartbeat is recognised too.
CREATE TABLE heartbeats (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    battery_pct  double precision,
    rssi_dbm     double precision,
    firmware     text,
    received_at  timestamptz NOT NULL
) PARTITION BY RANGE (ts);
CREATE UNIQUE INDEX heartbeats_identity ON heartbeats (device_id, ts, seq);
CREATE INDEX heartbeats_ts ON heartbeats USING brin (ts);
