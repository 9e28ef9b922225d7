-- Issue 16: one alert per device and condition family, and incidents (alerts/incidents.py).

-- The families and ranks of alerts/families.py, as they stand at this version.
CREATE TEMPORARY TABLE rule_family (rule text PRIMARY KEY, family text NOT NULL, rank int NOT NULL)
    ON COMMIT DROP;
INSERT INTO rule_family VALUES
    ('heat_anomaly', 'heat', 0), ('heat_ror', 'heat', 1), ('heat_fixed', 'heat', 2),
    ('smoke_prealarm', 'smoke', 0), ('smoke_obscuration', 'smoke', 1), ('smoke_alarm', 'smoke', 2),
    ('cable_temp_ror', 'cable', 0), ('cable_temp', 'cable', 1), ('cable_fire', 'cable', 2),
    ('leakage_trend', 'leakage', 0), ('leakage', 'leakage', 1),
    ('camera_sudden_rise', 'camera_heat', 0), ('camera_prealarm', 'camera_heat', 1),
    ('camera_growth', 'camera_heat', 2), ('camera_hotspot', 'camera_heat', 3),
    ('camera_fire', 'camera_heat', 4);

ALTER TABLE alerts
    ADD COLUMN family     text,
    ADD COLUMN conditions text[] NOT NULL DEFAULT '{}',  -- the family's rules that hold now
    ADD COLUMN steps      timestamptz[] NOT NULL DEFAULT '{}';  -- event times raised, moved up
UPDATE alerts a SET family = coalesce((SELECT family FROM rule_family f WHERE f.rule = a.rule),
                                      a.rule);
UPDATE alerts SET conditions = ARRAY[rule] WHERE state <> 'resolved' AND condition_active;
UPDATE alerts SET steps = ARRAY[raised_at] WHERE state <> 'resolved';
ALTER TABLE alerts ALTER COLUMN family SET NOT NULL;

-- Open alerts of one device and family become one: the highest rule's, holding the others'
-- conditions, counts and latching; the others are resolved into it, logged.
CREATE TEMPORARY TABLE merged ON COMMIT DROP AS
SELECT a.id, first_value(a.id) OVER w AS into_id
FROM alerts a LEFT JOIN rule_family f ON f.rule = a.rule
WHERE a.state <> 'resolved'
WINDOW w AS (PARTITION BY a.subject, a.family ORDER BY coalesce(f.rank, 0) DESC, a.id DESC);
DELETE FROM merged WHERE id = into_id;

UPDATE alerts k SET
    class = CASE WHEN 'fire' = ANY (s.classes || k.class) THEN 'fire'
                 WHEN 'prealarm' = ANY (s.classes || k.class) THEN 'prealarm'
                 ELSE k.class END,
    conditions = k.conditions || s.conditions,
    steps = k.steps || s.steps,
    condition_active = k.condition_active OR s.active,
    latching = k.latching OR s.latching,
    count = k.count + s.count,
    -- The kept alert is as live as the liveliest it absorbs: the most urgent state of those
    -- not suppressed, and not suppressed if any of them is not.
    state = CASE WHEN k.suppressed_reason IS NULL AND NOT s.live THEN k.state
                 WHEN 'active_unack' IN (s.live_state, k.state) THEN 'active_unack'
                 WHEN 'returned_unack' IN (s.live_state, k.state) THEN 'returned_unack'
                 WHEN 'active_ack' IN (s.live_state, k.state) THEN 'active_ack'
                 ELSE coalesce(s.live_state, k.state) END,
    suppressed_reason = CASE WHEN s.live THEN NULL ELSE k.suppressed_reason END,
    updated_at = now()
