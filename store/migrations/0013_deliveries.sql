-- Issue 17: the notification queue (store/deliveries.py, dispatch/sender.py). Every notification
-- is a row before anything is sent. A sender locks one pending row FOR UPDATE SKIP LOCKED for
-- the whole attempt and commits its outcome right after the reply, so a killed sender leaves the
-- row pending (its lock goes with its connection) and another attempt sends it again.
CREATE TABLE deliveries (
    id             bigserial PRIMARY KEY,
    -- Unique: enqueueing a key again is ignored, so nobody is notified twice for one step.
    key            text NOT NULL UNIQUE CHECK (length(key) BETWEEN 1 AND 200),
    dispatch_id    bigint,
    person_id      text,
    step           text NOT NULL,
    channel_id     text NOT NULL,
    channel_kind   text NOT NULL
        CHECK (channel_kind IN ('wecom', 'dingtalk', 'feishu', 'webhook', 'sms')),
    -- The channel as configured when enqueued: a retry goes where the first attempt went.
    channel_config jsonb NOT NULL,
    message        jsonb NOT NULL,  -- title, text, link, mention_phones
    state          text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts       integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    due_at         timestamptz NOT NULL DEFAULT now(),  -- the next attempt, while pending
    last_error     text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    sent_at        timestamptz,
    failed_at      timestamptz,
    CHECK ((state = 'sent') = (sent_at IS NOT NULL)),
    CHECK ((state = 'failed') = (failed_at IS NOT NULL))
);

-- What senders poll: the pending rows, soonest due first.
CREATE INDEX deliveries_due ON deliveries (due_at, id) WHERE state = 'pending';
CREATE INDEX deliveries_of_dispatch ON deliveries (dispatch_id, id) WHERE dispatch_id IS NOT NULL;
