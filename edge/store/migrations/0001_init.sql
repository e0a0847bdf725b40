-- The facility store, version 1. Times are Unix milliseconds (UTC) in
-- columns ending in _ms. Columns holding sealed (AES-256-GCM) values are
-- marked "sealed"; their layout is version || nonce || ciphertext || tag.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value ANY NOT NULL
) STRICT;

-- Monotonic counters that must survive deletion of the rows they number.
CREATE TABLE counters (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL CHECK (value >= 0)
) STRICT;
INSERT INTO counters (name, value) VALUES ('outbox_seq', 0);

CREATE TABLE persons (
    id            TEXT PRIMARY KEY,
    display_name  TEXT NOT NULL,
    facility      TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('active', 'in_transit', 'released')),
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE person_categories (
    person_id TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    category  TEXT NOT NULL,
    PRIMARY KEY (person_id, category)
) STRICT, WITHOUT ROWID;

CREATE TABLE person_watchlists (
    person_id TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    watchlist TEXT NOT NULL,
    PRIMARY KEY (person_id, watchlist)
) STRICT, WITHOUT ROWID;
CREATE INDEX person_watchlists_by_list ON person_watchlists (watchlist);

CREATE TABLE enrolment_photos (
    id             TEXT PRIMARY KEY,
    person_id      TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    source         TEXT NOT NULL,
    enrolled_by    TEXT NOT NULL,
    enrolled_at_ms INTEGER NOT NULL,
    -- sha256 of the plaintext image, lower-case hex, for duplicate
    -- detection only; size_bytes is the plaintext length.
    sha256         TEXT NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
    size_bytes     INTEGER NOT NULL CHECK (size_bytes > 0),
    image          BLOB NOT NULL -- sealed
) STRICT;
CREATE INDEX enrolment_photos_by_person ON enrolment_photos (person_id, enrolled_at_ms);
CREATE INDEX enrolment_photos_by_sha256 ON enrolment_photos (sha256);

CREATE TABLE face_templates (
    id             TEXT PRIMARY KEY,
    person_id      TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    model_id       TEXT NOT NULL,
    dim            INTEGER NOT NULL CHECK (dim BETWEEN 1 AND 65536),
    quality        REAL NOT NULL CHECK (quality BETWEEN 0 AND 1),
    source         TEXT NOT NULL,
    photo_id       TEXT REFERENCES enrolment_photos (id) ON DELETE SET NULL,
    enrolled_by    TEXT NOT NULL,
    enrolled_at_ms INTEGER NOT NULL,
    vector         BLOB NOT NULL -- sealed little-endian float32[dim]
        CHECK (length(vector) = 29 + 4 * dim)
) STRICT;
CREATE INDEX face_templates_by_model ON face_templates (model_id);
CREATE INDEX face_templates_by_person ON face_templates (person_id);

CREATE TABLE zones (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('general', 'housing', 'yard', 'staff_only',
                                                'visiting', 'medical', 'entrance', 'perimeter')),
    updated_at_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE cameras (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    zone_id       TEXT NOT NULL REFERENCES zones (id),
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- Kinds, severities and params are those of the rules engine (package
-- edge/rules), checked there before a row is written. They are not listed
-- again here, so that a kind the engine learns needs no migration.
CREATE TABLE rules (
    id            TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind <> ''),
    name          TEXT NOT NULL,
    params        TEXT NOT NULL CHECK (json_valid(params)),
    severity      TEXT NOT NULL CHECK (severity <> ''),
    cooldown_s    INTEGER NOT NULL CHECK (cooldown_s BETWEEN 0 AND 86400),
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    updated_at_ms INTEGER NOT NULL
) STRICT;

-- Where and when a person may be. time_window is a weekly window in the
-- canonical text of the rules engine ("mon-fri 08:00-17:00"), so one
-- window has one spelling and a permit given twice is refused.
CREATE TABLE person_permits (
    id          INTEGER PRIMARY KEY,
    person_id   TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    zone_id     TEXT NOT NULL REFERENCES zones (id) ON DELETE CASCADE,
    time_window TEXT NOT NULL CHECK (time_window <> ''),
    UNIQUE (person_id, zone_id, time_window)
) STRICT;

