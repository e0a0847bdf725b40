-- The master gallery: persons, their photos and templates (sealed with
-- the store key), the revisions issued to each site, transfers and the
-- region's audit log.

-- The key check: an HMAC of a constant under the store key, written when
-- the first key is used, so that another key is refused.
CREATE TABLE store_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    check_value BLOB NOT NULL,
    created_ns  INTEGER NOT NULL
) STRICT;

CREATE TABLE gallery_persons (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    categories   TEXT NOT NULL,  -- JSON array of strings
    watch_lists  TEXT NOT NULL,  -- JSON array of strings
    facility     TEXT NOT NULL,  -- site id, '' for none
    status       TEXT NOT NULL,  -- active | in_transit | released
    search       TEXT NOT NULL,  -- id and display name in lower case, for Persons' search
    created_ns   INTEGER NOT NULL,
    updated_ns   INTEGER NOT NULL
) STRICT;
CREATE INDEX gallery_persons_facility ON gallery_persons (facility, id);

CREATE TABLE gallery_photos (
    person   TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    jpeg     BLOB NOT NULL,  -- sealed
    source   TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_ns INTEGER NOT NULL,
    UNIQUE (person, sha256)
) STRICT;

CREATE TABLE gallery_templates (
    person       TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    model        TEXT NOT NULL,
    vec          BLOB NOT NULL,  -- sealed little-endian float32s
    dim          INTEGER NOT NULL,
    quality      REAL NOT NULL,
    source       TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    added_ns     INTEGER NOT NULL,
    UNIQUE (person, photo_sha256, model)
) STRICT;
CREATE INDEX gallery_templates_model ON gallery_templates (model, person);

-- Per site: the newest revision issued, the one in force by its newest
-- acknowledgement, and what was sent.
CREATE TABLE gallery_sites (
    site       TEXT PRIMARY KEY,
    issued     INTEGER NOT NULL DEFAULT 0,
    in_force   INTEGER NOT NULL DEFAULT 0,
    ack_seq    INTEGER NOT NULL DEFAULT 0,
    ack_status TEXT NOT NULL DEFAULT '',
    ack_reason TEXT NOT NULL DEFAULT '',
    ack_ns     INTEGER NOT NULL DEFAULT 0,
    sent       INTEGER NOT NULL DEFAULT 0,
    sent_ns    INTEGER NOT NULL DEFAULT 0,
    sends      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE TABLE gallery_revisions (
    site      TEXT NOT NULL,
    revision  INTEGER NOT NULL,
    is_full   INTEGER NOT NULL,
    issued_ns INTEGER NOT NULL,
    upserts   TEXT NOT NULL,  -- JSON array of person ids
    removals  TEXT NOT NULL,  -- JSON array of person ids
    PRIMARY KEY (site, revision)
) STRICT;

CREATE TABLE transfers (
    id            TEXT PRIMARY KEY,
    person        TEXT NOT NULL,
    from_site     TEXT NOT NULL,
    to_site       TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_ns  INTEGER NOT NULL,
    removed_ns    INTEGER NOT NULL DEFAULT 0,
    transit_ns    INTEGER NOT NULL DEFAULT 0,
    active_ns     INTEGER NOT NULL DEFAULT 0,
    cancelled_by  TEXT NOT NULL DEFAULT '',
    cancelled_ns  INTEGER NOT NULL DEFAULT 0,
    cancel_reason TEXT NOT NULL DEFAULT '',
    from_revision INTEGER NOT NULL,
    to_revision   INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX transfers_person ON transfers (person, requested_ns);
CREATE INDEX transfers_time ON transfers (requested_ns);
-- One open transfer per person.
CREATE UNIQUE INDEX transfers_open ON transfers (person)
    WHERE state IN ('requested', 'removed_at_source', 'in_transit');

-- The region's own audit log, hash-chained; region_audit_head holds the
-- newest record so that writers take turns on its row.
CREATE TABLE region_audit (
    seq    INTEGER PRIMARY KEY,
    at_ns  INTEGER NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
) STRICT;
CREATE INDEX region_audit_actor ON region_audit (actor, seq);
CREATE INDEX region_audit_object ON region_audit (object, seq);
CREATE TABLE region_audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash TEXT NOT NULL
) STRICT;
INSERT INTO region_audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The revision each ack says the site runs. Acks stored before this
-- column existed: an applied one runs its revision, a failed one the
-- revision of the newest applied ack before it.
ALTER TABLE gallery_acks ADD COLUMN in_force INTEGER NOT NULL DEFAULT 0;
UPDATE gallery_acks SET in_force = revision WHERE status = 'applied';
UPDATE gallery_acks SET in_force = coalesce((SELECT b.revision FROM gallery_acks b
    WHERE b.site = gallery_acks.site AND b.status = 'applied' AND b.seq < gallery_acks.seq
    ORDER BY b.seq DESC LIMIT 1), 0) WHERE status <> 'applied';
INSERT INTO gallery_sites (site, issued, in_force, ack_seq, ack_status, ack_reason, ack_ns)
    SELECT a.site, a.in_force, a.in_force, a.seq, a.status, a.reason, a.received_ns FROM gallery_acks a
    WHERE a.seq = (SELECT max(b.seq) FROM gallery_acks b WHERE b.site = a.site);
