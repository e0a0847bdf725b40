// Package store is the facility's durable store: one SQLite file holding
//
//   - persons: profile id, display name, facility, custody status (active,
//     in_transit, released), categories and watch lists;
//   - biometric data: face templates per sample (person, model id,
//     dimension, quality, source, who enrolled it and when, the vector),
//     enrolment photos, and the best face crop of each sighting;
//   - the site: zones (with kinds such as staff_only), cameras (each with
//     an optional region: the polygon of its picture that is the zone, in
//     coordinates normalised to 0..1, which PutCamera keeps), alert rules
//     (kind, params JSON, severity, cooldown), each person's permitted
//     zones and weekly time windows, keep-apart orders. Rule kinds,
//     severities, params and windows are those of package edge/custody,
//     the vocabulary the rules engine reads: the store checks them with it
//     and keeps params and windows in its canonical forms, never parsing
//     them itself;
//   - events: sightings (one identity decision per track; the person is
//     NULL for an unknown face), alerts on them, who acknowledged each
//     alert and the decision, with its reason, that people make on it. An
//     alert is acknowledged by one account (AcknowledgeAlert) before it
//     can be decided, and decided once: of concurrent deciders the first
//     to commit wins and the others get ErrAlreadyDecided;
//   - the accounts of the guard-post monitor: name, role (Roles),
//     language, whether disabled, and the argon2id password hash (a PHC
//     string made by the caller: the store never sees a password and
//     never writes the hash into the audit log);
//   - the outbox of messages for the region, numbered by the site sequence
//     number;
//   - the hash-chained audit log, every entry of which is also an outbox
//     message.
//
// # Durable first, then announce
//
// An event and the outbox message that announces it are written in one
// transaction (RecordSighting, RecordAlert, DecideAlert). The caller does
// not hand in a finished message but a Compose, which the store calls in
// that transaction with the sequence number it assigns: the payload is
// composed once, with its number, and stored as it will be published.
// The database runs
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
// messages are pruned. The uplink drains the outbox with Pending, which
// only reads, and MarkSent (after the broker's acknowledgement); unsent
// messages are never pruned.
//
// A writable store is opened for a site (Options.Region and Options.Site,
// the daemon's site.region and site.id), because it composes the audit
// records it enqueues itself (see Audit). Schema version 1 stored
// messages with seq 0 and finished them as they were published, and the
// daemon shipped the audit log from outside the store, its progress in a
// marker file beside the database (its path + ".audit-shipped"). The
// migration to version 2 finishes the unsent messages (their seq written
// in; no crop, which a sighting does without and an alert is filed without
// by the region), enqueues the audit entries after the marker (all of
// them without one; the region drops repeats by audit_seq) and removes the
// marker.
//
// # SQLite
//
// The store is plain Go over database/sql. The SQLite library comes in
// through Options.SQLite: the mains and the tests pass sqlite.Binding from
// internal/sqlite, the one package that links SQLite (cgo), so packages
// that hold a store, the daemon's composition root among them, build
// without cgo.
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
// Templates, enrolment photos, face crops and the outbox payloads that
// carry a crop (OutboxMessage.CropOf) are sealed with AES-256-GCM under a
// key derived from a 32-byte master key. Each value gets a random nonce,
// and the additional data binds it to its table, column and row id or
// sequence number (and, for templates, to the person, model and
// dimension), so a sealed value copied into another row, or a row
// re-attributed to another person, fails authentication (ErrDecrypt)
// instead of yielding someone else's face. Other columns, and outbox
// payloads without a crop, are not encrypted.
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
// reveals no face. Photos, PhotosByHash, TemplateModels,
// TemplateCounts and TemplateInfos list this metadata, never an image or a vector, so they
// are not biometric reads: they are not audited and need no key.
//
// Without the key a store can still be opened with Options.NoKey, which is
// read-only: persons, site configuration, accounts, events, the outbox and
// the audit log (including VerifyAudit) can be read, every biometric read (a sealed
// outbox payload among them) fails with ErrNoKey and every write with
// ErrReadOnly. A wrong key is always refused;
// it never falls back to this mode.
//
// # Searches
//
// Sightings, Alerts and QueryAudit page through events and the audit log
// with filters (person, camera, the camera's zone, time, unknown faces;
// state; actor, action family, object kind), each served by an index.
// Sightings and alerts come newest first, sightings with an opaque cursor
// for the next page; audit entries come in order of seq, so consecutive
// pages can be checked link by link as VerifyAudit does. Like Photos,
// TemplateInfos lists metadata (model, dimension, quality, source), never
// a vector.
//
// # Removing a person
//
// RemovePerson deletes, in one transaction, a profile with its templates,
// enrolment photos, permits and keep-apart orders, and clears the face
// crops of its sightings. The sightings stay, with the person's id, as
// the history of what happened, as do the alerts on them; an alert keeps
// the id of a rule deleted since (DeleteRule) in the same way. The audit
// log keeps the fact of the removal and its counts. Messages already in
// the outbox are left as they were composed: a crop queued for the
// region before the removal still leaves in its message. A person the
// region manages is not removed locally (ErrRegionManaged): the region
// removes or transfers it, and the site follows its gallery revisions.
//
// # The region's gallery
//
// A person is either the site's own (OriginLocal) or the region's
// (OriginRegion), brought by a signed gallery revision that the caller
// has assembled and verified (sync/gallerysync). ApplyGalleryRevision
// applies one revision in one transaction: the order check against the
// revision in force (GalleryState), the persons replaced or removed with
// their biometrics (photos found again by their SHA-256; the synced
// photos and templates a revision no longer lists deleted, the site's own
// kept), the revision in force, the "gallery.apply" audit entry and the
// applied gallery/ack in the outbox. RefuseGalleryRevision audits a
// refusal ("gallery.refused") and queues a failed or resync ack, in one
// transaction, and changes nothing else. A template the site enrols from
// a photo of its own goes up to the region as a gallery/enrol message
// queued in AddTemplate's transaction.
//
// # Audit
//
// Every biometric read and write (gallery load, crop or photo read,
// enrolment, crop stored with a sighting, deletion, a person's removal)
// and every change to persons, the site, accounts, alert
// acknowledgements and decisions takes an actor (a user name, or
// SystemActor for the daemon itself) and writes an audit entry in the same
// transaction as the action: both are stored or neither is. A crop's
// release to the region, in an outbox message, is such an action
// ("crop.release" by SystemActor, in the transaction that stores the
// message); reading the outbox to publish it is not. Each entry carries
// sha256(previous entry's hash || its canonical form); VerifyAudit finds
// the first entry that was edited, removed or re-hashed. Cutting off the
// newest entries is detectable only against a copy of the head kept
// elsewhere: every entry is enqueued in its own transaction as a
// wire.AuditRecord on the site's audit topic, and the region keeps what
// it receives. An entry the wire would refuse (a detail too long, say) is
// enqueued as it is and logged, for the region to quarantine.
//
// # Concurrency
//
// A Store is safe for concurrent use. Writes go through one connection,
// one transaction at a time (BEGIN IMMEDIATE), which also serialises the
// sequence counter and the audit chain; reads use a small pool of
// read-only connections and never wait for writes.
package store
