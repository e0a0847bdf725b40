package enrol_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/enrolcheck"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/region/enrol"
	"github.com/dozor-edge/dozor/region/store"
)

const actor = "supervisor-1"

func newStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "region.db"), store.Options{SQLite: sqlite.Binding{},
		KeyFile: filepath.Join(t.TempDir(), "store.key"), CropDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newEnroller(t *testing.T, st store.Store) *enrol.Enroller {
	t.Helper()
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	eng, err := engines.New(testenv.ModelDir(t), engines.FacePlugin, det)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { eng.Close() })
	e, err := enrol.New(enrol.Config{Store: st, Engine: eng,
		Decode: func(b []byte) (*recognizer.Image, error) { return opencv.DecodeImage(b, enrol.MaxSide) }})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func read(t *testing.T, path string) enrol.Photo {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return enrol.Photo{Name: filepath.Base(path), Data: b}
}

// photos are real test photos by role.
type photos struct{ lin, obama, group, clooneyA, clooneyB enrol.Photo }

func testPhotos(t *testing.T) photos {
	enroll := testenv.TestData(t, "video/enroll")
	clooney := filepath.Join(testenv.TestData(t, "lfw-dev"), "images", "George_Clooney")
	return photos{
		lin:      read(t, filepath.Join(enroll, "lin-manuel-miranda.png")),
		obama:    read(t, filepath.Join(enroll, "obama.jpg")),
		group:    read(t, filepath.Join(testenv.TestData(t, "faces"), "pristin.jpg")),
		clooneyA: read(t, filepath.Join(clooney, "George_Clooney_0007.jpg")),
		clooneyB: read(t, filepath.Join(clooney, "George_Clooney_0005.jpg")),
	}
}

func TestEnrolVerdicts(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	e := newEnroller(t, st)
	p := testPhotos(t)

	// A PNG and a JPEG of one person: both enrolled, the PNG kept as JPEG.
	rs, err := e.Enrol(ctx, actor, enrol.Profile{ID: "P-LMM", DisplayName: "Lin-Manuel Miranda", Facility: "ik5",
		Categories: []string{"cat-b"}}, []enrol.Photo{p.lin, p.group, {Name: "broken.jpg", Data: []byte("\xff\xd8\xff\xe0 not a JPEG")}})
	if err != nil {
		t.Fatal(err)
	}
	want := []enrol.Status{"enrolled", "several_faces", "bad_image"}
	for i, r := range rs {
		if r.Status != want[i] {
			t.Errorf("photo %s: %s (%s), want %s", r.Image, r.Status, r.Reason, want[i])
		}
	}
	if rs[0].Faces != 1 || rs[0].Quality <= 0 || rs[0].SHA256 == "" || rs[1].Faces != 10 {
		t.Errorf("results %+v", rs)
	}
	person, err := st.Person(ctx, "P-LMM")
	if err != nil {
		t.Fatal(err)
	}
	if person.Facility != "ik5" || person.Status != store.PersonActive || person.DisplayName != "Lin-Manuel Miranda" {
		t.Errorf("person %+v", person)
	}
	phs, ts, err := st.PersonBiometrics(ctx, actor, "P-LMM")
	if err != nil {
		t.Fatal(err)
	}
	if len(phs) != 1 || !strings.HasPrefix(string(phs[0].JPEG), "\xff\xd8\xff") || phs[0].SHA256 != rs[0].SHA256 ||
		len(ts) != 1 || ts[0].Model != e.Model() || ts[0].PhotoSHA256 != rs[0].SHA256 || phs[0].Source != enrol.Source {
		t.Errorf("stored photos %d, templates %+v", len(phs), ts)
	}
	sites, err := st.GallerySites(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(sites) != 1 || sites[0].Site != "ik5" || sites[0].Issued == 0 {
		t.Errorf("gallery sites %+v: the facility was issued no revision", sites)
	}

	// The same photo again: already enrolled, nothing written.
	again, err := e.Enrol(ctx, actor, enrol.Profile{ID: "P-LMM"}, []enrol.Photo{p.lin})
	if err != nil {
		t.Fatal(err)
	}
	if again[0].Status != "already_enrolled" {
		t.Errorf("the same photo again: %s (%s)", again[0].Status, again[0].Reason)
	}

	// One man under two ids: the second is similar, naming the first.
	if rs, err := e.Enrol(ctx, actor, enrol.Profile{ID: "P-GC-1", Facility: "ik5"}, []enrol.Photo{p.clooneyA}); err != nil || rs[0].Status != "enrolled" {
		t.Fatalf("first Clooney: %+v %v", rs, err)
	}
	rs, err = e.Enrol(ctx, actor, enrol.Profile{ID: "P-GC-2", Facility: "ik6"}, []enrol.Photo{p.clooneyB})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != "similar" || rs[0].SimilarTo != "P-GC-1" || rs[0].Score < e.Threshold() {
		t.Errorf("second Clooney: %+v", rs[0])
	}
	if _, err := st.Person(ctx, "P-GC-2"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a person none of whose photos was accepted was created: %v", err)
	}
	log, err := st.AuditLog(ctx, store.AuditQuery{Action: "enrol.similar"})
	if err != nil {
		t.Fatal(err)
	}
	if len(log) != 1 || log[0].Actor != actor || log[0].Object != "person:P-GC-2" || !strings.Contains(log[0].Detail, "P-GC-1") {
		t.Errorf("look-alike audit %+v", log)
	}
}

func TestEnrolNoFace(t *testing.T) {
	ctx := context.Background()
	e := newEnroller(t, newStore(t))
	// A real photo with no face in it: a face photo's background corner.
	img, err := opencv.DecodeImage(read(t, filepath.Join(testenv.TestData(t, "video/enroll"), "obama.jpg")).Data, enrol.MaxSide)
	if err != nil {
		t.Fatal(err)
	}
	corner := recognizer.NewImage(96, 96)
	for y := range 96 {
		copy(corner.Pix[y*96*3:(y+1)*96*3], img.Pix[y*img.W*3:y*img.W*3+96*3])
	}
	jpg, err := enrolcheck.EncodeJPEG(corner, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := e.Enrol(ctx, actor, enrol.Profile{ID: "P-X", Facility: "ik5"}, []enrol.Photo{{Name: "corner.jpg", Data: jpg}})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != "no_face" || rs[0].Faces != 0 {
		t.Errorf("a photo without a face: %+v", rs[0])
	}
}

func TestEnrolInputErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnroller(t, newStore(t))
	ph := enrol.Photo{Name: "x.jpg", Data: []byte{0xff, 0xd8, 0xff}}
	for _, tc := range []struct {
		name  string
		actor string
		p     enrol.Profile
		ph    []enrol.Photo
		want  string
	}{
		{"no actor", "", enrol.Profile{ID: "P-1", Facility: "ik5"}, []enrol.Photo{ph}, "actor"},
		{"bad id", actor, enrol.Profile{ID: "P 1", Facility: "ik5"}, []enrol.Photo{ph}, "id:"},
		{"bad facility", actor, enrol.Profile{ID: "P-1", Facility: "ik/5"}, []enrol.Photo{ph}, "facility"},
		{"new person without facility", actor, enrol.Profile{ID: "P-1"}, []enrol.Photo{ph}, "facility: required"},
		{"no photos", actor, enrol.Profile{ID: "P-1", Facility: "ik5"}, nil, "photos: none"},
		{"empty photo", actor, enrol.Profile{ID: "P-1", Facility: "ik5"}, []enrol.Photo{{Name: "e"}}, "photos[0]: empty"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.Enrol(ctx, tc.actor, tc.p, tc.ph)
			if !errors.Is(err, store.ErrInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want ErrInvalid naming %q", err, tc.want)
			}
		})
	}
}

// Handlers call Enrol concurrently; calls take turns with the engine.
func TestEnrolConcurrent(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	e := newEnroller(t, st)
	p := testPhotos(t)
	var wg sync.WaitGroup
	results := make([][]enrol.Result, 2)
	errs := make([]error, 2)
	for i, ph := range []enrol.Photo{p.lin, p.obama} {
		wg.Go(func() {
			results[i], errs[i] = e.Enrol(ctx, actor, enrol.Profile{ID: "P-" + ph.Name, Facility: "ik5"}, []enrol.Photo{ph})
		})
	}
	wg.Wait()
	for i := range 2 {
		if errs[i] != nil || results[i][0].Status != "enrolled" {
			t.Errorf("call %d: %+v %v", i, results[i], errs[i])
		}
	}
}
