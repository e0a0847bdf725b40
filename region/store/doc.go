// Package store is the region's database: every message the sites send,
// kept exactly once, behind one Store interface with two implementations
// over database/sql: SQLite (OpenSQLite, the binding from internal/sqlite
// handed in through Options, so this package builds without cgo) and
// PostgreSQL (OpenPostgres, pgx v5 through its database/sql driver). The
// SQL is shared; a small dialect value holds what differs (placeholders,
// the maximum function, row locks), and each dialect has its own embedded
// migration history (migrations/<dialect>/NNNN_name.sql), applied one
// transaction per step and recorded with the file's sha256.
//
// Every table is keyed so that a replay changes nothing: messages by
// (site, seq), events by their IDs, audit records by (site, audit_seq),
// gallery acks by (site, seq), statuses by site (and camera) keeping the
// newest "at", the quarantine by topic and the sha256 of the bytes.
//
// Ingest runs one transaction per message: the (site, seq) row or
// Duplicate; the kind's row; the site's highest and contiguous seq and
// its gaps (the missing ranges between them, with when each was first
// seen and how often a resend was requested). Writers of one site take
// turns on the site's row, so concurrent ingesters, in one process or
// several, store each message once.
//
// Audit records are checked against the site's stored chain as they
// arrive, in any order: a record's prev must be the hash of the stored
// record before it (64 zeros for record 1) and its hash the prev of the
// stored record after it. A record that does not link is quarantined
// with the reason and changes nothing else, except that its (site, seq)
// counts as received: the site would resend the same bytes, so leaving
// the seq missing would only make the region ask for it forever.
//
// Face crops (sightings' crop, alerts' evidence crop) are not kept in
// rows: they go to a content-addressed directory, <dir>/<aa>/<sha256>.jpg,
// written under a temporary name, fsynced and renamed before the
// transaction commits; rows keep the sha256 and a crop already present
// is not written again.
//
// The master gallery (Gallery) keeps persons, their enrolment photos and
// templates, which facility holds each, the numbered revisions issued to
// every site, transfers and the region's own audit log. Photos and
// template vectors are sealed at rest with AES-256-GCM under the store key
// (internal/storekey, Options.KeyFile, made on the first start), each
// bound to its person, photo and model, so a value copied into another
// row fails to open; the database keeps a check value that refuses
// another key. Every change that alters what a site should hold issues a
// revision row for that site (the person ids to upsert or remove) in the
// same transaction, so a site that was offline gets every change by
// asking for what follows the revision it runs. A site holds the persons
// active at it and those in transit to it once their upsert was issued.
//
// Gallery acknowledgements say which revision a site runs (in force), and
// drive transfers in the message's transaction: the source running the
// removal moves a transfer from requested to removed_at_source and at once
// to in_transit (the destination's upsert is issued); the destination
// running that upsert completes it (active_at_destination, final). A
// source silent for the source wait is passed over by AdvanceTransfers. A
// transfer may be cancelled until the destination confirms: the person
// goes back to the source, and the destination drops them if it was sent
// them. One transfer per person is open at a time.
//
// A site's enrolment merges into the gallery in the message's transaction:
// an unknown person is created, held at that site, with the site's
// profile; a known person keeps the region's profile (the region wins a
// conflict of profiles) and gains the photo and templates it lacks
// (photos by sha256, templates by photo and model), which go to the
// person's facility as a revision; the site's own copy is recognised by
// the sha256 when it comes back. A replayed message changes nothing.
//
// Every read and write of biometric data, and every gallery and transfer
// change, appends a record naming the actor to the region's audit log,
// whose records are hash-chained (VerifyAudit); writers take turns on its
// head row. A write audits in its own transaction. A read of one person's
// biometrics is audited in the transaction that reads it; the bulk read
// that builds a site's revision (SiteBiometrics) reads in one read-only
// transaction, a consistent snapshot that does not hold the write lock,
// and returns the data only once its one audit record is committed.
//
// Times are stored as integer nanoseconds since the Unix epoch in both
// dialects: exact round trips, and bucket arithmetic (Counts) that is
// the same query in both.
package store
