-- Issue 14: fire and tamper events from a device whose clock is outside the time window are
-- stored stamped with their arrival (docs/contract.md, "A wrong device clock"). The events
-- table is unique on (device_id, ts, seq), and a redelivery would arrive at another time; this
-- table keeps the stamp the first copy got, keyed by the message's own identity, so every
-- later copy takes the same stamp and the events' unique index recognises it as a duplicate.
CREATE TABLE restamped_events (
    device_id  text COLLATE "C" NOT NULL,
    seq        bigint NOT NULL,
    device_ts  timestamptz NOT NULL,
    ts         timestamptz NOT NULL,
    PRIMARY KEY (device_id, seq, device_ts)
);
