-- TimescaleDB: the readings' roll-ups as continuous aggregates, 5-minute and hourly (the
-- hourly one built on the 5-minute one) per device and metric, with real-time aggregation, so
-- the newest buckets are read from the readings until they are materialised. The .native
-- variant keeps tables of the same names and columns; store/rollups.py reads either.
-- Their refresh and retention policies, and the compression delay, are set by ingest's
-- maintenance from FIREWATCH_STALE_AFTER_S and FIREWATCH_RETENTION_DAYS (store/timeseries.py).

-- Compression segments and orders by the unique index's columns, so a late or duplicate write
-- into a compressed chunk finds its segment instead of decompressing the device's whole day.
ALTER TABLE readings SET (timescaledb.compress_segmentby = 'device_id, metric',
                          timescaledb.compress_orderby = 'ts DESC, seq DESC');
ALTER TABLE events SET (timescaledb.compress_segmentby = 'device_id',
                        timescaledb.compress_orderby = 'ts DESC, seq DESC');
ALTER TABLE heartbeats SET (timescaledb.compress_segmentby = 'device_id',
                            timescaledb.compress_orderby = 'ts DESC, seq DESC');

CREATE MATERIALIZED VIEW readings_5m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '5 minutes', ts) AS bucket, device_id, metric,
       count(*) AS n, sum(value) AS total, min(value) AS low, max(value) AS high
FROM readings GROUP BY 1, 2, 3
WITH NO DATA;
CREATE INDEX readings_5m_series ON readings_5m (device_id, metric, bucket);

CREATE MATERIALIZED VIEW readings_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(INTERVAL '1 hour', bucket) AS bucket, device_id, metric,
       sum(n)::bigint AS n, sum(total) AS total, min(low) AS low, max(high) AS high
FROM readings_5m GROUP BY 1, 2, 3
WITH NO DATA;
CREATE INDEX readings_1h_series ON readings_1h (device_id, metric, bucket);

-- after commit: what is already stored (a refresh cannot run inside a transaction)
CALL refresh_continuous_aggregate('readings_5m', NULL, NULL);
CALL refresh_continuous_aggregate('readings_1h', NULL, NULL);
