-- The full registry: buildings and grid zones, the device lifecycle, replacement links,
-- devices heard from but never registered, and one audit log for every write a person makes.

CREATE TABLE zones (
    id             text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name           text,
    contact_name   text,          -- the street safety grid's responsible person
    contact_phone  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name        text,
    address     text,
    lat         double precision CHECK (lat BETWEEN -90 AND 90),
    lon         double precision CHECK (lon BETWEEN -180 AND 180),
    zone        text,
    rented      boolean NOT NULL DEFAULT false,   -- rented rooms: e-bikes, extension leads
    footprint   jsonb,                            -- GeoJSON ring: [[lon, lat], ...]
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buildings_zone ON buildings (zone);

ALTER TABLE devices
    ADD COLUMN status_reason      text,
    ADD COLUMN maintenance_until  timestamptz,
    ADD COLUMN status_changed_at  timestamptz,
    ADD COLUMN replaces           text REFERENCES devices (id),
    ADD COLUMN replaced_by        text REFERENCES devices (id);
-- Ingest polls for rows changed since its last look; the tick ends due maintenance.
CREATE INDEX devices_updated ON devices (updated_at);
CREATE INDEX devices_maintenance_due ON devices (maintenance_until) WHERE status = 'maintenance';
CREATE INDEX devices_zone ON devices (zone);

-- Messages from unregistered ids, one row per id, kept by a trigger on dead_letters in the
-- ingest batch's own transaction: a rogue id flooding costs one upsert per batch, and the
-- pending list never scans the dead letters.
CREATE TABLE pending_devices (
    device_id     text PRIMARY KEY,
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    count         bigint NOT NULL,
    last_topic    text NOT NULL,
    last_payload  bytea NOT NULL,
    last_size     integer NOT NULL
);
CREATE INDEX pending_devices_last_seen ON pending_devices (last_seen DESC);

CREATE FUNCTION pending_devices_from_dead_letters() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO pending_devices AS p (device_id, first_seen, last_seen, count, last_topic,
                                      last_payload, last_size)
    SELECT n.device_id, n.first_seen, n.last_seen, n.count, l.topic, l.payload, l.payload_size
    FROM (SELECT device_id, min(received_at) AS first_seen, max(received_at) AS last_seen,
                 count(*) AS count
          FROM new_rows WHERE reason = 'unknown_device' AND device_id IS NOT NULL
          GROUP BY device_id) n
    JOIN LATERAL (SELECT topic, payload, payload_size FROM new_rows r
                  WHERE r.device_id = n.device_id AND r.reason = 'unknown_device'
                  ORDER BY r.received_at DESC LIMIT 1) l ON true
    -- Decommissioned ids and ids registered at another site are dead-lettered with the same
    -- reason; they are not waiting to be registered.
    WHERE NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = n.device_id)
    ORDER BY n.device_id
    ON CONFLICT (device_id) DO UPDATE SET
        first_seen = least(p.first_seen, excluded.first_seen),
        count = p.count + excluded.count,
        last_seen = greatest(p.last_seen, excluded.last_seen),
        last_topic = CASE WHEN excluded.last_seen >= p.last_seen
                          THEN excluded.last_topic ELSE p.last_topic END,
        last_payload = CASE WHEN excluded.last_seen >= p.last_seen
                            THEN excluded.last_payload ELSE p.last_payload END,
        last_size = CASE WHEN excluded.last_seen >= p.last_seen
                         THEN excluded.last_size ELSE p.last_size END;
    RETURN NULL;
END $$;

CREATE TRIGGER dead_letters_pending AFTER INSERT ON dead_letters
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT
    EXECUTE FUNCTION pending_devices_from_dead_letters();

INSERT INTO pending_devices (device_id, first_seen, last_seen, count, last_topic, last_payload,
                             last_size)
SELECT DISTINCT ON (device_id) device_id,
       min(received_at) OVER w, max(received_at) OVER w, count(*) OVER w,
       topic, payload, payload_size
FROM dead_letters dl
WHERE reason = 'unknown_device' AND device_id IS NOT NULL
  AND NOT EXISTS (SELECT 1 FROM devices d WHERE d.id = dl.device_id)
WINDOW w AS (PARTITION BY device_id)
ORDER BY device_id, received_at DESC;

-- Who did what: devices, buildings, zones and users. actor is a user name, 'system' for the
-- automatic end of maintenance, or 'cli:<login>' for the console script.
CREATE TABLE audit_log (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL,
    actor_id      bigint REFERENCES users (id),
    subject_type  text NOT NULL CHECK (subject_type IN ('device', 'building', 'zone', 'user')),
    subject_id    text NOT NULL,
    action        text NOT NULL,
    detail        jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_subject ON audit_log (subject_type, subject_id, at DESC);
CREATE INDEX audit_log_actor ON audit_log (actor, at DESC);
