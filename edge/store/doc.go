// Package store is the facility's durable store: one SQLite file
// (through github.com/mattn/go-sqlite3; this is the only package that
// imports it) holding
//
//   - persons: profile id, display name, facility, custody status (active,
//     in_transit, released), categories and watch lists;
//   - biometric data: face templates per sample (person, model id,
//     dimension, quality, source, who enrolled it and when, the vector),
//     enrolment photos, and the best face crop of each sighting;
//   - the site: zones (with kinds such as staff_only), cameras, alert rules
//     (kind, params JSON, severity, cooldown), each person's permitted
//     zones and weekly time windows, keep-apart orders. Rule kinds,
//     severities, params and windows are those of package edge/rules,
//     which evaluates them: the store checks them with it and keeps params
//     and windows in its canonical forms, never parsing them itself;
//   - events: sightings (one identity decision per track; the person is
//     NULL for an unknown face), alerts on them and the decisions people
//     make on the alerts;
//   - the outbox of messages for the region, numbered by the site sequence
//     number;
//   - the hash-chained audit log.
//
// # Durable first, then announce
//
// An event and the outbox messages that announce it are written in one
// transaction (RecordSighting, RecordAlert, DecideAlert). The database runs
// in WAL mode with synchronous=FULL, so when one of these returns nil the
// event is fsynced and survives a crash or power cut; only then may the
// caller publish it, show it to a guard or act on it. When one of them
// returns an error nothing of the write was stored: no event row, no
// outbox row, no audit row, and no sequence number used up. A full disk
// is reported as ErrStorageFull, so the daemon can say that events were
// NOT stored, and stores them once space returns.
//
// Sequence numbers come from a counter advanced inside the event's
// transaction: they increase strictly, leave no gaps (the region can tell
// a lost message from a late one) and are never reused after sent
// messages are pruned. The uplink drains the outbox with Pending and
// MarkSent (after the broker's acknowledgement); unsent messages are never
// pruned.
//
// # Refusing damaged files
//
// Open checks an existing file through a read-only connection before
// anything can write to it: the SQLite header, PRAGMA quick_check, the
// application id, the schema version (a file from a newer build is
// refused, never downgraded) and the key check value. A file failing any
// check is refused with a typed error and left byte for byte unchanged;
// the store never repairs a damaged database or replaces it with a new
// one. A new database is built under a temporary name and linked into
// place complete, so an interrupted first start leaves nothing at the
// path. Schema changes are embedded, numbered migrations, each applied in
// its own transaction and recorded in schema_version with its checksum.
//
// # Encryption at rest
//
// Templates, enrolment photos and face crops are sealed with AES-256-GCM
// under a key derived from a 32-byte master key. Each value gets a random
// nonce, and the additional data binds it to its table, column and row id
// (and, for templates, to the person, model and dimension), so a sealed
// value copied into another row, or a row re-attributed to another
// person, fails authentication (ErrDecrypt) instead of yielding someone
// else's face. Other columns are not encrypted.
//
// The master key lives in a key file outside the database and its backups
// (GenerateKeyFile makes one); a key file that group or others can access
// is refused. The Key type prints only a fingerprint, whatever the verb or
// encoder. The database stores an HMAC of a constant under the key, so a
// wrong key is refused at Open (ErrWrongKey) rather than producing garbage
// later. Losing every copy of the key erases the biometric data
// (crypto-erase): the ciphertexts stay but cannot be opened.
//
// Each enrolment photo's SHA-256 (of the plaintext) and size are kept in
// the clear beside it, for duplicate detection only; a hash of a photo
// reveals no face. Photos, PhotosByHash, TemplateModels and
// TemplateCounts list this metadata, never an image or a vector, so they
// are not biometric reads: they are not audited and need no key.
//
// Without the key a store can still be opened with Options.NoKey, which is
// read-only: persons, site configuration, events, the outbox and the audit
// log (including VerifyAudit) can be read, every biometric read fails with
// ErrNoKey and every write with ErrReadOnly. A wrong key is always refused;
// it never falls back to this mode.
//
// # Audit
//
// Every biometric read and write (gallery load, crop or photo read,
// enrolment, crop stored with a sighting, deletion) and every change to
// persons, the site and alert decisions takes an actor (a user name, or
// SystemActor for the daemon itself) and writes an audit entry in the same
// transaction as the action: both are stored or neither is. Each entry
// carries sha256(previous entry's hash || its canonical form); VerifyAudit
// finds the first entry that was edited, removed or re-hashed. Cutting off
// the newest entries is detectable only against a copy of the head kept
// elsewhere (the region receives the log through AuditEntries).
//
// # Concurrency
//
// A Store is safe for concurrent use. Writes go through one connection,
// one transaction at a time (BEGIN IMMEDIATE), which also serialises the
// sequence counter and the audit chain; reads use a small pool of
// read-only connections and never wait for writes.
package store
