-- The full alert lifecycle (ISA-18.2): shelving, suppression, latching, escalation, roll-ups.
-- An alert's subject is a device id, or 'building:<id>' / 'site:<id>' for the roll-ups.

ALTER TABLE alerts DROP CONSTRAINT alerts_state_check;
ALTER TABLE alerts ADD CONSTRAINT alerts_state_check CHECK (state IN
    ('active_unack', 'active_ack', 'returned_unack', 'shelved', 'suppressed', 'resolved'));
ALTER TABLE alerts ALTER COLUMN device_id DROP NOT NULL;
ALTER TABLE alerts ADD COLUMN subject text;
UPDATE alerts SET subject = device_id;
ALTER TABLE alerts ALTER COLUMN subject SET NOT NULL;
ALTER TABLE alerts
    ADD COLUMN site              text,
    ADD COLUMN building          text,
    ADD COLUMN peak              double precision,       -- highest value seen while open
    ADD COLUMN condition_active  boolean NOT NULL DEFAULT true,
    ADD COLUMN latching          boolean NOT NULL DEFAULT false,
    ADD COLUMN chattering        boolean NOT NULL DEFAULT false,
    ADD COLUMN suppressed_reason text,                   -- maintenance, commissioning, test
    ADD COLUMN returned_at       timestamptz,
    ADD COLUMN acked_at          timestamptz,
    ADD COLUMN acked_by          text,
    ADD COLUMN shelved_until     timestamptz,
    ADD COLUMN shelve_reason     text,
    ADD COLUMN claimed_by        text,
    ADD COLUMN escalation_level  integer NOT NULL DEFAULT 0,
    ADD COLUMN escalated_at      timestamptz,
    ADD COLUMN resolved_by       text,
    ADD COLUMN resolution_note   text,
    ADD COLUMN parent_id         bigint REFERENCES alerts (id);
ALTER TABLE alerts ADD CONSTRAINT alerts_cause_check CHECK (cause IS NULL OR cause IN
    ('real_fire', 'false_alarm', 'test', 'maintenance', 'other'));

DROP INDEX alerts_one_open;
CREATE UNIQUE INDEX alerts_one_open ON alerts (subject, rule) WHERE state <> 'resolved';
CREATE INDEX alerts_unacked_fire ON alerts (created_at)
    WHERE state = 'active_unack' AND class = 'fire';
CREATE INDEX alerts_shelved ON alerts (shelved_until) WHERE state = 'shelved';
CREATE INDEX alerts_parent ON alerts (parent_id) WHERE parent_id IS NOT NULL;
CREATE INDEX alerts_created ON alerts (site, created_at DESC);
