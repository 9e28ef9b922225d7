-- TimescaleDB: the roll-ups are compressed like the readings, by device and metric, so a year
-- of 5-minute buckets does not outweigh the compressed readings they summarise (measured:
-- bench/timeseries_horizon.py). The delay is set with the readings' by ingest's maintenance
-- (store/timeseries.py), past the refresh window, so a refresh never meets a compressed bucket
-- a late reading could still change.
ALTER MATERIALIZED VIEW readings_5m SET (timescaledb.compress = true,
    timescaledb.compress_segmentby = 'device_id, metric',
    timescaledb.compress_orderby = 'bucket DESC');
ALTER MATERIALIZED VIEW readings_1h SET (timescaledb.compress = true,
    timescaledb.compress_segmentby = 'device_id, metric',
    timescaledb.compress_orderby = 'bucket DESC');
