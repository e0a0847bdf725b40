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
// Times are stored as integer nanoseconds since the Unix epoch in both
// dialects: exact round trips, and bucket arithmetic (Counts) that is
// the same query in both.
package store