FROM (
    SELECT m.into_id, array_agg(a.class) AS classes,
           bool_or(a.suppressed_reason IS NULL) AS live,
           CASE WHEN bool_or(a.state = 'active_unack' AND a.suppressed_reason IS NULL)
                    THEN 'active_unack'
                WHEN bool_or(a.state = 'returned_unack' AND a.suppressed_reason IS NULL)
                    THEN 'returned_unack'
                WHEN bool_or(a.state = 'active_ack' AND a.suppressed_reason IS NULL)
                    THEN 'active_ack'
                WHEN bool_or(a.state = 'shelved' AND a.suppressed_reason IS NULL)
                    THEN 'shelved' END AS live_state,
           coalesce(array_agg(a.rule) FILTER (WHERE a.condition_active), '{}') AS conditions,
           array_agg(a.raised_at) AS steps,
           bool_or(a.condition_active) AS active, bool_or(a.latching) AS latching,
           sum(a.count)::int AS count
    FROM merged m JOIN alerts a ON a.id = m.id GROUP BY m.into_id
) s
WHERE k.id = s.into_id;

INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)
SELECT a.id, 'migration', 'resolve', a.state, 'resolved',
       jsonb_build_object('cause', 'other', 'merged_into', m.into_id)
FROM merged m JOIN alerts a ON a.id = m.id ORDER BY a.id;
UPDATE alerts a SET state = 'resolved', resolved_at = now(), resolved_by = 'migration',
    cause = 'other', updated_at = now(),
    resolution_note = 'merged into alert ' || m.into_id || ': one alert per condition family'
FROM merged m WHERE a.id = m.id;

DROP INDEX alerts_one_open;
CREATE UNIQUE INDEX alerts_one_open ON alerts (subject, family) WHERE state <> 'resolved';

-- Incidents. State, class and confirmation follow from the signals (alerts/incidents.py) and
-- are stored for filtering and for telling what changed.
CREATE TABLE incidents (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    site            text,
    building        text,           -- NULL: a camera target no building of the registry holds
    origin          text,           -- the camera (or building-less device) of such an incident
    covers          text[] NOT NULL DEFAULT '{}',  -- that camera's buildings
    position        jsonb,          -- the camera target's place in the image
    class           text NOT NULL CHECK (class IN ('fire', 'prealarm', 'supervisory')),
    state           text NOT NULL CHECK (state IN
                    ('active_unack', 'active_ack', 'returned_unack', 'shelved', 'resolved')),
    confirmed_at    timestamptz,    -- event time two devices' fire signals agreed
    opened_at       timestamptz NOT NULL,   -- event time of its first signal
    last_at         timestamptz NOT NULL,   -- event time of its newest signal
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    acked_at        timestamptz,
    acked_by        text,
    claimed_by      text,
    shelved_until   timestamptz,
    shelve_reason   text,
    resolved_at     timestamptz,
    resolved_by     text,
    cause           text CHECK (cause IS NULL OR cause IN
                    ('real_fire', 'false_alarm', 'test', 'maintenance', 'other')),
    resolution_note text,
    CHECK (building IS NOT NULL OR origin IS NOT NULL)
);
CREATE UNIQUE INDEX incidents_one_open ON incidents (building)
    WHERE state <> 'resolved' AND building IS NOT NULL;
CREATE UNIQUE INDEX incidents_one_open_origin ON incidents (origin)
    WHERE state <> 'resolved' AND building IS NULL;
CREATE INDEX incidents_open_covers ON incidents USING gin (covers)
    WHERE state <> 'resolved' AND building IS NULL;
CREATE INDEX incidents_site_opened ON incidents (site, created_at DESC);

ALTER TABLE alerts ADD COLUMN incident_id bigint REFERENCES incidents (id);
CREATE INDEX alerts_incident ON alerts (incident_id) WHERE incident_id IS NOT NULL;

