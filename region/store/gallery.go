package store

import (
	"context"
	"errors"
	"time"

	"github.com/dozor-edge/dozor/internal/storekey"
)

// Person statuses in the master gallery.
const (
	// PersonActive: held at Facility; the facility's gallery has them.
	PersonActive = "active"
	// PersonInTransit: a transfer is open; Facility is its destination.
	// The source's gallery no longer has them; the destination's has
	// them once the transfer is in transit.
	PersonInTransit = "in_transit"
	// PersonReleased: kept in the region with their history; no
	// facility's gallery has them.
	PersonReleased = "released"
)

// Transfer states, in the order a transfer goes through them.
const (
	// TransferRequested: the source's removal revision is issued.
	TransferRequested = "requested"
	// TransferRemovedAtSource: the source runs its removal revision. A
	// transfer passes through this state at once to TransferInTransit.
	TransferRemovedAtSource = "removed_at_source"
	// TransferInTransit: the destination's upsert revision is issued
	// (after the source confirmed, or after the source wait ran out).
	TransferInTransit = "in_transit"
	// TransferActive: the destination runs its upsert revision. Final.
	TransferActive = "active_at_destination"
	// TransferCancelled: cancelled before TransferActive; the person is
	// back at the source. Final.
	TransferCancelled = "cancelled"
)

// Gallery errors, wrapped with context that names the row or field.
var (
	// ErrInvalid: an input failed validation; nothing was written.
	ErrInvalid = errors.New("invalid input")
	// ErrConflict: the change is not allowed in the current state (a
	// second open transfer, a cancel after the destination confirmed,
	// a facility change outside a transfer); nothing was written.
	ErrConflict = errors.New("conflict")
	// ErrNoKey: the store was opened without a key file (Options.KeyFile)
	// and cannot read or write biometric data.
	ErrNoKey = errors.New("region store opened without its key: biometric data is unavailable")
	// ErrKeyFile: the key file is unusable, or missing while the
	// database holds data sealed under a key.
	ErrKeyFile = storekey.ErrKeyFile
	// ErrWrongKey: the key file does not match the database's key check.
	ErrWrongKey = errors.New("key does not match this database")
	// ErrDecrypt: a sealed value failed authentication: altered, moved
	// to another row, or sealed under another key.
	ErrDecrypt = storekey.ErrDecrypt
)

// Person is a person of the master gallery: the profile and where they
// are held. Photos and Templates count their biometrics (read-only).
type Person struct {
	ID          string
	DisplayName string
	Categories  []string
	WatchLists  []string
	// Facility is the site that holds them ("" for none).
	Facility string
	// Status is PersonActive, PersonInTransit or PersonReleased.
	Status string
	// Set by the store.
	Created, Updated  time.Time
	Photos, Templates int
}

// PersonQuery selects persons, by id. Empty fields do not filter.
type PersonQuery struct {
	// Search matches a substring of the id or the display name, ignoring
	// letter case.
	Search   string
	Facility string
	Status   string
	// Limit is the page size: 0 means 100, at most 1000.
	Limit int
	// Cursor continues after the last page ("" for the first); Persons
	// returns the next one, "" after the last page.
	Cursor string
}

// Photo is an enrolment photo of a person. JPEG is nil in listings
// (PersonBiometrics fills it).
type Photo struct {
	Person  string
	SHA256  string // hex of the JPEG bytes
	JPEG    []byte
	Source  string
	AddedBy string
	AddedAt time.Time
}

// Template is a face template (embedding) computed from one of the
// person's photos by one model.
type Template struct {
	Person      string
	PhotoSHA256 string
	Model       string
	Vec         []float32
	Quality     float32
	Source      string
	AddedAt     time.Time // set by the store
}

// Enrolment is a person with photos and templates, written in one
// transaction by Enrol. Templates name their photo by sha256; the photo
// must be among Photos or already stored for the person.
type Enrolment struct {
	Person    Person
	Photos    []NewPhoto
	Templates []Template
}

// NewPhoto is a photo to add.
type NewPhoto struct {
	JPEG   []byte
	Source string
}

