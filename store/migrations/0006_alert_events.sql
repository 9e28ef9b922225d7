-- The alert log doubles as the live stream's event log. An event's position is its writing
-- transaction and its id: ids are handed out before commit, so a later id can commit first;
-- a reader that only takes events from transactions older than every running one (the
-- snapshot's xmin) and orders by (txid, id) never skips one that commits late.

ALTER TABLE alert_log ADD COLUMN txid xid8 NOT NULL DEFAULT pg_current_xact_id();
CREATE INDEX alert_log_stream ON alert_log (txid, id);
CREATE INDEX alerts_updated ON alerts (updated_at DESC);
CREATE INDEX alerts_device ON alerts (device_id, raised_at DESC);
CREATE INDEX alerts_building ON alerts (building, raised_at DESC);
