-- Issue 17: video cameras are registry devices. They publish nothing, so nothing judges them
-- offline (contract/kinds.py); their config holds the stream, presets and PTZ control.
ALTER TABLE devices DROP CONSTRAINT devices_kind_check;
ALTER TABLE devices ADD CONSTRAINT devices_kind_check
    CHECK (kind IN ('smoke', 'electrical', 'thermal_camera', 'video_camera'));

-- A camera's login to its own HTTP API (ISAPI), for moving it to a preset. Digest
-- authentication needs the password itself, not a hash, so it is kept here, apart from
-- devices.config: a registry export, an audit entry or a device read never carries it, and no
-- route returns it. Only dispatch/ptz.py reads it back, to answer the camera's challenge.
CREATE TABLE camera_credentials (
    device_id   text PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,
    username    text NOT NULL CHECK (length(username) BETWEEN 1 AND 64),
    password    text NOT NULL CHECK (length(password) BETWEEN 1 AND 128),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    updated_by  text NOT NULL
);
