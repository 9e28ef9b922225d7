-- Issue 18, mapped MQTT: device models for devices that publish their own JSON on their own
-- topics (a Zigbee2MQTT sensor, a Tasmota plug). A device names its model in its config
-- (config.mqtt = {"model": ..., "topic": ...}); ingest's mapped MQTT session subscribes to
-- the models' topics and translates each message into contract messages (contract/mapping.py).
CREATE TABLE device_models (
    name         text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9_.-]{1,64}$'),
    kind         text NOT NULL,
    topic        text NOT NULL CHECK (length(topic) BETWEEN 1 AND 256),
    -- The rest of the model as the API took it: time, metrics, events (contract/mapping.py).
    mapping      jsonb NOT NULL,
    description  text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

-- The devices of one model: for the model's device count, and for refusing to delete a model
-- devices still name.
CREATE INDEX devices_mqtt_model ON devices ((config -> 'mqtt' ->> 'model'))
    WHERE config ? 'mqtt';

ALTER TABLE audit_log DROP CONSTRAINT audit_log_subject_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_type_check
    CHECK (subject_type IN ('device', 'building', 'zone', 'user', 'credentials',
                            'person', 'channel', 'roster', 'site', 'device_model'));
