-- Issue 17, dispatch: incidents sent to the zone's on-call grid worker, escalated along the
-- call order until someone accepts, answered through signed field links; each site's choice
-- of automatic dispatch for a confirmed fire; and the operator's record of the 119 call.
-- People and channels are ROSTERS' tables, deliveries OUTBOUND's: referenced here by id only.

CREATE TABLE dispatch_settings (
    site                text PRIMARY KEY CHECK (site ~ '^[a-z0-9-]{1,32}$'),
    auto_dispatch_fire  boolean NOT NULL DEFAULT false,  -- a confirmed fire dispatches itself
    updated_by          text NOT NULL,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- The field links' signing key when FIREWATCH_FIELD_LINK_SECRET is unset: every process of a
-- deployment shares the database, so they share this key too. 244 random bits.
CREATE TABLE field_link_key (
    one     boolean PRIMARY KEY DEFAULT true CHECK (one),
    secret  text NOT NULL
);
INSERT INTO field_link_key (secret)
VALUES (replace(gen_random_uuid()::text || gen_random_uuid()::text, '-', ''));

CREATE TABLE dispatches (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    incident_id   bigint NOT NULL REFERENCES incidents (id),
    site          text,
    zone          text,               -- NULL: the incident's place has no zone
    automatic     boolean NOT NULL,   -- by the site's setting, not by an operator
    created_by    text NOT NULL,
    created_at    timestamptz NOT NULL,
    state         text NOT NULL DEFAULT 'notifying' CHECK (state IN
                  ('notifying', 'accepted', 'on_my_way', 'arrived', 'done', 'revoked')),
    level         integer,            -- the highest call-order level notified so far
    person_id     text,               -- who accepted (until then: who was notified last)
    person_name   text,
    notified_at   timestamptz,        -- the newest notice: the accept clock runs from it
    exhausted_at  timestamptz,        -- nobody left to call and nobody accepted
    accepted_at   timestamptz,
    on_my_way_at  timestamptz,
    arrived_at    timestamptz,
    verdict_at    timestamptz,
    verdict       text CHECK (verdict IN ('real_fire', 'false_alarm', 'no_access')),
    cause         text,
    note          text CHECK (length(note) <= 2000),
    revoked_at    timestamptz,
    revoked_by    text,
    closed_at     timestamptz,        -- verdict given or revoked: its links answer no more
    CHECK ((closed_at IS NULL) = (state NOT IN ('done', 'revoked')))
);
-- A site's automatic dispatch happens once per incident, whoever runs the loop and how often.
CREATE UNIQUE INDEX dispatches_one_automatic ON dispatches (incident_id) WHERE automatic;
-- One dispatch at a time per incident: a second one revokes the first.
CREATE UNIQUE INDEX dispatches_one_open ON dispatches (incident_id) WHERE closed_at IS NULL;
CREATE INDEX dispatches_incident ON dispatches (incident_id, id);
CREATE INDEX dispatches_waiting ON dispatches (notified_at)
    WHERE state = 'notifying' AND exhausted_at IS NULL;

-- A signed link grants one person one dispatch until it expires or is revoked; the token
-- carries (id, dispatch, expiry) and their HMAC (dispatch/field_links.py).
CREATE TABLE field_links (
    id            text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{16,64}$'),
    dispatch_id   bigint NOT NULL REFERENCES dispatches (id),
    person_id     text NOT NULL,
    expires_at    timestamptz NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    views         integer NOT NULL DEFAULT 0,  -- the page or the incident read through it
    answers       integer NOT NULL DEFAULT 0,  -- steps and photos sent through it
    refusals      integer NOT NULL DEFAULT 0,  -- used after it expired, was revoked or closed
    last_used_at  timestamptz
);
CREATE INDEX field_links_dispatch ON field_links (dispatch_id);

-- Each person a dispatch reached, in call order, with the link sent to them.
CREATE TABLE dispatch_notices (
    dispatch_id  bigint NOT NULL REFERENCES dispatches (id),
    person_id    text NOT NULL,
    name         text NOT NULL,
    role         text NOT NULL,
    phone        text,
    level        integer NOT NULL,
    step         text NOT NULL CHECK (step IN ('dispatch', 'escalate')),
    link_id      text NOT NULL REFERENCES field_links (id),
    channels     integer NOT NULL,   -- deliveries enqueued: one per channel of the person
    notified_at  timestamptz NOT NULL,
    PRIMARY KEY (dispatch_id, person_id)
);

-- What the field said, step by step, as it arrived (the incident log holds the same steps).
CREATE TABLE field_answers (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dispatch_id  bigint NOT NULL REFERENCES dispatches (id),
    link_id      text NOT NULL REFERENCES field_links (id),
    person_id    text NOT NULL,
    step         text NOT NULL CHECK (step IN ('accept', 'on_my_way', 'arrived', 'verdict')),
    verdict      text CHECK (verdict IN ('real_fire', 'false_alarm', 'no_access')),
    cause        text,
    note         text CHECK (length(note) <= 2000),
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX field_answers_dispatch ON field_answers (dispatch_id, id);

-- Photos from the field: type-checked and size-limited by the API, bounded per dispatch by
-- the store; the bound below is the hard ceiling of FIREWATCH_FIELD_PHOTO_MAX_BYTES.
CREATE TABLE field_photos (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    dispatch_id   bigint NOT NULL REFERENCES dispatches (id),
    link_id       text NOT NULL REFERENCES field_links (id),
    person_id     text NOT NULL,
    content_type  text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png', 'image/webp')),
    size          integer NOT NULL CHECK (size BETWEEN 1 AND 16777216),
    data          bytea NOT NULL CHECK (octet_length(data) = size),
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX field_photos_dispatch ON field_photos (dispatch_id, id);

-- A real-fire verdict asks the operator to confirm the 119 call; the answer is recorded.
ALTER TABLE incidents
    ADD COLUMN call_119_requested_at  timestamptz,
    ADD COLUMN call_119_at            timestamptz,
    ADD COLUMN call_119_by            text,
    ADD COLUMN call_119_confirmed     boolean,
    ADD COLUMN call_119_note          text;

-- A site's dispatch settings are audited like the registry (0012 keeps its three).
ALTER TABLE audit_log DROP CONSTRAINT audit_log_subject_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_type_check
    CHECK (subject_type IN ('device', 'building', 'zone', 'user', 'credentials',
                            'person', 'channel', 'roster', 'site'));
