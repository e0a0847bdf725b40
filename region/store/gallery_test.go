package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/pgtest"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/storekey"
	"github.com/dozor-edge/dozor/sync/wire"
)

// galleryEnv opens one database (SQLite file or PostgreSQL database) as
// often as a test needs, with the key file it names.
type galleryEnv struct {
	t     *testing.T
	clock *clock
	open  func(keyFile string) (Store, error)
	key   string // the default key file
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

func newSQLiteEnv(t *testing.T) *galleryEnv {
	dir := t.TempDir()
	c := &clock{now: t0}
	return &galleryEnv{t: t, clock: c, key: filepath.Join(t.TempDir(), "store.key"), open: func(key string) (Store, error) {
		return OpenSQLite(filepath.Join(dir, "region.db"), Options{SQLite: sqlite.Binding{}, KeyFile: key, Now: c.Now})
	}}
}

func newPostgresEnv(t *testing.T) *galleryEnv {
	dsn, crops := pgtest.Start(t), t.TempDir()
	c := &clock{now: t0}
	return &galleryEnv{t: t, clock: c, key: filepath.Join(t.TempDir(), "store.key"), open: func(key string) (Store, error) {
		return OpenPostgres(dsn, Options{CropDir: crops, KeyFile: key, Now: c.Now})
	}}
}

// store opens the database with the default key (made on first use).
func (e *galleryEnv) store() Store {
	e.t.Helper()
	s, err := e.open(e.key)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { s.Close() })
	return s
}

func TestGallerySQLite(t *testing.T)   { runGallerySuite(t, newSQLiteEnv) }
func TestGalleryPostgres(t *testing.T) { runGallerySuite(t, newPostgresEnv) }

const (
	siteA = "ik-a"
	siteB = "ik-b"
	siteC = "ik-c"
	boss  = "supervisor1"
)

func vec(seed float32, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = seed + float32(i)/1000
	}
	return v
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t testing.TB, err, target error, words ...string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error %v, want %v", err, target)
	}
	for _, w := range words {
		if !strings.Contains(err.Error(), w) {
			t.Fatalf("error %q does not say %q", err, w)
		}
	}
}

// enrolPerson puts a person at a facility with one photo and a template.
func enrolPerson(t testing.TB, s Store, id, facility string) EnrolResult {
	t.Helper()
	photo := jpeg("photo of " + id)
	res, err := s.Enrol(context.Background(), boss, Enrolment{
		Person:    Person{ID: id, DisplayName: "Name " + id, Categories: []string{"inmate"}, Facility: facility},
		Photos:    []NewPhoto{{JPEG: photo, Source: "booking"}},
		Templates: []Template{{PhotoSHA256: shaHex(photo), Model: "arcface", Vec: vec(1, 8), Quality: 0.9, Source: "region"}},
	})
	must(t, err)
	return res
}

func ackMsg(site string, seq, rev, inForce uint64, status string, at time.Time) Message {
	p := wire.GalleryAck{Seq: seq, Site: site, Revision: rev, InForce: inForce, Status: status, At: at}
	if status == wire.GalleryFailed {
		p.Reason = "bad signature"
	}
	return Message{Topic: wire.Topic{Kind: wire.KindGalleryAck, Region: region, Site: site}, Seq: seq, Payload: p, Received: at}
}

// applied ingests an applied ack of rev from site.
func applied(t testing.TB, s Store, site string, seq, rev uint64, at time.Time) {
	t.Helper()
	ingest(t, s, ackMsg(site, seq, rev, rev, wire.GalleryApplied, at), Stored)
}

func gallerySite(t testing.TB, s Store, id string) GallerySite {
	t.Helper()
	all, err := s.GallerySites(context.Background())
	must(t, err)
	for _, g := range all {
		if g.Site == id {
			return g
		}
	}
	return GallerySite{Site: id}
}

func ops(t testing.TB, s Store, site string, rev uint64) RevisionOps {
	t.Helper()
	o, err := s.RevisionOps(context.Background(), site, rev)
	must(t, err)
	return o
}

func members(t testing.TB, s Store, site string) []string {
	t.Helper()
	m, err := s.SiteMembers(context.Background(), site)
	must(t, err)
	return m
}

func getTransfer(t testing.TB, s Store, id string) Transfer {
	t.Helper()
	tr, err := s.Transfer(context.Background(), id)
	must(t, err)
	return tr
}

func getPerson(t testing.TB, s Store, id string) Person {
	t.Helper()
	p, err := s.Person(context.Background(), id)
	must(t, err)
	return p
}

