package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
)

func sumHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// photoFixture is a store at a fixed clock holding four enrolment photos:
// A and B of P-1 (in that order), A again for P-2, and C for P-2 under
// another source; ro is the same database opened without the key. Both are
// closed when the test ends.
type photoFixture struct {
	s, ro     *Store
	path, key string
	clock     *testClock
	img       map[string][]byte // A, B, C
	ids       map[string]string // P1A, P1B, P2A, P2C
}

func newPhotoFixture(t *testing.T) *photoFixture {
	t.Helper()
	ctx := context.Background()
	f := &photoFixture{key: newKeyFile(t), path: filepath.Join(t.TempDir(), "facility.db"),
		clock: &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)},
		img:   map[string][]byte{"A": testJPEG(t, 1, 0), "B": testJPEG(t, 2, 5000), "C": testJPEG(t, 3, 0)},
		ids:   map[string]string{}}
	var err error
	if f.s, err = Open(f.path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: f.key, Now: f.clock.now}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.s.Close() })
	setupSite(t, f.s)
	for _, p := range []struct{ name, person, img, source string }{
		{"P1A", "P-1", "A", "booking photo"},
		{"P1B", "P-1", "B", "booking photo"},
		{"P2A", "P-2", "A", "booking photo"},
		{"P2C", "P-2", "C", "transfer file"},
	} {
		f.clock.t = f.clock.t.Add(time.Minute)
		id, err := f.s.AddPhoto(ctx, "supervisor", p.person, f.img[p.img], p.source)
		must(t, err)
		f.ids[p.name] = id
	}
	f.ro, err = Open(f.path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	t.Cleanup(func() { f.ro.Close() })
	return f
}

func (f *photoFixture) info(name string) PhotoInfo {
	person := "P-" + name[1:2]
	img := f.img[name[2:]]
	source := "booking photo"
	if name == "P2C" {
		source = "transfer file"
	}
	at := map[string]int{"P1A": 1, "P1B": 2, "P2A": 3, "P2C": 4}[name]
	return PhotoInfo{ID: f.ids[name], PersonID: person, Source: source, SHA256: sumHex(img), Size: len(img),
		EnrolledBy: "supervisor", EnrolledAt: time.Date(2026, 3, 1, 8, at, 0, 0, time.UTC)}
}

func (f *photoFixture) infos(names ...string) []PhotoInfo {
	out := []PhotoInfo{}
	for _, n := range names {
		out = append(out, f.info(n))
	}
	return out
}

// checkListing runs list as subtests on the keyed store and on the one
// without the key: both must return want, or ErrInvalid when invalid, and
// neither may write an audit entry, since listing metadata releases no
// photo (what names the listing in failures).
func (f *photoFixture) checkListing(t *testing.T, name, what string, want []PhotoInfo, invalid bool, list func(*Store) ([]PhotoInfo, error)) {
	t.Helper()
	for _, st := range []struct {
		name string
		s    *Store
	}{{"keyed", f.s}, {"no key", f.ro}} {
		t.Run(name+"/"+st.name, func(t *testing.T) {
			before := auditLen(t, f.s)
			got, err := list(st.s)
			if invalid {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %v, want ErrInvalid", err)
				}
				return
			}
			must(t, err)
			if !slices.Equal(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			if after := auditLen(t, f.s); after != before {
				t.Fatalf("%s wrote %d audit entries", what, after-before)
			}
		})
	}
}

func auditLen(t *testing.T, s *Store) int {
	t.Helper()
	return count(t, s, `SELECT count(*) FROM audit_log`)
}

