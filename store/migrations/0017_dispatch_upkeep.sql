-- Issue 17, review fixes: what the dispatch loop reads every tick is indexed, and what it
-- prunes is found without a scan.

-- The automatic-dispatch query (store/dispatches.py, _AUTO): a site's open confirmed fires.
CREATE INDEX incidents_auto_dispatch ON incidents (site, id)
    WHERE class = 'fire' AND confirmed_at IS NOT NULL AND state <> 'resolved';

-- Done deliveries by when they were done, for retention (FIREWATCH_DELIVERY_RETENTION_DAYS).
CREATE INDEX deliveries_done ON deliveries ((coalesce(sent_at, failed_at, cancelled_at)))
    WHERE state <> 'pending';

-- Field data of resolved incidents, for retention (FIREWATCH_FIELD_RETENTION_DAYS).
CREATE INDEX incidents_resolved_at ON incidents (resolved_at) WHERE state = 'resolved';

-- A done delivery keeps no channel configuration: it held the robots' secrets, and a done row
-- is never sent again (its channel_id and channel_kind say where it went).
UPDATE deliveries SET channel_config = '{}' WHERE state <> 'pending';
