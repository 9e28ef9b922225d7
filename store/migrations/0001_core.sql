-- Registry, live status, alert lifecycle, rejections and people: the tables that are not time series.

CREATE TABLE devices (
    id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
    kind          text NOT NULL CHECK (kind IN ('smoke', 'electrical', 'thermal_camera')),
    site          text NOT NULL CHECK (site ~ '^[a-z0-9-]{1,32}$'),
    name          text,
    building      text,
    floor         integer,
    room          text,
    lat           double precision CHECK (lat BETWEEN -90 AND 90),
    lon           double precision CHECK (lon BETWEEN -180 AND 180),
    zone          text,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN
                  ('registered', 'commissioning', 'active', 'maintenance', 'decommissioned')),
    heartbeat_s   integer NOT NULL CHECK (heartbeat_s > 0),
    config        jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX devices_site_kind ON devices (site, kind);
CREATE INDEX devices_building ON devices (building);

CREATE TABLE device_status (
    device_id        text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    last_seen        timestamptz NOT NULL,   -- device clock of the newest message
    last_received_at timestamptz NOT NULL,   -- server clock
    last_seq         bigint NOT NULL,
    battery_pct      double precision,
    rssi_dbm         double precision,
    firmware         text,
    latest           jsonb NOT NULL DEFAULT '{}'::jsonb,   -- metric -> newest value
    message_count    bigint NOT NULL DEFAULT 0
);

CREATE TABLE camera_frames_latest (
    device_id  text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    ts         timestamptz NOT NULL,
    seq        bigint NOT NULL,
    payload    bytea NOT NULL            -- the frame exactly as the camera sent it
);

CREATE TABLE alerts (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    device_id    text NOT NULL REFERENCES devices (id),
    rule         text NOT NULL,
    class        text NOT NULL CHECK (class IN ('fire', 'prealarm', 'supervisory', 'trouble')),
    state        text NOT NULL CHECK (state IN
                 ('active_unack', 'active_ack', 'returned_unack', 'resolved')),
    raised_at    timestamptz NOT NULL,   -- device clock of the triggering message
    received_at  timestamptz NOT NULL,   -- server clock when that message arrived
    last_at      timestamptz NOT NULL,   -- device clock of the newest repeat
    count        integer NOT NULL DEFAULT 1 CHECK (count > 0),
    detail       jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    resolved_at  timestamptz,
    cause        text
);
-- One open alert per device and rule: repeats update it and count.
CREATE UNIQUE INDEX alerts_one_open ON alerts (device_id, rule) WHERE state <> 'resolved';
CREATE INDEX alerts_open_by_time ON alerts (raised_at DESC) WHERE state <> 'resolved';
CREATE INDEX alerts_by_time ON alerts (raised_at DESC);

CREATE TABLE alert_log (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    alert_id    bigint NOT NULL REFERENCES alerts (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX alert_log_alert ON alert_log (alert_id, at);

CREATE TABLE dead_letters (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    received_at   timestamptz NOT NULL,
    topic         text NOT NULL,
    device_id     text,
    reason        text NOT NULL CHECK (reason IN ('bad_topic', 'unknown_device', 'malformed',
                  'schema', 'out_of_range', 'future_timestamp', 'stale', 'oversize',
                  'kind_mismatch')),
    detail        text NOT NULL,
    payload       bytea NOT NULL,          -- the first bytes only; payload_size says how many came
    payload_size  integer NOT NULL
);
CREATE INDEX dead_letters_time ON dead_letters USING brin (received_at);
CREATE INDEX dead_letters_reason ON dead_letters (reason, received_at DESC);
CREATE INDEX dead_letters_device ON dead_letters (device_id, received_at DESC);

CREATE TABLE users (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name        text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9_.@-]{1,64}$'),
    role        text NOT NULL CHECK (role IN ('admin', 'technician', 'operator', 'viewer')),
    disabled    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_tokens (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id       bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_sha256  text NOT NULL UNIQUE,   -- tokens are shown once and stored only hashed
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz
);