func runGallerySuite(t *testing.T, newEnv func(*testing.T) *galleryEnv) {
	ctx := context.Background()

	t.Run("enrol issues a revision for the facility", func(t *testing.T) {
		s := newEnv(t).store()
		p1, p2 := jpeg("front"), jpeg("profile")
		res, err := s.Enrol(ctx, boss, Enrolment{
			Person: Person{ID: "P-1", DisplayName: "Ivan Petrov", Categories: []string{"inmate"}, WatchLists: []string{"escape"},
				Facility: siteA},
			Photos: []NewPhoto{{JPEG: p1, Source: "booking"}, {JPEG: p2, Source: "booking"}},
			Templates: []Template{
				{PhotoSHA256: shaHex(p1), Model: "arcface", Vec: vec(1, 512), Quality: 0.9},
				{PhotoSHA256: shaHex(p2), Model: "arcface", Vec: vec(2, 512), Quality: 0.7},
			},
		})
		must(t, err)
		if !res.CreatedPerson || res.CreatedPhotos != 2 || res.CreatedTemplates != 2 || res.Revision != 1 ||
			!slices.Equal(res.Photos, []string{shaHex(p1), shaHex(p2)}) {
			t.Fatalf("enrol result %+v", res)
		}
		if o := ops(t, s, siteA, 1); !slices.Equal(o.Upserts, []string{"P-1"}) || len(o.Removals) != 0 || o.Full || !o.Issued.Equal(t0) {
			t.Fatalf("revision 1 of %s: %+v", siteA, o)
		}
		if g := gallerySite(t, s, siteA); g.Issued != 1 || g.InForce != 0 || g.Members != 1 {
			t.Fatalf("site %+v", g)
		}
		if m := members(t, s, siteA); !slices.Equal(m, []string{"P-1"}) {
			t.Fatalf("members %v", m)
		}
		p := getPerson(t, s, "P-1")
		if p.DisplayName != "Ivan Petrov" || p.Facility != siteA || p.Status != PersonActive || p.Photos != 2 || p.Templates != 2 ||
			!slices.Equal(p.WatchLists, []string{"escape"}) || !p.Created.Equal(t0) {
			t.Fatalf("person %+v", p)
		}
		photos, templates, err := s.PersonBiometrics(ctx, "gallery-sync", "P-1")
		must(t, err)
		if len(photos) != 2 || !bytes.Equal(photos[0].JPEG, p1) && !bytes.Equal(photos[1].JPEG, p1) || len(templates) != 2 ||
			!slices.Equal(templates[0].Vec, vec(1, 512)) && !slices.Equal(templates[1].Vec, vec(1, 512)) {
			t.Fatalf("biometrics %d photos, %d templates", len(photos), len(templates))
		}
		// A person without a facility is held by no site: no revision.
		res, err = s.Enrol(ctx, boss, Enrolment{Person: Person{ID: "P-2", DisplayName: "Nobody Yet"}, Photos: []NewPhoto{{JPEG: jpeg("x")}}})
		must(t, err)
		if res.Revision != 0 {
			t.Fatalf("revision %d for a person of no facility", res.Revision)
		}
		// Assigning the facility later sends them there.
		must(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Nobody Yet", Facility: siteA}))
		if o := ops(t, s, siteA, 2); !slices.Equal(o.Upserts, []string{"P-2"}) {
			t.Fatalf("revision 2: %+v", o)
		}
		// Moving a held person is a transfer, not an edit.
		wantErr(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Nobody Yet", Facility: siteB}), ErrConflict, "transfer")
		// A profile change goes to the facility; an unchanged one issues nothing.
		must(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Somebody", Facility: siteA}))
		must(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Somebody", Facility: siteA}))
		if g := gallerySite(t, s, siteA); g.Issued != 3 {
			t.Fatalf("issued %d, want 3", g.Issued)
		}
		// Release takes them off the facility's gallery.
		must(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Somebody", Facility: siteA, Status: PersonReleased}))
		if o := ops(t, s, siteA, 4); !slices.Equal(o.Removals, []string{"P-2"}) {
			t.Fatalf("release revision: %+v", o)
		}
		// A reassignment moves them outside the transfer states.
		must(t, s.ReassignPerson(ctx, boss, "P-1", siteC, "booked at the wrong facility"))
		if o := ops(t, s, siteA, 5); !slices.Equal(o.Removals, []string{"P-1"}) {
			t.Fatalf("reassign removal: %+v", o)
		}
		if o := ops(t, s, siteC, 1); !slices.Equal(o.Upserts, []string{"P-1"}) {
			t.Fatalf("reassign upsert: %+v", o)
		}
		// Removal of the person with their biometrics.
		must(t, s.RemovePerson(ctx, boss, "P-1"))
		if o := ops(t, s, siteC, 2); !slices.Equal(o.Removals, []string{"P-1"}) {
			t.Fatalf("remove revision: %+v", o)
		}
		if _, err := s.Person(ctx, "P-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("removed person: %v", err)
		}
		if _, _, err := s.PersonBiometrics(ctx, boss, "P-1"); !errors.Is(err, ErrNotFound) {
			t.Fatalf("removed person's biometrics: %v", err)
		}
		if _, err := s.RevisionOps(ctx, siteA, 99); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revision never issued: %v", err)
		}
	})

	t.Run("persons search and pages", func(t *testing.T) {
		s := newEnv(t).store()
		for _, p := range []Person{{ID: "A-1", DisplayName: "Иван Петров", Facility: siteA}, {ID: "A-2", DisplayName: "Pavel Ivanov", Facility: siteB},
			{ID: "A-3", DisplayName: "Oleg 100%", Facility: siteA}} {
			must(t, s.PutPerson(ctx, boss, p))
		}
		ids := func(q PersonQuery) ([]string, string) {
			ps, next, err := s.Persons(ctx, q)
			must(t, err)
			var out []string
			for _, p := range ps {
				out = append(out, p.ID)
			}
			return out, next
		}
		for _, c := range []struct {
			q    PersonQuery
			want []string
		}{
			{PersonQuery{}, []string{"A-1", "A-2", "A-3"}},
			{PersonQuery{Search: "ИВАН"}, []string{"A-1"}},
			{PersonQuery{Search: "ivan"}, []string{"A-2"}},
			{PersonQuery{Search: "%"}, []string{"A-3"}},
			{PersonQuery{Facility: siteA}, []string{"A-1", "A-3"}},
		} {
			if got, _ := ids(c.q); !slices.Equal(got, c.want) {
				t.Errorf("%+v: %v, want %v", c.q, got, c.want)
			}
		}
		page, next := ids(PersonQuery{Limit: 2})
		rest, last := ids(PersonQuery{Limit: 2, Cursor: next})
		if !slices.Equal(page, []string{"A-1", "A-2"}) || !slices.Equal(rest, []string{"A-3"}) || last != "" {
			t.Fatalf("pages %v %q %v %q", page, next, rest, last)
		}
	})

	t.Run("sealed at rest under the store key", func(t *testing.T) {
		e := newEnv(t)
		s := e.store()
		fi, err := os.Stat(e.key)
		must(t, err)
		if fi.Mode().Perm() != 0o600 || s.KeyFingerprint() == "none" {
			t.Fatalf("generated key: mode %#o, fingerprint %q", fi.Mode().Perm(), s.KeyFingerprint())
		}
		photo := bytes.Repeat(jpeg("sealed"), 50)
		v := vec(3, 128)
		_, err = s.Enrol(ctx, boss, Enrolment{Person: Person{ID: "P-1", DisplayName: "X", Facility: siteA},
			Photos:    []NewPhoto{{JPEG: photo}},
			Templates: []Template{{PhotoSHA256: shaHex(photo), Model: "arcface", Vec: v, Quality: 1}}})
		must(t, err)
		d := s.(*db)
		var rawPhoto, rawVec []byte
		must(t, d.r.QueryRow(`SELECT jpeg FROM gallery_photos`).Scan(&rawPhoto))
		must(t, d.r.QueryRow(`SELECT vec FROM gallery_templates`).Scan(&rawVec))
		plainVec := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(plainVec[4*i:], math.Float32bits(x))
		}
		if bytes.Contains(rawPhoto, []byte("sealed")) || bytes.Contains(rawPhoto, photo[:4]) || len(rawPhoto) != len(photo)+29 {
			t.Fatalf("photo column holds the plaintext (%d bytes)", len(rawPhoto))
		}
		if bytes.Contains(rawVec, plainVec[:16]) || len(rawVec) != len(plainVec)+29 {
			t.Fatalf("template column holds the plaintext (%d bytes)", len(rawVec))
		}
		// A sealed value moved to another person's row does not open.
		must(t, s.PutPerson(ctx, boss, Person{ID: "P-2", DisplayName: "Y"}))
		if _, err := d.w.Exec(d.d.bind(`INSERT INTO gallery_photos (person, sha256, jpeg, source, added_by, added_ns) VALUES (?, ?, ?, '', 'x', 0)`),
			"P-2", shaHex(photo), rawPhoto); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Photo(ctx, boss, "P-2", shaHex(photo)); !errors.Is(err, ErrDecrypt) {
			t.Fatalf("moved photo: %v, want ErrDecrypt", err)
		}
		got, err := s.Photo(ctx, boss, "P-1", shaHex(photo))
		must(t, err)
		if !bytes.Equal(got, photo) {
			t.Fatal("photo does not round-trip")
		}
		must(t, s.Close())

		// Another key is refused; a lost key is not replaced by a new one.
		other := filepath.Join(t.TempDir(), "other.key")
		if _, err := storekey.GenerateKeyFile(other); err != nil {
			t.Fatal(err)
		}
		_, err = e.open(other)
		wantErr(t, err, ErrWrongKey)
		must(t, os.Rename(e.key, e.key+".moved"))
		_, err = e.open(e.key)
		wantErr(t, err, ErrKeyFile, "restore")
		if _, err := os.Stat(e.key); !errors.Is(err, os.ErrNotExist) {
			t.Fatal("a new key was generated for a database with sealed data")
		}
		must(t, os.Rename(e.key+".moved", e.key))
		must(t, os.Chmod(e.key, 0o644))
		_, err = e.open(e.key)
		wantErr(t, err, ErrKeyFile, "chmod 600")
		must(t, os.Chmod(e.key, 0o600))

		// Without a key the gallery's biometrics are unavailable.
		nk, err := e.open("")
		must(t, err)
		defer nk.Close()
		if _, err := nk.Photo(ctx, boss, "P-1", shaHex(photo)); !errors.Is(err, ErrNoKey) {
			t.Fatalf("photo without key: %v", err)
		}
		if _, _, err := nk.AddPhoto(ctx, boss, "P-1", jpeg("new"), ""); !errors.Is(err, ErrNoKey) {
			t.Fatalf("add photo without key: %v", err)
		}
		if p := getPerson(t, nk, "P-1"); p.Photos != 1 || nk.KeyFingerprint() != "none" {
			t.Fatalf("person without key %+v", p)
		}
	})

	t.Run("dedup by sha and by sha and model", func(t *testing.T) {
		s := newEnv(t).store()
		enrolPerson(t, s, "P-1", siteA) // revision 1
		photo := jpeg("second")
		sha, created, err := s.AddPhoto(ctx, boss, "P-1", photo, "upload")
		must(t, err)
		if !created || sha != shaHex(photo) {
			t.Fatalf("first add: %s %v", sha, created)
		}
		sha2, created, err := s.AddPhoto(ctx, boss, "P-1", photo, "another upload")
		must(t, err)
		if created || sha2 != sha {
			t.Fatalf("second add of the same bytes: %s %v", sha2, created)
		}
		tpl := Template{Person: "P-1", PhotoSHA256: sha, Model: "arcface", Vec: vec(5, 16), Quality: 0.5}
		for i, want := range []bool{true, false} {
			created, err := s.AddTemplate(ctx, boss, tpl)
			must(t, err)
			if created != want {
				t.Fatalf("template add %d: created %v", i, created)
			}
		}
		tpl.Model = "dlib"
		if created, err := s.AddTemplate(ctx, boss, tpl); err != nil || !created {
			t.Fatalf("template of another model: %v %v", created, err)
		}
		// Revisions only for what changed: 1 enrol, photo, two templates.
		if g := gallerySite(t, s, siteA); g.Issued != 4 {
			t.Fatalf("issued %d, want 4", g.Issued)
		}
		p := getPerson(t, s, "P-1")
		if p.Photos != 2 || p.Templates != 3 {
			t.Fatalf("person counts %+v", p)
		}
		// Templates of one model, for the similarity check.
		all, err := s.Templates(ctx, boss, "arcface")
		must(t, err)
		if len(all) != 2 {
			t.Fatalf("%d arcface templates", len(all))
		}

		tpl.PhotoSHA256 = shaHex(jpeg("never added"))
		_, err = s.AddTemplate(ctx, boss, tpl)
		wantErr(t, err, ErrNotFound, "photo")
		_, _, err = s.AddPhoto(ctx, boss, "nobody", photo, "")
		wantErr(t, err, ErrNotFound)
		for name, c := range map[string]struct {
			err   error
			field string
		}{
			"not a jpeg": {func() error { _, _, err := s.AddPhoto(ctx, boss, "P-1", []byte("GIF89a"), ""); return err }(), "jpeg"},
			"no actor":   {func() error { _, _, err := s.AddPhoto(ctx, "", "P-1", photo, ""); return err }(), "actor"},
			"nan vector": {func() error {
				_, err := s.AddTemplate(ctx, boss, Template{Person: "P-1", PhotoSHA256: sha, Model: "m", Vec: []float32{float32(math.NaN())}})
				return err
			}(), "template.vec"},
			"quality": {func() error {
				_, err := s.AddTemplate(ctx, boss, Template{Person: "P-1", PhotoSHA256: sha, Model: "m", Vec: []float32{1}, Quality: 2})
				return err
			}(), "template.quality"},
			"bad sha": {func() error {
				_, err := s.AddTemplate(ctx, boss, Template{Person: "P-1", PhotoSHA256: "ABC", Model: "m", Vec: []float32{1}})
				return err
			}(), "template.photo_sha256"},
			"facility": {s.PutPerson(ctx, boss, Person{ID: "P-9", DisplayName: "Z", Facility: "bad/site"}), "person.facility"},
			"name":     {s.PutPerson(ctx, boss, Person{ID: "P-9", DisplayName: " padded"}), "person.display_name"},
			"twice":    {s.PutPerson(ctx, boss, Person{ID: "P-9", DisplayName: "Z", Categories: []string{"a", "a"}}), "person.categories[1]"},
			"status":   {s.PutPerson(ctx, boss, Person{ID: "P-9", DisplayName: "Z", Status: PersonInTransit}), "status"},
		} {
			if !errors.Is(c.err, ErrInvalid) || !strings.Contains(c.err.Error(), c.field) {
				t.Errorf("%s: %v, want ErrInvalid naming %s", name, c.err, c.field)
			}
		}
	})

	t.Run("transfer through every state driven by acks", func(t *testing.T) {
		e := newEnv(t)
		s := e.store()
		enrolPerson(t, s, "P-1", siteA)
		applied(t, s, siteA, 1, 1, e.clock.Now())
		start := e.clock.add(time.Minute)
		tr, err := s.StartTransfer(ctx, boss, "P-1", siteB, "court order 17")
		must(t, err)
		if tr.State != TransferRequested || tr.From != siteA || tr.To != siteB || tr.FromRevision != 2 || !tr.RequestedAt.Equal(start) ||
			tr.RequestedBy != boss || !tr.Open() {
			t.Fatalf("started %+v", tr)
		}
		if got := getTransfer(t, s, tr.ID); got != tr {
			t.Fatalf("stored %+v\nreturned %+v", got, tr)
		}
		if o := ops(t, s, siteA, 2); !slices.Equal(o.Removals, []string{"P-1"}) {
			t.Fatalf("removal revision %+v", o)
		}
		if len(members(t, s, siteA)) != 0 || len(members(t, s, siteB)) != 0 {
			t.Fatal("a requested transfer's person is held by a site")
		}
		if g := gallerySite(t, s, siteA); g.Pending != 1 {
			t.Fatalf("pending at source %+v", g)
		}
		// An older revision in force confirms nothing.
		applied(t, s, siteA, 2, 1, e.clock.add(time.Second))
		if got := getTransfer(t, s, tr.ID); got.State != TransferRequested {
			t.Fatalf("state %s after an old ack", got.State)
		}
		removed := e.clock.add(time.Minute)
		applied(t, s, siteA, 3, 2, removed)
		tr = getTransfer(t, s, tr.ID)
		if tr.State != TransferInTransit || !tr.RemovedAt.Equal(removed) || !tr.TransitAt.Equal(removed) || tr.ToRevision != 1 {
			t.Fatalf("after the source's ack %+v", tr)
		}
		if o := ops(t, s, siteB, 1); !slices.Equal(o.Upserts, []string{"P-1"}) {
			t.Fatalf("destination revision %+v", o)
		}
		if m := members(t, s, siteB); !slices.Equal(m, []string{"P-1"}) {
			t.Fatalf("destination members %v", m)
		}
		if p := getPerson(t, s, "P-1"); p.Status != PersonInTransit || p.Facility != siteB {
			t.Fatalf("person in transit %+v", p)
		}
		// A failed ack at the destination leaves it in transit.
		ingest(t, s, ackMsg(siteB, 1, 1, 0, wire.GalleryFailed, e.clock.add(time.Second)), Stored)
		if got := getTransfer(t, s, tr.ID); got.State != TransferInTransit {
			t.Fatalf("state %s after a failed ack", got.State)
		}
		arrived := e.clock.add(time.Minute)
		applied(t, s, siteB, 2, 1, arrived)
		tr = getTransfer(t, s, tr.ID)
		if tr.State != TransferActive || !tr.ActiveAt.Equal(arrived) || tr.Open() {
			t.Fatalf("after the destination's ack %+v", tr)
		}
		if p := getPerson(t, s, "P-1"); p.Status != PersonActive || p.Facility != siteB {
			t.Fatalf("person after the transfer %+v", p)
		}
		// The destination gets the person again, active now.
		if o := ops(t, s, siteB, 2); !slices.Equal(o.Upserts, []string{"P-1"}) {
			t.Fatalf("status revision %+v", o)
		}
		if g := gallerySite(t, s, siteB); g.InForce != 1 || g.Issued != 2 || g.LastAckStatus != wire.GalleryApplied ||
			!g.LastAckAt.Equal(arrived) || g.Pending != 0 || g.Members != 1 {
			t.Fatalf("destination site %+v", g)
		}
		_, err = s.CancelTransfer(ctx, boss, tr.ID, "too late")
		wantErr(t, err, ErrConflict, "confirmed")
		// The history follows the person.
		list, err := s.Transfers(ctx, TransferQuery{Person: "P-1"})
		must(t, err)
		if len(list) != 1 || list[0].ID != tr.ID {
			t.Fatalf("history %+v", list)
		}
		if open, err := s.Transfers(ctx, TransferQuery{Open: true}); err != nil || len(open) != 0 {
			t.Fatalf("open transfers %v %v", open, err)
		}
	})

	t.Run("silent source: in transit after the source wait", func(t *testing.T) {
		e := newEnv(t)
		s := e.store()
		enrolPerson(t, s, "P-1", siteA)
		tr, err := s.StartTransfer(ctx, boss, "P-1", siteB, "")
		must(t, err)
		wait := 10 * time.Minute
		moved, err := s.AdvanceTransfers(ctx, t0.Add(wait-time.Second), wait)
		must(t, err)
		if len(moved) != 0 {
			t.Fatalf("advanced before the wait: %+v", moved)
		}
		now := t0.Add(wait)
		moved, err = s.AdvanceTransfers(ctx, now, wait)
		must(t, err)
		if len(moved) != 1 || moved[0].ID != tr.ID || moved[0].State != TransferInTransit || !moved[0].TransitAt.Equal(now) ||
			!moved[0].RemovedAt.IsZero() || moved[0].ToRevision != 1 {
			t.Fatalf("advanced %+v", moved)
		}
		if got := getTransfer(t, s, tr.ID); got != moved[0] {
			t.Fatalf("stored %+v\nreturned %+v", got, moved[0])
		}
		if again, err := s.AdvanceTransfers(ctx, now.Add(time.Hour), wait); err != nil || len(again) != 0 {
			t.Fatalf("advanced twice: %v %v", again, err)
		}
		arrived := e.clock.add(20 * time.Minute)
		applied(t, s, siteB, 1, 1, arrived)
		if got := getTransfer(t, s, tr.ID); got.State != TransferActive || !got.ActiveAt.Equal(arrived) {
			t.Fatalf("after the destination's ack %+v", got)
		}
		// The source comes back and confirms: noted, nothing else changes.
		late := e.clock.add(time.Hour)
		applied(t, s, siteA, 1, 2, late)
		if got := getTransfer(t, s, tr.ID); got.State != TransferActive || !got.RemovedAt.Equal(late) {
			t.Fatalf("after the source's late ack %+v", got)
		}
	})

	t.Run("cancel before the destination confirms", func(t *testing.T) {
		e := newEnv(t)
		s := e.store()
		enrolPerson(t, s, "P-1", siteA) // A 1
		enrolPerson(t, s, "P-2", siteA) // A 2
		// Cancelled while requested: the source gets the person back, the
		// destination was never told.
		tr, err := s.StartTransfer(ctx, boss, "P-1", siteB, "") // A 3
		must(t, err)
		cancelled := e.clock.add(time.Minute)
		got, err := s.CancelTransfer(ctx, "supervisor2", tr.ID, "order withdrawn") // A 4
		must(t, err)
		if got.State != TransferCancelled || got.CancelledBy != "supervisor2" || !got.CancelledAt.Equal(cancelled) ||
			got.CancelReason != "order withdrawn" {
			t.Fatalf("cancelled %+v", got)
		}
		if o := ops(t, s, siteA, 4); !slices.Equal(o.Upserts, []string{"P-1"}) {
			t.Fatalf("source revision %+v", o)
		}
		if g := gallerySite(t, s, siteB); g.Issued != 0 {
			t.Fatalf("destination issued %d", g.Issued)
		}
		if p := getPerson(t, s, "P-1"); p.Facility != siteA || p.Status != PersonActive {
			t.Fatalf("person %+v", p)
		}
		_, err = s.CancelTransfer(ctx, boss, tr.ID, "")
		wantErr(t, err, ErrConflict, "already cancelled")

		// Cancelled in transit: the destination drops the person again.
		tr, err = s.StartTransfer(ctx, boss, "P-2", siteB, "") // A 5
		must(t, err)
		applied(t, s, siteA, 1, 5, e.clock.add(time.Minute)) // B 1
		if getTransfer(t, s, tr.ID).State != TransferInTransit {
			t.Fatal("not in transit")
		}
		_, err = s.CancelTransfer(ctx, boss, tr.ID, "")
		must(t, err)
		if o := ops(t, s, siteA, 6); !slices.Equal(o.Upserts, []string{"P-2"}) {
			t.Fatalf("source revision %+v", o)
		}
		if o := ops(t, s, siteB, 2); !slices.Equal(o.Removals, []string{"P-2"}) {
			t.Fatalf("destination revision %+v", o)
		}
		if len(members(t, s, siteB)) != 0 || !slices.Equal(members(t, s, siteA), []string{"P-1", "P-2"}) {
			t.Fatal("members after cancel")
		}
		// A late ack of the destination completes nothing.
		applied(t, s, siteB, 1, 1, e.clock.add(time.Minute))
		if got := getTransfer(t, s, tr.ID); got.State != TransferCancelled {
			t.Fatalf("state %s", got.State)
		}
		_, err = s.CancelTransfer(ctx, boss, "0197a0f0-0000-7000-8000-000000000000", "")
		wantErr(t, err, ErrNotFound)
	})

	t.Run("one open transfer per person", func(t *testing.T) {
		s := newEnv(t).store()
		enrolPerson(t, s, "P-1", siteA)
		_, err := s.StartTransfer(ctx, boss, "P-1", siteA, "")
		wantErr(t, err, ErrInvalid, "already held")
		tr, err := s.StartTransfer(ctx, boss, "P-1", siteB, "")
		must(t, err)
		_, err = s.StartTransfer(ctx, boss, "P-1", siteC, "")
		wantErr(t, err, ErrConflict, tr.ID)
		wantErr(t, s.RemovePerson(ctx, boss, "P-1"), ErrConflict, "cancel it first")
		wantErr(t, s.ReassignPerson(ctx, boss, "P-1", siteC, ""), ErrConflict)
		wantErr(t, s.PutPerson(ctx, boss, Person{ID: "P-1", DisplayName: "X", Status: PersonReleased}), ErrConflict)
		_, err = s.StartTransfer(ctx, boss, "nobody", siteB, "")
		wantErr(t, err, ErrNotFound)

		// Concurrent starts for one person: exactly one wins.
		enrolPerson(t, s, "P-2", siteA)
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			wg.Go(func() { _, errs[i] = s.StartTransfer(ctx, boss, "P-2", siteB, "") })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, ErrConflict) && !strings.Contains(err.Error(), "database is locked"):
				t.Errorf("concurrent start: %v", err)
			}
		}
		if won != 1 {
			t.Fatalf("%d concurrent starts succeeded", won)
		}
	})

	t.Run("enrolment from a site", func(t *testing.T) {
		e := newEnv(t)
		s := e.store()
		photo := jpeg("booked at the gate")
		enrol := func(seq uint64, person, name string, photo []byte, models ...string) Message {
			p := wire.GalleryEnrolment{Seq: seq, Site: siteA, ID: wire.MustNewID(), At: e.clock.Now(), By: "gate-officer",
				Person: wire.EnrolledPerson{ID: person, DisplayName: name, Categories: []string{"new-arrival"}},
				Photo:  wire.EnrolledPhoto{SHA256: shaHex(photo), JPEG: photo, Source: "gate camera"}}
			for i, m := range models {
				p.Templates = append(p.Templates, wire.EnrolledTemplate{Model: m, Vec: vec(float32(i), 16), Quality: 0.8})
			}
			must(t, p.Validate())
			return Message{Topic: wire.Topic{Kind: wire.KindGalleryEnrol, Region: region, Site: siteA}, Seq: seq, Payload: p,
				Received: e.clock.Now()}
		}
		// Unknown person: created at the enrolling site.
		m := enrol(1, "N-1", "New Arrival", photo, "arcface", "dlib")
		ingest(t, s, m, Stored)
		p := getPerson(t, s, "N-1")
		if p.DisplayName != "New Arrival" || p.Facility != siteA || p.Status != PersonActive || p.Photos != 1 || p.Templates != 2 ||
			!slices.Equal(p.Categories, []string{"new-arrival"}) {
			t.Fatalf("person %+v", p)
		}
		if o := ops(t, s, siteA, 1); !slices.Equal(o.Upserts, []string{"N-1"}) {
			t.Fatalf("revision %+v", o)
		}
		audits, err := s.AuditLog(ctx, AuditQuery{Action: "gallery.enrol.site"})
		must(t, err)
		if len(audits) != 1 || audits[0].Actor != "gate-officer@"+siteA || audits[0].Object != "N-1" ||
			!strings.Contains(audits[0].Detail, "new_person=true") {
			t.Fatalf("enrol audit %+v", audits)
		}
		// The replayed message is a duplicate: nothing changes.
		head, err := s.VerifyAudit(ctx)
		must(t, err)
		ingest(t, s, m, Duplicate)
		if h, _ := s.VerifyAudit(ctx); h != head || gallerySite(t, s, siteA).Issued != 1 {
			t.Fatal("replayed enrolment changed the store")
		}
		// The same photo sent again (another seq) adds nothing: no revision.
		ingest(t, s, enrol(2, "N-1", "New Arrival", photo, "arcface"), Stored)
		if getPerson(t, s, "N-1").Photos != 1 || gallerySite(t, s, siteA).Issued != 1 {
			t.Fatal("a photo already held was added again")
		}
		// A known person: the region's profile wins, biometrics are added once.
		enrolPerson(t, s, "K-1", siteB)
		issuedB := gallerySite(t, s, siteB).Issued
		other := jpeg("another angle")
		ingest(t, s, enrol(3, "K-1", "Site's Spelling", other, "arcface"), Stored)
		k := getPerson(t, s, "K-1")
		if k.DisplayName != "Name K-1" || k.Facility != siteB || k.Photos != 2 || k.Templates != 2 ||
			!slices.Equal(k.Categories, []string{"inmate"}) {
			t.Fatalf("known person after a site's enrolment %+v", k)
		}
		if g := gallerySite(t, s, siteB); g.Issued != issuedB+1 {
			t.Fatalf("facility issued %d, want %d", g.Issued, issuedB+1)
		}
		if o := ops(t, s, siteB, issuedB+1); !slices.Equal(o.Upserts, []string{"K-1"}) {
			t.Fatalf("facility revision %+v", o)
		}
		if g := gallerySite(t, s, siteA); g.Issued != 1 {
			t.Fatalf("enrolling site issued %d: the person is not its", g.Issued)
		}
		ingest(t, s, enrol(4, "K-1", "Site's Spelling", other, "arcface"), Stored)
		if gallerySite(t, s, siteB).Issued != issuedB+1 || getPerson(t, s, "K-1").Photos != 2 {
			t.Fatal("a second identical enrolment added something")
		}
	})

	t.Run("audit of biometric reads and writes", func(t *testing.T) {
		s := newEnv(t).store()
		enrolPerson(t, s, "P-1", siteA)
		sha := shaHex(jpeg("photo of P-1"))
		_, err := s.Photo(ctx, "auditor7", "P-1", sha)
		must(t, err)
		_, _, err = s.PersonBiometrics(ctx, "gallery-sync", "P-1")
		must(t, err)
		_, err = s.Templates(ctx, "enrol-check", "arcface")
		must(t, err)
		tr, err := s.StartTransfer(ctx, boss, "P-1", siteB, "court")
		must(t, err)
		must(t, s.Audit(ctx, "auditor7", "audit.view", "log", "page 1"))
		all, err := s.AuditLog(ctx, AuditQuery{})
		must(t, err)
		type rec struct{ actor, action, object string }
		var got []rec
		for _, a := range slices.Backward(all) {
			got = append(got, rec{a.Actor, a.Action, a.Object})
		}
		want := []rec{
			{boss, "gallery.person.create", "P-1"},
			{boss, "gallery.photo.add", "P-1"},
			{boss, "gallery.template.add", "P-1"},
			{"auditor7", "gallery.photo.read", "P-1"},
			{"gallery-sync", "gallery.biometrics.read", "P-1"},
			{"enrol-check", "gallery.templates.read", "arcface"},
			{boss, "transfer.start", tr.ID},
			{"auditor7", "audit.view", "log"},
		}
		if !slices.Equal(got, want) {
			t.Fatalf("audit log\n got %v\nwant %v", got, want)
		}
		mine, err := s.AuditLog(ctx, AuditQuery{Actor: "auditor7"})
		must(t, err)
		if len(mine) != 2 || mine[0].Action != "audit.view" {
			t.Fatalf("by actor %+v", mine)
		}
		page, err := s.AuditLog(ctx, AuditQuery{Before: all[0].Seq, Limit: 2})
		must(t, err)
		if len(page) != 2 || page[0].Seq != all[1].Seq {
			t.Fatalf("page %+v", page)
		}
		head, err := s.VerifyAudit(ctx)
		must(t, err)
		if head != uint64(len(want)) {
			t.Fatalf("head %d", head)
		}
		d := s.(*db)
		if _, err := d.w.Exec(d.d.bind(`UPDATE region_audit SET actor = ? WHERE seq = 4`), "someone-else"); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifyAudit(ctx); err == nil || !strings.Contains(err.Error(), "record 4") {
			t.Fatalf("tampered log verifies: %v", err)
		}
		wantErr(t, s.Audit(ctx, "", "x", "", ""), ErrInvalid, "actor")
	})
}
