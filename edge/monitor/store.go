package monitor

import (
	"context"

	"github.com/dozor-edge/dozor/edge/store"
)

// Store is what the monitor reads and writes; *store.Store has it. Reads
// of biometric data (Crop, Photo) take the account as actor and audit it.
type Store interface {
	User(ctx context.Context, name string) (store.User, error)
	Users(ctx context.Context) ([]store.User, error)
	PutUser(ctx context.Context, actor string, u store.User) error
	DeleteUser(ctx context.Context, actor, name string) error

	Cameras(ctx context.Context) ([]store.Camera, error)
	SetCameraRegion(ctx context.Context, actor, cameraID string, pts []store.Point) error
	Zones(ctx context.Context) ([]store.Zone, error)
	PutZone(ctx context.Context, actor string, z store.Zone) error
	Rules(ctx context.Context) ([]store.Rule, error)
	PutRule(ctx context.Context, actor string, r store.Rule) error
	DeleteRule(ctx context.Context, actor, id string) error

	Persons(ctx context.Context) ([]store.Person, error)
	Person(ctx context.Context, id string) (store.Person, error)
	PutPerson(ctx context.Context, actor string, p store.Person) error
	RemovePerson(ctx context.Context, actor, id string) (store.Removed, error)
	Photos(ctx context.Context, personID string) ([]store.PhotoInfo, error)
	Photo(ctx context.Context, actor, id string) ([]byte, error)
	TemplateInfos(ctx context.Context, personID string) ([]store.TemplateInfo, error)
	Permits(ctx context.Context, personID string) ([]store.Permit, error)
	AddPermit(ctx context.Context, actor string, p store.Permit) (int64, error)
	RemovePermit(ctx context.Context, actor string, id int64) error
	KeepAparts(ctx context.Context) ([]store.KeepApart, error)
	PutKeepApart(ctx context.Context, actor string, k store.KeepApart) error
	RemoveKeepApart(ctx context.Context, actor, a, b string) error

	Sighting(ctx context.Context, id string) (store.Sighting, error)
	Sightings(ctx context.Context, q store.SightingQuery) ([]store.Sighting, string, error)
	Crop(ctx context.Context, actor, sightingID string) ([]byte, error)
	Alert(ctx context.Context, id string) (store.Alert, error)
	Alerts(ctx context.Context, q store.AlertQuery) ([]store.Alert, error)
	AcknowledgeAlert(ctx context.Context, actor, id string) (store.Alert, error)

	Audit(ctx context.Context, actor, action, object, detail string) error
	QueryAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, error)
	VerifyAudit(ctx context.Context) (store.AuditHead, error)
}

var _ Store = (*store.Store)(nil)