func TestPhotos(t *testing.T) {
	ctx := context.Background()
	f := newPhotoFixture(t)
	// The stored hash is that of the plaintext, not of the sealed value.
	if n := count(t, f.s, `SELECT count(*) FROM enrolment_photos WHERE sha256 = ?`, sumHex(f.img["A"])); n != 2 {
		t.Fatalf("%d rows carry the plaintext hash of A, want 2", n)
	}
	cases := []struct {
		name    string
		person  string
		want    []PhotoInfo
		invalid bool
	}{
		{"two photos, oldest first", "P-1", f.infos("P1A", "P1B"), false},
		{"same file as another person's", "P-2", f.infos("P2A", "P2C"), false},
		{"person without photos", "P-3", f.infos(), false},
		{"unknown person", "P-404", f.infos(), false},
		{"every person", "", f.infos("P1A", "P1B", "P2A", "P2C"), false},
		{"bad id", "P 1", nil, true},
	}
	for _, c := range cases {
		f.checkListing(t, c.name, "a metadata listing", c.want, c.invalid, func(s *Store) ([]PhotoInfo, error) {
			return s.Photos(ctx, c.person)
		})
	}
	// Deleting a person's biometrics removes the photos from the listing.
	_, _, err := f.s.DeleteBiometrics(ctx, "supervisor", "P-1")
	must(t, err)
	got, err := f.s.Photos(ctx, "")
	must(t, err)
	if want := f.infos("P2A", "P2C"); !slices.Equal(got, want) {
		t.Fatalf("after deletion: %+v, want %+v", got, want)
	}
}

func TestPhotosByHash(t *testing.T) {
	ctx := context.Background()
	f := newPhotoFixture(t)
	cases := []struct {
		name    string
		sum     string
		want    []PhotoInfo
		invalid bool
	}{
		{"file enrolled for two persons", sumHex(f.img["A"]), f.infos("P1A", "P2A"), false},
		{"upper case", strings.ToUpper(sumHex(f.img["A"])), f.infos("P1A", "P2A"), false},
		{"one photo", sumHex(f.img["C"]), f.infos("P2C"), false},
		{"never enrolled", sumHex([]byte("not a photo")), f.infos(), false},
		{"empty", "", nil, true},
		{"too short", sumHex(f.img["B"])[:62], nil, true},
		{"not hex", strings.Repeat("g", 64), nil, true},
	}
	for _, c := range cases {
		f.checkListing(t, c.name, "a hash lookup", c.want, c.invalid, func(s *Store) ([]PhotoInfo, error) {
			return s.PhotosByHash(ctx, c.sum)
		})
	}
}

func TestTemplateModels(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openSite(t)
	add := func(person string, model recognizer.ModelID, dim int, seed uint64) func(t *testing.T) {
		return func(t *testing.T) {
			_, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: person, Model: model,
				Vec: unitVec(seed, dim), Quality: 0.8, Source: "camera"})
			must(t, err)
		}
	}
	steps := []struct {
		name   string
		do     func(t *testing.T)
		models []ModelCount
		counts []TemplateCount
	}{
		{"empty store", func(*testing.T) {}, []ModelCount{}, []TemplateCount{}},
		{"one template", add("P-2", testModel, 512, 1),
			[]ModelCount{{testModel, 512, 1, 1}},
			[]TemplateCount{{"P-2", testModel, 1}}},
		{"second template of the same person", add("P-2", testModel, 512, 2),
			[]ModelCount{{testModel, 512, 2, 1}},
			[]TemplateCount{{"P-2", testModel, 2}}},
		{"another person", add("P-1", testModel, 512, 3),
			[]ModelCount{{testModel, 512, 3, 2}},
			[]TemplateCount{{"P-1", testModel, 1}, {"P-2", testModel, 2}}},
		{"another model, sorted before", add("P-1", "a-model", 128, 4),
			[]ModelCount{{"a-model", 128, 1, 1}, {testModel, 512, 3, 2}},
			[]TemplateCount{{"P-1", "a-model", 1}, {"P-1", testModel, 1}, {"P-2", testModel, 2}}},
		{"biometrics of P-1 deleted", func(t *testing.T) {
			_, _, err := s.DeleteBiometrics(ctx, "supervisor", "P-1")
			must(t, err)
		},
			[]ModelCount{{testModel, 512, 2, 1}},
			[]TemplateCount{{"P-2", testModel, 2}}},
	}
	ro, err := Open(path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	defer ro.Close()
	for _, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			st.do(t)
			before := auditLen(t, s)
			for _, r := range []*Store{s, ro} {
				models, err := r.TemplateModels(ctx)
				must(t, err)
				if !slices.Equal(models, st.models) {
					t.Errorf("models %+v, want %+v", models, st.models)
				}
				counts, err := r.TemplateCounts(ctx)
				must(t, err)
				if !slices.Equal(counts, st.counts) {
					t.Errorf("counts %+v, want %+v", counts, st.counts)
				}
			}
			if after := auditLen(t, s); after != before {
				t.Errorf("counting templates wrote %d audit entries", after-before)
			}
		})
	}
}
