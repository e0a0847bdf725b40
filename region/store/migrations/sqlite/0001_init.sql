-- The region's schema. Times are integer nanoseconds since the Unix epoch
-- (UTC), the same in both dialects, so that bucket arithmetic is one query.

-- One row per site heard from: the sequence bookkeeping and the newest
-- site status.
CREATE TABLE sites (
    site           TEXT PRIMARY KEY,
    highest_seq    INTEGER NOT NULL DEFAULT 0,
    contiguous_seq INTEGER NOT NULL DEFAULT 0,
    audit_head     INTEGER NOT NULL DEFAULT 0,
    last_seen_ns   INTEGER NOT NULL DEFAULT 0,
    status_at_ns   INTEGER NOT NULL DEFAULT 0,
    state          TEXT NOT NULL DEFAULT '',
    version        TEXT NOT NULL DEFAULT '',
    cameras_up     INTEGER NOT NULL DEFAULT 0,
    cameras_total  INTEGER NOT NULL DEFAULT 0,
    outbox_depth   INTEGER NOT NULL DEFAULT 0,
    reason         TEXT NOT NULL DEFAULT ''
) STRICT;

-- Every (site, seq) received, stored or quarantined: the exactly-once key.
CREATE TABLE messages (
    site        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    status      TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    PRIMARY KEY (site, seq)
) STRICT, WITHOUT ROWID;

-- Ranges of seqs missing between a site's contiguous and highest seq.
CREATE TABLE gaps (
    site            TEXT NOT NULL,
    from_seq        INTEGER NOT NULL,
    to_seq          INTEGER NOT NULL,
    first_seen_ns   INTEGER NOT NULL,
    requested       INTEGER NOT NULL DEFAULT 0,
    last_request_ns INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (site, from_seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE sightings (
    id            TEXT PRIMARY KEY,
    site          TEXT NOT NULL,
    seq           INTEGER NOT NULL,
    camera        TEXT NOT NULL,
    track         INTEGER NOT NULL,
    person        TEXT NOT NULL,
    first_seen_ns INTEGER NOT NULL,
    last_seen_ns  INTEGER NOT NULL,
    best_at_ns    INTEGER NOT NULL,
    frames        INTEGER NOT NULL,
    score         REAL NOT NULL,
    margin        REAL NOT NULL,
    model         TEXT NOT NULL,
    quality       REAL NOT NULL,
    crop          TEXT NOT NULL,
    received_ns   INTEGER NOT NULL
) STRICT;
CREATE INDEX sightings_time ON sightings (best_at_ns, id);
CREATE INDEX sightings_person ON sightings (person, best_at_ns, id);
CREATE INDEX sightings_site ON sightings (site, best_at_ns);

CREATE TABLE alerts (
    id          TEXT PRIMARY KEY,
    site        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    rule        TEXT NOT NULL,
    kind        TEXT NOT NULL,
    severity    TEXT NOT NULL,
    sighting    TEXT NOT NULL,
    person      TEXT NOT NULL,
    others      TEXT NOT NULL,
    camera      TEXT NOT NULL,
    zone        TEXT NOT NULL,
    at_ns       INTEGER NOT NULL,
    score       REAL NOT NULL,
    margin      REAL NOT NULL,
    frames      INTEGER NOT NULL,
    crop        TEXT NOT NULL,
    received_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_time ON alerts (at_ns, id);
CREATE INDEX alerts_site ON alerts (site, at_ns);

CREATE TABLE decisions (
    id          TEXT PRIMARY KEY,
    site        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    alert       TEXT NOT NULL,
    decision    TEXT NOT NULL,
    by_user     TEXT NOT NULL,
    at_ns       INTEGER NOT NULL,
    note        TEXT NOT NULL,
    received_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX decisions_alert ON decisions (alert, at_ns);
CREATE INDEX decisions_time ON decisions (at_ns);

CREATE TABLE audit (
    site        TEXT NOT NULL,
    audit_seq   INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    id          TEXT NOT NULL,
    at_ns       INTEGER NOT NULL,
    actor       TEXT NOT NULL,
    role        TEXT NOT NULL,
    action      TEXT NOT NULL,
    object      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev        TEXT NOT NULL,
    hash        TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    PRIMARY KEY (site, audit_seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE gallery_acks (
    site        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    revision    INTEGER NOT NULL,
    status      TEXT NOT NULL,
    at_ns       INTEGER NOT NULL,
    templates   INTEGER NOT NULL,
    reason      TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    PRIMARY KEY (site, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE cameras (
    site          TEXT NOT NULL,
    camera        TEXT NOT NULL,
    state         TEXT NOT NULL,
    fps           REAL NOT NULL,
    last_frame_ns INTEGER NOT NULL,
    at_ns         INTEGER NOT NULL,
    reason        TEXT NOT NULL,
    PRIMARY KEY (site, camera)
) STRICT, WITHOUT ROWID;

-- Messages the region could not store as they came, with their bytes.
-- The same bytes on the same topic are kept once.
CREATE TABLE quarantine (
    id          INTEGER PRIMARY KEY,
    topic       TEXT NOT NULL,
    site        TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    raw         BLOB NOT NULL,
    raw_sha256  TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_ns INTEGER NOT NULL,
    UNIQUE (topic, raw_sha256)
) STRICT;
CREATE INDEX quarantine_site ON quarantine (site, received_ns);
