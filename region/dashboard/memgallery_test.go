package dashboard

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/wire"
)

// memGallery is an in-memory master gallery for the handler tests: just
// enough of the store's rules for the API's answers; the browser test
// runs against the real store.
type memGallery struct {
	gmu       sync.Mutex
	people    map[string]store.Person
	photos    map[string][]byte // person/sha -> JPEG
	transfers []store.Transfer
	audits    []store.AuditEntry
}

func (m *memGallery) init() {
	if m.people == nil {
		m.people, m.photos = map[string]store.Person{}, map[string][]byte{}
	}
}

func (m *memGallery) audit(actor, action, object string) {
	m.audits = append(m.audits, store.AuditEntry{Seq: uint64(len(m.audits) + 1), At: time.Now(), Actor: actor, Action: action, Object: object})
}

func (m *memGallery) Persons(_ context.Context, q store.PersonQuery) ([]store.Person, string, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	var out []store.Person
	for _, p := range m.people {
		if strings.Contains(strings.ToLower(p.ID+" "+p.DisplayName), strings.ToLower(q.Search)) &&
			(q.Facility == "" || q.Facility == p.Facility) && (q.Status == "" || q.Status == p.Status) {
			out = append(out, p)
		}
	}
	slices.SortFunc(out, func(a, b store.Person) int { return strings.Compare(a.ID, b.ID) })
	return out, "", nil
}

func (m *memGallery) Person(_ context.Context, id string) (store.Person, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	p, ok := m.people[id]
	if !ok {
		return p, fmt.Errorf("person %s: %w", id, store.ErrNotFound)
	}
	return p, nil
}

func (m *memGallery) PutPerson(_ context.Context, actor string, p store.Person) error {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	if p.DisplayName == "" {
		return fmt.Errorf("region store: %w: person.display_name: missing", store.ErrInvalid)
	}
	m.people[p.ID] = p
	m.audit(actor, "person.put", p.ID)
	return nil
}

func (m *memGallery) RemovePerson(_ context.Context, actor, id string) error {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	if _, ok := m.people[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.people, id)
	m.audit(actor, "person.remove", id)
	return nil
}

// addPhoto gives a person a photo and a template.
func (m *memGallery) addPhoto(person string, jpeg []byte) string {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	sum := sha256.Sum256(jpeg)
	sha := hex.EncodeToString(sum[:])
	m.photos[person+"/"+sha] = jpeg
	p := m.people[person]
	p.Photos++
	p.Templates++
	m.people[person] = p
	return sha
}

func (m *memGallery) Photo(_ context.Context, actor, person, sha string) ([]byte, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	b, ok := m.photos[person+"/"+sha]
	if !ok {
		return nil, store.ErrNotFound
	}
	m.audit(actor, "photo.read", person)
	return b, nil
}

func (m *memGallery) PersonBiometrics(_ context.Context, actor, person string) ([]store.Photo, []store.Template, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	var photos []store.Photo
	var templates []store.Template
	for k, b := range m.photos {
		if p, sha, _ := strings.Cut(k, "/"); p == person {
			photos = append(photos, store.Photo{Person: p, SHA256: sha, JPEG: b, Source: "test", AddedBy: "sam"})
			templates = append(templates, store.Template{Person: p, PhotoSHA256: sha, Model: "m-1", Vec: make([]float32, 512), Quality: 0.8})
		}
	}
	m.audit(actor, "biometrics.read", person)
	return photos, templates, nil
}

func (m *memGallery) GallerySites(context.Context) ([]store.GallerySite, error) {
	return []store.GallerySite{{Site: "ik5", Issued: 4, InForce: 3, LastAckStatus: "applied", Members: 2},
		{Site: "ik6", Issued: 2, InForce: 2, LastAckStatus: "applied", Members: 1}}, nil
}

func (m *memGallery) StartTransfer(_ context.Context, actor, person, to, reason string) (store.Transfer, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	m.init()
	p, ok := m.people[person]
	if !ok {
		return store.Transfer{}, store.ErrNotFound
	}
	for _, t := range m.transfers {
		if t.Person == person && t.Open() {
			return store.Transfer{}, fmt.Errorf("%w: transfer %s of this person is open", store.ErrConflict, t.ID)
		}
	}
	t := store.Transfer{ID: wire.MustNewID().String(), Person: person, From: p.Facility, To: to, State: store.TransferRequested,
		Reason: reason, RequestedBy: actor, RequestedAt: time.Now()}
	p.Facility, p.Status = to, store.PersonInTransit
	m.people[person] = p
	m.transfers = append(m.transfers, t)
	m.audit(actor, "transfer.start", t.ID)
	return t, nil
}

func (m *memGallery) CancelTransfer(_ context.Context, actor, id, reason string) (store.Transfer, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	for i, t := range m.transfers {
		if t.ID != id {
			continue
		}
		if !t.Open() {
			return t, fmt.Errorf("%w: already %s", store.ErrConflict, t.State)
		}
		t.State, t.CancelledBy, t.CancelledAt, t.CancelReason = store.TransferCancelled, actor, time.Now(), reason
		m.transfers[i] = t
		return t, nil
	}
	return store.Transfer{}, store.ErrNotFound
}

func (m *memGallery) Transfers(_ context.Context, q store.TransferQuery) ([]store.Transfer, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	var out []store.Transfer
	for _, t := range slices.Backward(m.transfers) {
		if (q.Person == "" || q.Person == t.Person) && (!q.Open || t.Open()) {
			out = append(out, t)
		}
	}
	return out, nil
}

func (m *memGallery) Transfer(_ context.Context, id string) (store.Transfer, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	for _, t := range m.transfers {
		if t.ID == id {
			return t, nil
		}
	}
	return store.Transfer{}, store.ErrNotFound
}

func (m *memGallery) AuditLog(_ context.Context, q store.AuditQuery) ([]store.AuditEntry, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	out := slices.Clone(m.audits)
	slices.Reverse(out)
	return out, nil
}

func (m *memGallery) VerifyAudit(context.Context) (uint64, error) {
	m.gmu.Lock()
	defer m.gmu.Unlock()
	return uint64(len(m.audits)), nil
}

// fakeEnroller accepts every photo of the call and creates the person in
// the gallery, as the real one does with photos of one face.
type fakeEnroller struct{ g *memGallery }

func (f fakeEnroller) Enrol(ctx context.Context, actor string, p enrol.Profile, photos []enrol.Photo) ([]enrol.Result, error) {
	if _, err := f.g.Person(ctx, p.ID); err != nil {
		if p.Facility == "" {
			return nil, fmt.Errorf("enrol: facility: required for a new person: %w", store.ErrInvalid)
		}
		f.g.PutPerson(ctx, actor, store.Person{ID: p.ID, DisplayName: p.DisplayName, Facility: p.Facility, Status: store.PersonActive})
	}
	out := make([]enrol.Result, len(photos))
	for i, ph := range photos {
		out[i] = enrol.Result{Image: ph.Name, Status: "enrolled", Faces: 1, Quality: 0.9, SHA256: f.g.addPhoto(p.ID, ph.Data)}
	}
	return out, nil
}
