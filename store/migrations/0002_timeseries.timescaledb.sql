-- TimescaleDB: hypertables with 1-day chunks, compressed by device after the stale window.
-- The retention policy is set by store.retention from FIREWATCH_RETENTION_DAYS.

CREATE EXTENSION IF NOT EXISTS timescaledb;

CREATE TABLE readings (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    metric       text COLLATE "C" NOT NULL,
    value        double precision NOT NULL,
    seq          bigint NOT NULL,
    region       text,
    preset       text,
    received_at  timestamptz NOT NULL
);
SELECT create_hypertable('readings', 'ts', chunk_time_interval => INTERVAL '1 day');
CREATE UNIQUE INDEX readings_identity ON readings (device_id, metric, ts, seq);
ALTER TABLE readings SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id',
                          timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('readings', INTERVAL '8 days');

CREATE TABLE events (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    type         text NOT NULL,
    detail       jsonb,
    received_at  timestamptz NOT NULL
);
SELECT create_hypertable('events', 'ts', chunk_time_interval => INTERVAL '1 day');
CREATE UNIQUE INDEX events_identity ON events (device_id, ts, seq);
ALTER TABLE events SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id',
                        timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('events', INTERVAL '8 days');

CREATE TABLE heartbeats (
    ts           timestamptz NOT NULL,
    device_id    text COLLATE "C" NOT NULL,
    seq          bigint NOT NULL,
    battery_pct  double precision,
    rssi_dbm     double precision,
    firmware     text,
    received_at  timestamptz NOT NULL
);
SELECT create_hypertable('heartbeats', 'ts', chunk_time_interval => INTERVAL '1 day');
CREATE UNIQUE INDEX heartbeats_identity ON heartbeats (device_id, ts, seq);
ALTER TABLE heartbeats SET (timescaledb.compress, timescaledb.compress_segmentby = 'device_id',
                            timescaledb.compress_orderby = 'ts DESC');
SELECT add_compression_policy('heartbeats', INTERVAL '8 days');