// EnrolResult says what Enrol added. Photos lists the sha256 of every
// photo of the enrolment in order; Created* count the rows that were new.
type EnrolResult struct {
	Photos           []string
	CreatedPerson    bool
	CreatedPhotos    int
	CreatedTemplates int
	// Revision is the revision issued to the person's facility (0 when
	// nothing a site holds changed).
	Revision uint64
}

// GallerySite is the gallery state of one site.
type GallerySite struct {
	Site string
	// Issued is the newest revision issued to the site; InForce the one
	// it reported running in its newest acknowledgement (0: none).
	Issued, InForce uint64
	// The newest acknowledgement: status (applied, failed, resync),
	// reason (for failed), when it was received ("" and zero: none).
	LastAckStatus string
	LastAckReason string
	LastAckAt     time.Time
	// LastSent is the highest revision sent, when, and how many sends
	// were noted in all (NoteRevisionSent).
	LastSent   uint64
	LastSentAt time.Time
	Sends      int
	// Members counts the persons the site should hold; Pending the open
	// transfers from or to it.
	Members int
	Pending int
}

// RevisionOps is what one issued revision changes at its site.
type RevisionOps struct {
	Site     string
	Revision uint64
	Full     bool
	Issued   time.Time
	// Upserts are person ids the site must hold as they are now;
	// Removals person ids it must drop.
	Upserts  []string
	Removals []string
}

// Transfer moves a person from one facility to another.
type Transfer struct {
	ID          string // UUID
	Person      string
	From, To    string
	State       string
	Reason      string
	RequestedBy string
	RequestedAt time.Time
	// The time each state was reached (zero until then). RemovedAt may be
	// set after TransitAt when the source confirmed late.
	RemovedAt, TransitAt, ActiveAt time.Time
	CancelledBy                    string
	CancelledAt                    time.Time
	CancelReason                   string
	// FromRevision is the source's removal revision; ToRevision the
	// destination's upsert revision (0 until issued).
	FromRevision, ToRevision uint64
}

// Open reports whether the transfer is not yet final.
func (t Transfer) Open() bool { return t.State != TransferActive && t.State != TransferCancelled }

// TransferQuery selects transfers, newest request first. Empty fields do
// not filter.
type TransferQuery struct {
	Person string
	// Site matches the source or the destination.
	Site  string
	State string
	// Open keeps transfers not yet final.
	Open bool
	// Limit: 0 means 100, at most 1000.
	Limit int
}

// AuditEntry is one record of the region's audit log. Records are chained:
// Hash is the sha256 of Prev and the record's fields, Prev the Hash of the
// record before (ZeroHash for the first).
type AuditEntry struct {
	Seq    uint64
	At     time.Time
	Actor  string
	Action string
	Object string
	Detail string
	Prev   string
	Hash   string
}

// AuditQuery selects audit records, newest first. Empty fields do not
// filter.
type AuditQuery struct {
	Actor, Action, Object string
	// Before keeps records with Seq below it (0: no bound); pass the last
	// Seq of a page to get the next.
	Before uint64
	// Limit: 0 means 100, at most 1000.
	Limit int
}

