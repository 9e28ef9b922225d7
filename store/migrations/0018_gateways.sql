-- Issue 18, gateways: what a gateway may refuse before its input is a contract message, and
-- the inbox through which a gateway in another process hands messages to ingest.

-- A frame whose checksum, length or end mark is wrong; a push whose signature or login fails;
-- a push the platform sent that names a device no mapping knows. Their topic is
-- gw/{gateway}/{site}/{peer}, so the per-site caps (0008) count them like any other.
ALTER TABLE dead_letters DROP CONSTRAINT dead_letters_reason_check;
ALTER TABLE dead_letters ADD CONSTRAINT dead_letters_reason_check CHECK (reason IN (
    'bad_topic', 'unknown_device', 'malformed', 'schema', 'out_of_range', 'future_timestamp',
    'stale', 'oversize', 'kind_mismatch', 'bad_frame', 'bad_signature'));

-- Contract messages (or a gateway's refusals) from a gateway that runs outside ingest's
-- process: the api's HTTP push receivers, or a GB/T 26875.3 server on its own. The gateway
-- commits its rows here, then answers its peer only once ingest has committed them and
-- deleted them (ack after commit, as for MQTT). Each site's ingest takes its site's rows;
-- device_id lets partitioned workers take only their own devices' rows (NULL for a refusal).
CREATE TABLE gateway_inbox (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site              text NOT NULL,
    gateway           text NOT NULL,
    device_id         text,
    topic             text NOT NULL,
    payload           bytea NOT NULL,
    received_at       timestamptz NOT NULL,
    rejection_reason  text,
    rejection_detail  text,
    CHECK ((rejection_reason IS NULL) = (rejection_detail IS NULL))
);
CREATE INDEX gateway_inbox_site ON gateway_inbox (site, id);

-- A component of a building's fire alarm system (detector, call point, module) and the user
-- information transmission device that reports its panel (GB/T 26875.3, contract/kinds.py).
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check CHECK (kind IN (
    'smoke', 'electrical', 'thermal_camera', 'video_camera', 'panel', 'transmitter'));
