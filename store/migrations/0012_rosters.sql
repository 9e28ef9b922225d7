-- The safety grid's people (issue 17): grid workers and supervisors, the channels that reach
-- them (group robots, webhooks, SMS providers), who is on call in each zone and when, and each
-- zone's supervisor chain. Zones are ids as buildings.zone holds them, not references to the
-- zones table: deleting a zone's record leaves its buildings and its roster as they are.

CREATE TABLE channels (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    kind        text NOT NULL CHECK (kind IN ('wecom', 'dingtalk', 'feishu', 'webhook', 'sms')),
    name        text,
    zone        text,            -- a zone's group robot; NULL: site-wide (an SMS provider)
    config      jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(config) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE people (
    id          text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_.-]{1,64}$'),
    name        text NOT NULL,
    phone       text,
    role        text NOT NULL CHECK (role IN ('grid_worker', 'supervisor')),
    active      boolean NOT NULL DEFAULT true,   -- false: on leave, skipped when calling
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- The channels a person is reached on, in the order given.
CREATE TABLE person_channels (
    person_id   text NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    channel_id  text NOT NULL REFERENCES channels (id),
    position    smallint NOT NULL,
    PRIMARY KEY (person_id, channel_id)
);
CREATE INDEX person_channels_channel ON person_channels (channel_id);

-- A shift starts on each of its weekdays (ISO: 1 Monday .. 7 Sunday) at starts, site time;
-- ends at or before starts means it ends the next day (equal: 24 hours). Lower positions are
-- called first.
CREATE TABLE roster_shifts (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    zone        text NOT NULL,
    person_id   text NOT NULL REFERENCES people (id),
    position    integer NOT NULL CHECK (position BETWEEN 0 AND 999),
    weekdays    smallint[] NOT NULL
                CHECK (cardinality(weekdays) BETWEEN 1 AND 7
                       AND weekdays <@ '{1,2,3,4,5,6,7}'::smallint[]),
    starts      time NOT NULL,
    ends        time NOT NULL
);
CREATE INDEX roster_shifts_zone ON roster_shifts (zone, position);
CREATE INDEX roster_shifts_person ON roster_shifts (person_id);

-- Called after the zone's grid workers, level 1 first.
CREATE TABLE zone_supervisors (
    zone        text NOT NULL,
    level       smallint NOT NULL CHECK (level >= 1),
    person_id   text NOT NULL REFERENCES people (id),
    PRIMARY KEY (zone, level),
    UNIQUE (zone, person_id)
);
CREATE INDEX zone_supervisors_person ON zone_supervisors (person_id);

-- People, channels and rosters are audited like the rest of the registry. A later migration
-- that extends this list must keep these three.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_subject_type_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_subject_type_check
    CHECK (subject_type IN ('device', 'building', 'zone', 'user', 'credentials',
                            'person', 'channel', 'roster'));
