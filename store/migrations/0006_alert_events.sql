-- The alert log doubles as the live stream's event log, read in id order by every API replica.
-- Ids are handed out when a row is written, not when it commits, so two writers could commit
-- out of id order and a reader could pass an id that commits later. Every statement that
-- writes the log first takes one transaction-scoped lock, held until commit: log ids are then
-- handed out in commit order, and "after id N" never skips an event. Writers of alert rows are
-- short (an ingest batch's decisions, a timer tick, an operator's click); none waits for an
-- alert row after writing the log, so the lock cannot close a cycle.

CREATE FUNCTION alert_log_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(1182223471);  -- 'FwLo'
    RETURN NULL;
END
$$;

CREATE TRIGGER alert_log_in_commit_order BEFORE INSERT ON alert_log
    FOR EACH STATEMENT EXECUTE FUNCTION alert_log_in_commit_order();

CREATE INDEX alerts_updated ON alerts (updated_at DESC);
CREATE INDEX alerts_device ON alerts (device_id, raised_at DESC);
CREATE INDEX alerts_building ON alerts (building, raised_at DESC);