// Gallery is the master gallery: persons, their photos and templates
// (sealed at rest with the store key), which facility holds them, the
// numbered revisions issued to each site, transfers and the region's
// audit log.
//
// Every change that alters what a site should hold issues a revision row
// for that site in the same transaction. Every read and write of
// biometric data writes an audit record naming the actor, in the same
// transaction as a write.
type Gallery interface {
	// PutPerson creates a person or replaces their profile (display
	// name, categories, watch lists, status active or released). The
	// facility may be set when the person has none, or changed when it
	// is the same; moving a held person needs StartTransfer or
	// ReassignPerson (ErrConflict otherwise), and status in_transit is
	// the transfers' own. A revision is issued to the site(s) whose
	// gallery the change alters.
	PutPerson(ctx context.Context, actor string, p Person) error
	// Person returns one person (ErrNotFound).
	Person(ctx context.Context, id string) (Person, error)
	// Persons lists persons by id, a page at a time.
	Persons(ctx context.Context, q PersonQuery) ([]Person, string, error)
	// RemovePerson deletes a person with their photos and templates
	// (their transfers stay, as history); the site holding them gets a
	// removal revision. Refused (ErrConflict) during an open transfer.
	RemovePerson(ctx context.Context, actor, id string) error
	// ReassignPerson sets the facility of a person without the transfer
	// states (a correction): the old facility gets a removal revision,
	// the new one an upsert. Refused during an open transfer.
	ReassignPerson(ctx context.Context, actor, id, facility, reason string) error

	// Enrol writes a person (created, or the profile replaced as
	// PutPerson does), photos and templates in one transaction with one
	// revision for the person's facility.
	Enrol(ctx context.Context, actor string, e Enrolment) (EnrolResult, error)
	// AddPhoto adds a JPEG to a person; a photo with the same sha256 is
	// kept once (created false).
	AddPhoto(ctx context.Context, actor, person string, jpeg []byte, source string) (sha string, created bool, err error)
	// AddTemplate adds a template of one of the person's photos; one
	// template per (person, photo, model) is kept (created false).
	AddTemplate(ctx context.Context, actor string, t Template) (created bool, err error)
	// Photo returns a photo's JPEG bytes (audited read).
	Photo(ctx context.Context, actor, person, sha string) ([]byte, error)
	// PersonBiometrics returns a person's photos (with their bytes) and
	// templates (audited read).
	PersonBiometrics(ctx context.Context, actor, person string) ([]Photo, []Template, error)
	// SiteBiometrics returns the persons (profile, photos with their
	// bytes, templates) by id, read in one read-only transaction; ids
	// the store does not hold are absent from the map. It is the bulk
	// read of the publisher: one audit record, with site as its object,
	// names the purpose (such as "revision 12 (full)") and the counts.
	SiteBiometrics(ctx context.Context, actor, site, purpose string, persons []string) (map[string]PersonBio, error)
	// Templates returns every template of a model, of every person
	// (audited read).
	Templates(ctx context.Context, actor, model string) ([]Template, error)

	// GallerySites lists every site that was issued a revision or
	// acknowledged one, by site id.
	GallerySites(ctx context.Context) ([]GallerySite, error)
	// RevisionOps returns one issued revision (ErrNotFound).
	RevisionOps(ctx context.Context, site string, rev uint64) (RevisionOps, error)
	// SiteMembers lists the ids of the persons the site should hold now,
	// sorted: those it holds active and those in transit to it whose
	// upsert revision was issued.
	SiteMembers(ctx context.Context, site string) ([]string, error)
	// NoteRevisionSent records that revisions up to rev were sent to the
	// site at at.
	NoteRevisionSent(ctx context.Context, site string, rev uint64, at time.Time) error

	// StartTransfer moves a person held active at a facility to another
	// site: the person's facility becomes to, their status in_transit,
	// the source gets a removal revision; the transfer is requested.
	// One open transfer per person (ErrConflict).
	StartTransfer(ctx context.Context, actor, person, to, reason string) (Transfer, error)
	// CancelTransfer cancels an open transfer before the destination
	// confirmed (ErrConflict after): the person is back at the source
	// (an upsert revision), and the destination gets a removal revision
	// when its upsert was issued.
	CancelTransfer(ctx context.Context, actor, id, reason string) (Transfer, error)
	Transfers(ctx context.Context, q TransferQuery) ([]Transfer, error)
	// Transfer returns one transfer (ErrNotFound).
	Transfer(ctx context.Context, id string) (Transfer, error)
	// AdvanceTransfers puts in transit the requested transfers whose
	// source has not confirmed within sourceWait of the request (the
	// destination's upsert revision is issued) and returns them.
	AdvanceTransfers(ctx context.Context, now time.Time, sourceWait time.Duration) ([]Transfer, error)

	// Audit appends a record to the region's audit log.
	Audit(ctx context.Context, actor, action, object, detail string) error
	// AuditLog lists audit records, newest first.
	AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error)
	// VerifyAudit checks the whole chain and returns the newest seq;
	// a broken chain is an error naming the first bad record.
	VerifyAudit(ctx context.Context) (uint64, error)

	// KeyFingerprint identifies the store key ("none" without one).
	KeyFingerprint() string
}
