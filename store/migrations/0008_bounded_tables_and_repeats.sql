-- Issue 14: the dead letters and the pending devices are bounded, and repeats are summarised.

-- Rows and drops per table and site. `rows` is exact after each maintenance (store/bounded.py
-- recounts) and grows with every insert in between, so the cap is checked by reading one row,
-- never by counting. `dropped` counts rows refused at the cap or trimmed to make room before
-- their retention ran out. The caps are written by maintenance from the settings: until then
-- (no row here) nothing is refused.
CREATE TABLE bounded_tables (
    tbl      text NOT NULL CHECK (tbl IN ('dead_letters', 'pending_devices')),
    site     text NOT NULL,
    rows     bigint NOT NULL DEFAULT 0,
    dropped  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tbl, site)
);
CREATE TABLE table_caps (
    tbl       text PRIMARY KEY CHECK (tbl IN ('dead_letters', 'pending_devices')),
    max_rows  bigint NOT NULL CHECK (max_rows > 0)
);

-- A row's site is its topic's third level (fw/v1/{site}/...), the prefix ingest subscribes to.
CREATE FUNCTION topic_site(topic text) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    RETURN left(split_part(topic, '/', 3), 64);

INSERT INTO bounded_tables (tbl, site, rows)
SELECT 'dead_letters', topic_site(topic), count(*) FROM dead_letters GROUP BY 2;
INSERT INTO bounded_tables (tbl, site, rows)
SELECT 'pending_devices', topic_site(last_topic), count(*) FROM pending_devices GROUP BY 2;

-- As in 0004, plus the cap: ids already listed are always updated; new ids are listed while
-- their site has room (the most recently heard first), the rest are counted as dropped. The
-- site's counter row is locked first, so concurrent batches cannot both take the last room.
-- A function of arrays rather than of the trigger's rows: dead letters refused at their own
-- cap still list their unknown ids (store/dead_letters.py), or a flood of junk would hide a
-- new device from the technicians.
CREATE FUNCTION note_unknown_devices(ids text[], topics text[], ats timestamptz[],
                                     payloads bytea[], sizes integer[]) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    cap bigint := (SELECT max_rows FROM table_caps WHERE tbl = 'pending_devices');
BEGIN
    INSERT INTO bounded_tables (tbl, site)
    SELECT DISTINCT 'pending_devices', topic_site(t) FROM unnest(topics) t ORDER BY 2
    ON CONFLICT (tbl, site) DO NOTHING;
    PERFORM 1 FROM bounded_tables
    WHERE tbl = 'pending_devices' AND site IN (SELECT topic_site(t) FROM unnest(topics) t)
    ORDER BY site FOR UPDATE;

    WITH r AS (
        SELECT * FROM unnest(ids, topics, ats, payloads, sizes)
                      AS r (device_id, topic, received_at, payload, payload_size)
    ), n AS (
        SELECT device_id, min(received_at) AS first_seen, max(received_at) AS last_seen,
               count(*) AS count
        FROM r GROUP BY device_id
    ), c AS (
        SELECT n.*, l.topic, l.payload, l.payload_size, topic_site(l.topic) AS site,
               EXISTS (SELECT 1 FROM pending_devices p WHERE p.device_id = n.device_id) AS listed
        FROM n
        JOIN LATERAL (SELECT topic, payload, payload_size FROM r
                      WHERE r.device_id = n.device_id
                      ORDER BY r.received_at DESC LIMIT 1) l ON true
        -- Decommissioned ids and ids registered at another site are dead-lettered with the
        -- same reason; they are not waiting to be registered.
        WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = n.device_id)
    ), ranked AS (
        SELECT c.*, (c.listed OR cap IS NULL OR b.rows + row_number() OVER (
                    PARTITION BY c.site, c.listed ORDER BY c.last_seen DESC, c.device_id) <= cap
               ) AS fits
        FROM c JOIN bounded_tables b ON b.tbl = 'pending_devices' AND b.site = c.site
    ), written AS (
        INSERT INTO pending_devices AS p (device_id, first_seen, last_seen, count, last_topic,
                                          last_payload, last_size)
        SELECT device_id, first_seen, last_seen, count, topic, payload, payload_size
        FROM ranked WHERE fits
        ORDER BY device_id
        ON CONFLICT (device_id) DO UPDATE SET
            first_seen = least(p.first_seen, excluded.first_seen),
            count = p.count + excluded.count,
            last_seen = greatest(p.last_seen, excluded.last_seen),
            last_topic = CASE WHEN excluded.last_seen >= p.last_seen
                              THEN excluded.last_topic ELSE p.last_topic END,
            last_payload = CASE WHEN excluded.last_seen >= p.last_seen
                                THEN excluded.last_payload ELSE p.last_payload END,
            last_size = CASE WHEN excluded.last_seen >= p.last_seen
                             THEN excluded.last_size ELSE p.last_size END
        RETURNING (xmax = 0) AS fresh, topic_site(last_topic) AS site
    ), tally AS (
        SELECT site, sum(added) AS added, sum(refused) AS refused
        FROM (SELECT site, count(*) FILTER (WHERE fresh) AS added, 0 AS refused
              FROM written GROUP BY site
              UNION ALL
              SELECT site, 0, count(*) FROM ranked WHERE NOT fits GROUP BY site) t
        GROUP BY site
    )
    UPDATE bounded_tables b SET rows = b.rows + t.added, dropped = b.dropped + t.refused
    FROM tally t WHERE b.tbl = 'pending_devices' AND b.site = t.site;
END $$;

CREATE OR REPLACE FUNCTION pending_devices_from_dead_letters() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM note_unknown_devices(array_agg(device_id), array_agg(topic),
                                 array_agg(received_at), array_agg(payload),
                                 array_agg(payload_size))
    FROM new_rows WHERE reason = 'unknown_device' AND device_id IS NOT NULL
    HAVING count(*) > 0;
    RETURN NULL;
END $$;

-- A repeat of an open alert updates its count without a log row or a NOTIFY; a summary (one
-- log row and one NOTIFY carrying the count) goes out at most once a second per alert, compared
-- here in SQL, so several ingest workers and restarts keep the pace. `notified_count` is the
-- count the last event carried: an open alert with more is owed a summary (store/alerts.py).
ALTER TABLE alerts
    ADD COLUMN notified_at     timestamptz NOT NULL DEFAULT '-infinity',
    ADD COLUMN notified_count  bigint NOT NULL DEFAULT 1;
UPDATE alerts SET notified_count = count WHERE state <> 'resolved';
ALTER TABLE alerts ALTER COLUMN notified_at SET DEFAULT now();
CREATE INDEX alerts_repeats_owed ON alerts (notified_at)
    WHERE state <> 'resolved' AND count > notified_count;
