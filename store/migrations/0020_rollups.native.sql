-- Stock PostgreSQL: the readings' roll-ups, 5-minute and hourly per device and metric. A
-- statement trigger keeps them in the transaction that writes the readings, so they never lag
-- or disagree. On TimescaleDB the continuous aggregates of the same names and columns stand in
-- for them (the .timescaledb variant); store/rollups.py reads either. Partitioned by day like
-- the readings, so retention drops a day of each together (store/timeseries.py).

CREATE TABLE readings_5m (
    bucket     timestamptz NOT NULL,
    device_id  text COLLATE "C" NOT NULL,
    metric     text COLLATE "C" NOT NULL,
    n          bigint NOT NULL,
    total      double precision NOT NULL,
    low        double precision NOT NULL,
    high       double precision NOT NULL
) PARTITION BY RANGE (bucket);
CREATE UNIQUE INDEX readings_5m_identity ON readings_5m (device_id, metric, bucket);

CREATE TABLE readings_1h (LIKE readings_5m) PARTITION BY RANGE (bucket);
CREATE UNIQUE INDEX readings_1h_identity ON readings_1h (device_id, metric, bucket);

-- Rows are taken in key order, so two workers adding to the same buckets never deadlock.
CREATE FUNCTION readings_roll_up() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO readings_5m AS r (bucket, device_id, metric, n, total, low, high)
    SELECT date_bin('5 minutes', ts, timestamptz '2000-01-01 00:00:00+00'), device_id, metric,
           count(*), sum(value), min(value), max(value)
    FROM new_readings GROUP BY 2, 3, 1 ORDER BY 2, 3, 1
    ON CONFLICT (device_id, metric, bucket) DO UPDATE
    SET n = r.n + excluded.n, total = r.total + excluded.total,
        low = least(r.low, excluded.low), high = greatest(r.high, excluded.high);
    INSERT INTO readings_1h AS r (bucket, device_id, metric, n, total, low, high)
    SELECT date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), device_id, metric,
           count(*), sum(value), min(value), max(value)
    FROM new_readings GROUP BY 2, 3, 1 ORDER BY 2, 3, 1
    ON CONFLICT (device_id, metric, bucket) DO UPDATE
    SET n = r.n + excluded.n, total = r.total + excluded.total,
        low = least(r.low, excluded.low), high = greatest(r.high, excluded.high);
    RETURN NULL;
END
$$;

CREATE TRIGGER readings_roll_up AFTER INSERT ON readings
REFERENCING NEW TABLE AS new_readings
FOR EACH STATEMENT EXECUTE FUNCTION readings_roll_up();

-- What is already stored: a partition of each roll-up for every day of readings, then the
-- roll-ups of those readings.
DO $$
DECLARE
    day date;
    roll_up text;
BEGIN
    FOR day IN
        SELECT to_date(right(c.relname, 8), 'YYYYMMDD')
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        JOIN pg_class p ON p.oid = i.inhparent
        WHERE p.relname = 'readings' AND c.relname ~ '^readings_p[0-9]{8}$'
    LOOP
        FOREACH roll_up IN ARRAY ARRAY['readings_5m', 'readings_1h'] LOOP
            EXECUTE format(
                'CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                roll_up || '_p' || to_char(day, 'YYYYMMDD'), roll_up,
                day::timestamp AT TIME ZONE 'UTC', (day + 1)::timestamp AT TIME ZONE 'UTC');
        END LOOP;
    END LOOP;
END
$$;

INSERT INTO readings_5m (bucket, device_id, metric, n, total, low, high)
SELECT date_bin('5 minutes', ts, timestamptz '2000-01-01 00:00:00+00'), device_id, metric,
       count(*), sum(value), min(value), max(value)
FROM readings GROUP BY 2, 3, 1;
INSERT INTO readings_1h (bucket, device_id, metric, n, total, low, high)
SELECT date_bin('1 hour', ts, timestamptz '2000-01-01 00:00:00+00'), device_id, metric,
       count(*), sum(value), min(value), max(value)
FROM readings GROUP BY 2, 3, 1;
