-- Issue 17, review fixes: a revoked or closed dispatch stops its queued deliveries. Its pending
-- rows become 'cancelled' (never sent); a row a sender holds at that moment is cancelled when
-- a sender next takes it (store/deliveries.py).
ALTER TABLE deliveries ADD COLUMN cancelled_at timestamptz;
ALTER TABLE deliveries DROP CONSTRAINT deliveries_state_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_state_check
    CHECK (state IN ('pending', 'sent', 'failed', 'cancelled'));
ALTER TABLE deliveries ADD CONSTRAINT deliveries_cancelled_check
    CHECK ((state = 'cancelled') = (cancelled_at IS NOT NULL));