-- The incidents' events share the alert log's ids and its commit-order lock (0006): the live
-- stream reads both as one log, and Last-Event-ID means the same in both.
CREATE TABLE incident_log (
    id          bigint PRIMARY KEY DEFAULT nextval(pg_get_serial_sequence('alert_log', 'id')),
    incident_id bigint NOT NULL REFERENCES incidents (id),
    at          timestamptz NOT NULL DEFAULT now(),
    actor       text NOT NULL,
    action      text NOT NULL,
    from_state  text,
    to_state    text,
    detail      jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX incident_log_incident ON incident_log (incident_id, id);
CREATE TRIGGER incident_log_in_commit_order BEFORE INSERT ON incident_log
    FOR EACH STATEMENT EXECUTE FUNCTION alert_log_in_commit_order();

-- Alerts already open get their incidents: one per building (per device without one).
CREATE TEMPORARY TABLE members ON COMMIT DROP AS
SELECT a.id, a.site, a.building, a.subject, a.class, a.state, a.raised_at, a.last_at,
       coalesce(a.building, '') || '/' || CASE WHEN a.building IS NULL THEN a.subject ELSE '' END
           AS place
FROM alerts a
WHERE a.state NOT IN ('resolved', 'suppressed') AND a.suppressed_reason IS NULL
  AND a.subject NOT LIKE '%:%' AND a.class IN ('fire', 'prealarm', 'supervisory');

CREATE TEMPORARY TABLE made ON COMMIT DROP AS
WITH places AS (
    SELECT place, min(site) AS site, min(building) AS building,
           CASE WHEN min(building) IS NULL THEN min(subject) END AS origin,
           CASE WHEN bool_or(class = 'fire') THEN 'fire'
                WHEN bool_or(class = 'prealarm') THEN 'prealarm' ELSE 'supervisory' END AS class,
           CASE WHEN bool_or(state = 'active_unack') THEN 'active_unack'
                WHEN bool_or(state = 'returned_unack') THEN 'returned_unack'
                WHEN bool_or(state = 'active_ack') THEN 'active_ack' ELSE 'shelved' END AS state,
           min(raised_at) AS opened_at, max(last_at) AS last_at
    FROM members GROUP BY place
), inserted AS (
    INSERT INTO incidents (site, building, origin, class, state, opened_at, last_at)
    SELECT site, building, origin, class, state, opened_at, last_at FROM places ORDER BY place
    RETURNING id, building, origin
)
SELECT i.id, p.place FROM inserted i
JOIN places p ON p.building IS NOT DISTINCT FROM i.building
             AND p.origin IS NOT DISTINCT FROM i.origin;

UPDATE alerts a SET incident_id = made.id FROM members m JOIN made ON made.place = m.place
WHERE a.id = m.id;
UPDATE incidents i SET shelved_until = (SELECT max(a.shelved_until) FROM alerts a
                                        WHERE a.incident_id = i.id AND a.state = 'shelved')
WHERE i.state = 'shelved';

-- A confirmed fire is now its incident's confirmation, not an alert of its own.
UPDATE incidents i SET confirmed_at = c.raised_at FROM alerts c
WHERE c.rule = 'confirmed_fire' AND c.state <> 'resolved' AND c.building = i.building
  AND i.state <> 'resolved';
INSERT INTO alert_log (alert_id, actor, action, from_state, to_state, detail)
SELECT id, 'migration', 'resolve', state, 'resolved', '{"cause": "other"}'::jsonb
FROM alerts WHERE rule = 'confirmed_fire' AND state <> 'resolved' ORDER BY id;
UPDATE alerts SET state = 'resolved', resolved_at = now(), resolved_by = 'migration',
    cause = 'other', updated_at = now(),
    resolution_note = 'now its building''s incident is confirmed instead (issue 16)'
WHERE rule = 'confirmed_fire' AND state <> 'resolved';

INSERT INTO incident_log (incident_id, actor, action, from_state, to_state, detail)
SELECT id, 'migration', 'open', NULL, state, '{"from": "alerts open before incidents"}'::jsonb
FROM incidents ORDER BY id;
