-- Registry fixes from the review of issue 4.

-- Maintenance returns a device to the status it left (commissioning or active), not always
-- to active. NULL (rows already in maintenance) means active.
ALTER TABLE devices
    ADD COLUMN resume_status text CHECK (resume_status IN ('commissioning', 'active'));

-- Ingest's registry copy learns of every committed change at once: the notification is sent
-- at commit, so a transaction that started long before it commits is never missed (polling
-- on updated_at, which is the transaction's start, could miss it).
CREATE FUNCTION devices_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('fw_devices', NEW.id);
    RETURN NULL;
END $$;

CREATE TRIGGER devices_changed AFTER INSERT OR UPDATE ON devices
    FOR EACH ROW EXECUTE FUNCTION devices_notify();

-- `firewatch broker passwd` is audited: a rotated broker password is a write like any other.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_subject_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_type_check
    CHECK (subject_type IN ('device', 'building', 'zone', 'user', 'credentials'));
