-- Version 3: what the guard-post monitor needs.
--
--   - users: the monitor's accounts. The password hash is a PHC string
--     (argon2id) made outside the store; the store never sees a password.
--   - alerts gain their acknowledgement (who took the alert and when).
--   - cameras gain a region: the part of the picture that is the zone, a
--     JSON array of [x, y] points normalised to 0..1, NULL for the whole
--     picture.
--   - a person's removal keeps the history: sightings keep the person id
--     of a profile that is gone, and alerts the rule id of a rule that is
--     gone. Those two references therefore lose their foreign keys, which
--     SQLite can only do by rebuilding the tables (alert_decisions, which
--     refers to alerts, with them). Rows are copied with their ids.
--   - indexes for the searches: sightings newest first (by time, camera,
--     person, unknown faces), alerts newest first (by state), the audit
--     log by actor, action and time.

CREATE TABLE users (
    name          TEXT PRIMARY KEY,
    role          TEXT NOT NULL CHECK (role IN ('guard', 'supervisor', 'admin', 'auditor', 'installer')),
    lang          TEXT NOT NULL CHECK (lang IN ('ru', 'en')),
    password_hash TEXT NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    disabled      INTEGER NOT NULL CHECK (disabled IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

ALTER TABLE cameras ADD COLUMN region TEXT CHECK (json_valid(region));

CREATE TEMP TABLE keep_alerts AS SELECT * FROM alerts;
CREATE TEMP TABLE keep_decisions AS SELECT * FROM alert_decisions;
DROP TABLE alert_decisions;
DROP TABLE alerts;

CREATE TABLE sightings_v3 (
    id             TEXT PRIMARY KEY, -- UUID
    camera_id      TEXT NOT NULL REFERENCES cameras (id),
    track_id       INTEGER NOT NULL CHECK (track_id >= 0),
    -- NULL: an unknown face. Not a foreign key: the id stays when the
    -- profile is removed.
    person_id      TEXT CHECK (person_id <> ''),
    model_id       TEXT NOT NULL,
    score          REAL NOT NULL,
    margin         REAL NOT NULL,
    quality        REAL NOT NULL CHECK (quality BETWEEN 0 AND 1),
    frames         INTEGER NOT NULL CHECK (frames >= 1),
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    best_crop      BLOB, -- sealed JPEG/PNG, NULL when none was kept or it was removed
    recorded_at_ms INTEGER NOT NULL,
    CHECK (last_seen_ms >= first_seen_ms)
) STRICT;
INSERT INTO sightings_v3 SELECT id, camera_id, track_id, person_id, model_id, score, margin, quality, frames,
    first_seen_ms, last_seen_ms, best_crop, recorded_at_ms FROM sightings;
DROP TABLE sightings;
ALTER TABLE sightings_v3 RENAME TO sightings;
CREATE INDEX sightings_by_time ON sightings (first_seen_ms);
CREATE INDEX sightings_by_person ON sightings (person_id, first_seen_ms) WHERE person_id IS NOT NULL;
CREATE INDEX sightings_by_last_seen ON sightings (last_seen_ms, id);
CREATE INDEX sightings_by_camera_last_seen ON sightings (camera_id, last_seen_ms, id);
CREATE INDEX sightings_by_person_last_seen ON sightings (person_id, last_seen_ms, id) WHERE person_id IS NOT NULL;
CREATE INDEX sightings_unknown_by_last_seen ON sightings (last_seen_ms, id) WHERE person_id IS NULL;

CREATE TABLE alerts (
    id            TEXT PRIMARY KEY, -- UUID
    -- Not a foreign key: the id stays when the rule is deleted.
    rule_id       TEXT NOT NULL CHECK (rule_id <> ''),
    severity      TEXT NOT NULL CHECK (severity <> ''), -- as in rules
    sighting_id   TEXT NOT NULL REFERENCES sightings (id),
    state         TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'rejected')),
    evidence      TEXT NOT NULL CHECK (json_valid(evidence)),
    created_at_ms INTEGER NOT NULL,
    ack_by        TEXT CHECK (ack_by <> ''),
    ack_at_ms     INTEGER,
    CHECK ((ack_by IS NULL) = (ack_at_ms IS NULL))
) STRICT;
INSERT INTO alerts (id, rule_id, severity, sighting_id, state, evidence, created_at_ms)
    SELECT id, rule_id, severity, sighting_id, state, evidence, created_at_ms FROM keep_alerts;
CREATE INDEX alerts_open ON alerts (created_at_ms) WHERE state = 'open';
CREATE INDEX alerts_by_time ON alerts (created_at_ms, id);
CREATE INDEX alerts_by_state_time ON alerts (state, created_at_ms, id);

CREATE TABLE alert_decisions (
    id            INTEGER PRIMARY KEY,
    alert_id      TEXT NOT NULL UNIQUE REFERENCES alerts (id),
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note          TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL
) STRICT;
INSERT INTO alert_decisions (id, alert_id, actor, decision, note, decided_at_ms)
    SELECT id, alert_id, actor, decision, note, decided_at_ms FROM keep_decisions;

DROP TABLE temp.keep_alerts;
DROP TABLE temp.keep_decisions;

CREATE INDEX audit_log_by_actor ON audit_log (actor, seq);
CREATE INDEX audit_log_by_action ON audit_log (action, seq);
CREATE INDEX audit_log_by_time ON audit_log (at_ms);
