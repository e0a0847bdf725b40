package store

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/dozor-edge/dozor/sync/wire"
)

// Message is one decoded site->region message.
type Message struct {
	Topic wire.Topic
	// Seq is the site's outbox sequence number; 0 for site and camera
	// statuses, which do not pass through the outbox.
	Seq uint64
	// Payload is the decoded payload: wire.Sighting, wire.Alert,
	// wire.AlertDecision, wire.AuditRecord, wire.GalleryAck,
	// wire.GalleryEnrolment,
	// wire.SiteStatus or wire.CameraStatus.
	Payload wire.Payload
	// Raw is the payload as received; it is kept when the message is
	// quarantined.
	Raw      []byte
	Received time.Time
}

// Outcome is what Ingest did with a message.
type Outcome int

const (
	// Stored: the message changed the store (a new event, or a status
	// newer than the one held).
	Stored Outcome = iota + 1
	// Duplicate: the (site, seq) was already received, or a status is not
	// newer than the one held; nothing changed.
	Duplicate
	// Quarantined: the message was kept in the quarantine with its reason
	// (a broken audit chain); its (site, seq) counts as received.
	Quarantined
)

func (o Outcome) String() string {
	switch o {
	case Stored:
		return "stored"
	case Duplicate:
		return "duplicate"
	case Quarantined:
		return "quarantined"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// QuarantineEntry is a message the region could not store as it came.
type QuarantineEntry struct {
	// Topic is the topic as received, which may not parse.
	Topic string
	// Site and Seq are filled when known ("" and 0 otherwise).
	Site     string
	Seq      uint64
	Raw      []byte
	Reason   string
	Received time.Time
}

// Site is what the region knows of one site.
type Site struct {
	ID string
	// The newest site status (zero StatusAt when none came yet).
	State        string
	Version      string
	StatusAt     time.Time
	CamerasUp    int
	CamerasTotal int
	OutboxDepth  int
	Reason       string
	// LastSeen is when the newest message of the site was received.
	LastSeen time.Time
	// HighestSeq is the highest seq received; ContiguousSeq the highest
	// seq up to which every seq was received (stored or quarantined).
	HighestSeq    uint64
	ContiguousSeq uint64
	// OpenGaps counts the ranges missing between them, Missing the seqs.
	OpenGaps int
	Missing  uint64
	// AuditHead is the highest audit_seq up to which the site's audit
	// chain is stored and verified from record 1.
	AuditHead uint64
	// GalleryRevision is the gallery revision in force at the site: the
	// InForce of its newest (highest seq) gallery ack (a failed apply
	// reports the previous revision still in force). 0 when the site
	// acknowledged none.
	GalleryRevision uint64
}

// Gap is a range of seqs missing from a site.
type Gap struct {
	From, To    uint64
	FirstSeen   time.Time // when the message that revealed it arrived
	Requested   int       // resend requests sent for it so far
	LastRequest time.Time // zero when never requested
}

// Camera is a camera's newest status.
type Camera struct {
	Site, Camera string
	State        string
	FPS          float64
	LastFrame    time.Time
	At           time.Time
	Reason       string
}

// Sighting is a stored sighting. Crop is the sha256 of its face crop in
// the crop store ("" when it had none).
type Sighting struct {
	ID                     wire.ID
	Seq                    uint64
	Site, Camera           string
	Track                  uint64
	Person                 string
	FirstSeen, LastSeen    time.Time
	BestAt                 time.Time
	Frames                 int
	Score, Margin, Quality float64
	Model                  string
	Crop                   string
	Received               time.Time
}

// SightingQuery selects sightings, newest BestAt first. Empty fields do
// not filter. Person across every site is a person's timeline.
type SightingQuery struct {
	Person, Site, Camera string
	// From (inclusive) and To (exclusive) bound BestAt when not zero.
	From, To time.Time
	// Limit is the page size: 0 means 100, at most 1000.
	Limit int
	// Cursor continues after the last page ("" for the first); Sightings
	// returns the next one, "" after the last page.
	Cursor string
}

// Alert is a stored alert with the decisions taken on it, first first.
// Crop is the sha256 of its evidence crop.
type Alert struct {
	ID            wire.ID
	Seq           uint64
	Site          string
	Rule, Kind    string
	Severity      string
	Sighting      wire.ID
	Person        string
	Others        []string
	Camera, Zone  string
	At            time.Time
	Score, Margin float64
	Frames        int
	Crop          string
	Received      time.Time
	Decisions     []Decision
	// Latency is how long the first decision took after the alert (its
	// At to the decision's At); 0 while undecided.
	Latency time.Duration
}

// Decision is a guard's decision on an alert.
type Decision struct {
	ID       wire.ID
	Seq      uint64
	Site     string
	Alert    wire.ID
	Decision string
	By       string
	At       time.Time
	Note     string
}

// AlertQuery selects alerts, newest At first. Empty fields do not filter.
type AlertQuery struct {
	Site, Person string
	From, To     time.Time // At in [From, To) when not zero
	// Undecided keeps only alerts without a decision.
	Undecided bool
	Limit     int // 0 means 100, at most 1000
}

// Count is what one site did in one time bucket.
type Count struct {
	Site                string
	Start               time.Time
	Sightings, Alerts   int
	Confirmed, Rejected int
}

// Store is the region's database. Implementations are safe for concurrent
// use, also by several processes on one database.
type Store interface {
	// Ingest stores a message in one transaction: its (site, seq) once;
	// its kind's row; the site's contiguous seq and gaps; its crop in the
	// crop store (before the commit); an audit record only when it links
	// to the site's stored chain (otherwise it is quarantined with the
	// reason); a status only when newer than the one held.
	Ingest(ctx context.Context, m Message) (Outcome, error)
	// Quarantine keeps a message that could not be decoded, with its
	// bytes; the same bytes on the same topic are kept once.
	Quarantine(ctx context.Context, q QuarantineEntry) error
	// QuarantinedMessages lists the quarantine, newest first; site ""
	// means every site. limit 0 means 100.
	QuarantinedMessages(ctx context.Context, site string, limit int) ([]QuarantineEntry, error)
	Sites(ctx context.Context) ([]Site, error)
	// Gaps lists a site's missing seq ranges, lowest first.
	Gaps(ctx context.Context, site string) ([]Gap, error)
	// NoteResendRequested records a resend request for the gaps
	// overlapping g.
	NoteResendRequested(ctx context.Context, site string, g Gap, at time.Time) error
	Cameras(ctx context.Context, site string) ([]Camera, error)
	Sightings(ctx context.Context, q SightingQuery) ([]Sighting, string, error)
	Alerts(ctx context.Context, q AlertQuery) ([]Alert, error)
	// AuditHead is the site's verified chain head: the audit_seq and hash
	// the site's next record must follow (0 and 64 zeros before any).
	AuditHead(ctx context.Context, site string) (seq uint64, hash string, err error)
	// Counts counts per site per bucket of [from, to): sightings by
	// BestAt, alerts by At, decisions by their At. Empty buckets are left
	// out.
	Counts(ctx context.Context, from, to time.Time, bucket time.Duration) ([]Count, error)
	// Crop returns a crop's JPEG bytes by its sha256 (ErrNotFound).
	Crop(ctx context.Context, sha256 string) ([]byte, error)
	// Users keeps the dashboard's accounts.
	Users
	// Gallery is the master gallery, its revisions, transfers and the
	// region's audit log.
	Gallery
	Close() error
}

// ErrNotFound is wrapped when a crop is not in the crop store.
var ErrNotFound = errors.New("not found")

// ZeroHash is the prev of a site's first audit record.
const ZeroHash = "0000000000000000000000000000000000000000000000000000000000000000"

// SQLite is the SQLite library, provided by the cgo package
// internal/sqlite (sqlite.Binding), so that this package builds without
// cgo.
type SQLite interface {
	// Driver returns a driver for go-sqlite3 DSNs that runs hook (when not
	// nil) on every new connection before it is used.
	Driver(hook func(exec func(query string) error, queryOne func(query string) (string, error)) error) driver.Driver
}

// Options configure OpenSQLite and OpenPostgres.
type Options struct {
	// SQLite is the SQLite binding; required by OpenSQLite.
	SQLite SQLite
	// CropDir is the crop store's directory. OpenSQLite defaults it to
	// "crops" beside the database file; OpenPostgres requires it.
	CropDir string
	// BusyTimeout is how long an SQLite statement waits for a lock held
	// by another process; zero means 5 seconds.
	BusyTimeout time.Duration
	// MaxConns bounds the read connections (SQLite; it always writes
	// through one) or all connections (PostgreSQL); zero means 4 and 8.
	MaxConns int
	// Now is the clock for quarantined messages without a receive time;
	// nil means time.Now.
	Now func() time.Time
	// Logger receives migrations applied and the making of a key; nil
	// discards.
	Logger *slog.Logger
	// KeyFile is the store key that seals gallery photos and templates
	// (storekey: 32 random bytes, mode 0600). When the file is absent and
	// the database holds nothing sealed yet (first start), a new key is
	// generated there. Empty: the store opens without a key and the
	// gallery's biometric data is unavailable (ErrNoKey).
	KeyFile string
}

func (o Options) withDefaults(maxConns int) Options {
	if o.BusyTimeout <= 0 {
		o.BusyTimeout = 5 * time.Second
	}
	if o.MaxConns <= 0 {
		o.MaxConns = maxConns
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	return o
}