-- Keep-apart orders; each pair is stored once with person_a < person_b.
CREATE TABLE keep_apart (
    person_a      TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    person_b      TEXT NOT NULL REFERENCES persons (id) ON DELETE CASCADE,
    reason        TEXT NOT NULL,
    created_by    TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    PRIMARY KEY (person_a, person_b),
    CHECK (person_a < person_b)
) STRICT, WITHOUT ROWID;

CREATE TABLE sightings (
    id             TEXT PRIMARY KEY, -- UUID
    camera_id      TEXT NOT NULL REFERENCES cameras (id),
    track_id       INTEGER NOT NULL CHECK (track_id >= 0),
    person_id      TEXT REFERENCES persons (id), -- NULL: an unknown face
    model_id       TEXT NOT NULL,
    score          REAL NOT NULL,
    margin         REAL NOT NULL,
    quality        REAL NOT NULL CHECK (quality BETWEEN 0 AND 1),
    frames         INTEGER NOT NULL CHECK (frames >= 1),
    first_seen_ms  INTEGER NOT NULL,
    last_seen_ms   INTEGER NOT NULL,
    best_crop      BLOB, -- sealed JPEG/PNG, NULL when none was kept
    recorded_at_ms INTEGER NOT NULL,
    CHECK (last_seen_ms >= first_seen_ms)
) STRICT;
CREATE INDEX sightings_by_time ON sightings (first_seen_ms);
CREATE INDEX sightings_by_person ON sightings (person_id, first_seen_ms) WHERE person_id IS NOT NULL;

CREATE TABLE alerts (
    id            TEXT PRIMARY KEY, -- UUID
    rule_id       TEXT NOT NULL REFERENCES rules (id),
    severity      TEXT NOT NULL CHECK (severity <> ''), -- as in rules
    sighting_id   TEXT NOT NULL REFERENCES sightings (id),
    state         TEXT NOT NULL CHECK (state IN ('open', 'confirmed', 'rejected')),
    evidence      TEXT NOT NULL CHECK (json_valid(evidence)),
    created_at_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_open ON alerts (created_at_ms) WHERE state = 'open';

CREATE TABLE alert_decisions (
    id            INTEGER PRIMARY KEY,
    alert_id      TEXT NOT NULL UNIQUE REFERENCES alerts (id),
    actor         TEXT NOT NULL,
    decision      TEXT NOT NULL CHECK (decision IN ('confirmed', 'rejected')),
    note          TEXT NOT NULL,
    decided_at_ms INTEGER NOT NULL
) STRICT;

-- Messages for the uplink. seq is the site sequence number: it comes from
-- counters.outbox_seq inside the transaction that stores the event, so it
-- is strictly increasing and gap-free, and never reused after pruning.
CREATE TABLE outbox (
    seq           INTEGER PRIMARY KEY CHECK (seq > 0),
    topic         TEXT NOT NULL,
    payload       BLOB NOT NULL,
    retain        INTEGER NOT NULL CHECK (retain IN (0, 1)),
    created_at_ms INTEGER NOT NULL,
    sent_at_ms    INTEGER
) STRICT;
CREATE INDEX outbox_unsent ON outbox (seq) WHERE sent_at_ms IS NULL;
CREATE INDEX outbox_sent ON outbox (sent_at_ms) WHERE sent_at_ms IS NOT NULL;

-- Hash-chained audit log: hash = sha256(prev_hash || canonical row).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    at_ms     INTEGER NOT NULL,
    actor     TEXT NOT NULL,
    action    TEXT NOT NULL,
    object    TEXT NOT NULL,
    detail    TEXT NOT NULL,
    prev_hash BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB NOT NULL CHECK (length(hash) = 32)
) STRICT;
-- The chain detects tampering; these triggers stop the store's own code
-- from ever changing history by mistake.
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
