package edge

import (
	"context"

	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/monitor"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/recognizer"
)

// Store is what the daemon needs of the facility store. *store.Store,
// opened by the caller over internal/sqlite, is the one in production;
// the daemon itself never links SQLite.
type Store interface {
	eventStore
	outboxStore
	// What the guard-post monitor reads and writes, and enrolment from it.
	monitor.Store
	enroll.Store
	// The region's gallery at the site.
	galleryStore
	DecideAlert(ctx context.Context, d store.AlertDecision, compose store.Compose) (uint64, error)

	// AuditEntries reads the audit log, which tells the daemon when the
	// gallery or the rules changed.
	AuditEntries(ctx context.Context, afterSeq uint64, limit int) ([]store.AuditEntry, error)

	// Path is the database file, shown on /healthz.
	Path() string
	// Close closes the database; Run calls it when it stops.
	Close() error

	// The site: cameras and zones registered from the configuration, and
	// what the rules and the gallery are built from.
	Cameras(ctx context.Context) ([]store.Camera, error)
	PutCamera(ctx context.Context, actor string, c store.Camera) error
	Zones(ctx context.Context) ([]store.Zone, error)
	PutZone(ctx context.Context, actor string, z store.Zone) error
	Persons(ctx context.Context) ([]store.Person, error)
	Permits(ctx context.Context, personID string) ([]store.Permit, error)
	KeepAparts(ctx context.Context) ([]store.KeepApart, error)
	Rules(ctx context.Context) ([]store.Rule, error)
	Templates(ctx context.Context, model recognizer.ModelID, actor string) ([]store.Template, error)
}

var _ Store = (*store.Store)(nil)
