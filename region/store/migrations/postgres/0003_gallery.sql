-- The master gallery: persons, their photos and templates (sealed with
-- the store key), the revisions issued to each site, transfers and the
-- region's audit log.

-- The key check: an HMAC of a constant under the store key, written when
-- the first key is used, so that another key is refused.
CREATE TABLE store_key (
    id          BIGINT PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT NOT NULL,
    check_value BYTEA NOT NULL,
    created_ns  BIGINT NOT NULL
);

CREATE TABLE gallery_persons (
    id           TEXT PRIMARY KEY,
    display_name TEXT NOT NULL,
    categories   TEXT NOT NULL,  -- JSON array of strings
    watch_lists  TEXT NOT NULL,  -- JSON array of strings
    facility     TEXT NOT NULL,  -- site id, '' for none
    status       TEXT NOT NULL,  -- active | in_transit | released
    search       TEXT NOT NULL,  -- id and display name in lower case, for Persons' search
    created_ns   BIGINT NOT NULL,
    updated_ns   BIGINT NOT NULL
);
CREATE INDEX gallery_persons_facility ON gallery_persons (facility, id);

CREATE TABLE gallery_photos (
    person   TEXT NOT NULL,
    sha256   TEXT NOT NULL,
    jpeg     BYTEA NOT NULL,  -- sealed
    source   TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_ns BIGINT NOT NULL,
    UNIQUE (person, sha256)
);

CREATE TABLE gallery_templates (
    person       TEXT NOT NULL,
    photo_sha256 TEXT NOT NULL,
    model        TEXT NOT NULL,
    vec          BYTEA NOT NULL,  -- sealed little-endian float32s
    dim          BIGINT NOT NULL,
    quality      DOUBLE PRECISION NOT NULL,
    source       TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    added_ns     BIGINT NOT NULL,
    UNIQUE (person, photo_sha256, model)
);
CREATE INDEX gallery_templates_model ON gallery_templates (model, person);

-- Per site: the newest revision issued, the one in force by its newest
-- acknowledgement, and what was sent.
CREATE TABLE gallery_sites (
    site       TEXT PRIMARY KEY,
    issued     BIGINT NOT NULL DEFAULT 0,
    in_force   BIGINT NOT NULL DEFAULT 0,
    ack_seq    BIGINT NOT NULL DEFAULT 0,
    ack_status TEXT NOT NULL DEFAULT '',
    ack_reason TEXT NOT NULL DEFAULT '',
    ack_ns     BIGINT NOT NULL DEFAULT 0,
    sent       BIGINT NOT NULL DEFAULT 0,
    sent_ns    BIGINT NOT NULL DEFAULT 0,
    sends      BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE gallery_revisions (
    site      TEXT NOT NULL,
    revision  BIGINT NOT NULL,
    is_full   BOOLEAN NOT NULL,
    issued_ns BIGINT NOT NULL,
    upserts   TEXT NOT NULL,  -- JSON array of person ids
    removals  TEXT NOT NULL,  -- JSON array of person ids
    PRIMARY KEY (site, revision)
);

CREATE TABLE transfers (
    id            TEXT PRIMARY KEY,
    person        TEXT NOT NULL,
    from_site     TEXT NOT NULL,
    to_site       TEXT NOT NULL,
    state         TEXT NOT NULL,
    reason        TEXT NOT NULL,
    requested_by  TEXT NOT NULL,
    requested_ns  BIGINT NOT NULL,
    removed_ns    BIGINT NOT NULL DEFAULT 0,
    transit_ns    BIGINT NOT NULL DEFAULT 0,
    active_ns     BIGINT NOT NULL DEFAULT 0,
    cancelled_by  TEXT NOT NULL DEFAULT '',
    cancelled_ns  BIGINT NOT NULL DEFAULT 0,
    cancel_reason TEXT NOT NULL DEFAULT '',
    from_revision BIGINT NOT NULL,
    to_revision   BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX transfers_person ON transfers (person, requested_ns);
CREATE INDEX transfers_time ON transfers (requested_ns);
-- One open transfer per person.
CREATE UNIQUE INDEX transfers_open ON transfers (person)
    WHERE state IN ('requested', 'removed_at_source', 'in_transit');

-- The region's own audit log, hash-chained; region_audit_head holds the
-- newest record so that writers take turns on its row.
CREATE TABLE region_audit (
    seq    BIGINT PRIMARY KEY,
    at_ns  BIGINT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    object TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev   TEXT NOT NULL,
    hash   TEXT NOT NULL
);
CREATE INDEX region_audit_actor ON region_audit (actor, seq);
CREATE INDEX region_audit_object ON region_audit (object, seq);
CREATE TABLE region_audit_head (
    id   BIGINT PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO region_audit_head (id, seq, hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- The revision each ack says the site runs. Acks stored before this
-- column existed: an applied one runs its revision, a failed one the
-- revision of the newest applied ack before it.
ALTER TABLE gallery_acks ADD COLUMN in_force BIGINT NOT NULL DEFAULT 0;
UPDATE gallery_acks SET in_force = revision WHERE status = 'applied';
UPDATE gallery_acks SET in_force = coalesce((SELECT b.revision FROM gallery_acks b
    WHERE b.site = gallery_acks.site AND b.status = 'applied' AND b.seq < gallery_acks.seq
    ORDER BY b.seq DESC LIMIT 1), 0) WHERE status <> 'applied';
INSERT INTO gallery_sites (site, issued, in_force, ack_seq, ack_status, ack_reason, ack_ns)
    SELECT a.site, a.in_force, a.in_force, a.seq, a.status, a.reason, a.received_ns FROM gallery_acks a
    WHERE a.seq = (SELECT max(b.seq) FROM gallery_acks b WHERE b.site = a.site);
