package enroll

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/dlib"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// outcomeItems is one import covering every outcome: three good photos,
// a group photo, a face too small, a blurred face, two broken files and
// two photos of one man under two ids.
func outcomeItems(p photos) []Item {
	return []Item{
		{Profile: Profile{ID: "P-LMM", DisplayName: "Lin-Manuel Miranda", Categories: []string{"cat-b"}}, Path: p.lin},
		{Profile: Profile{ID: "P-AL"}, Path: p.alex},
		{Profile: Profile{ID: "P-BO", WatchLists: []string{"visitors"}}, Path: p.obama},
		{Profile: Profile{ID: "P-GROUP"}, Path: p.group},
		{Profile: Profile{ID: "P-TINY"}, Path: p.tiny},
		{Profile: Profile{ID: "P-BLUR"}, Path: p.blurred},
		{Profile: Profile{ID: "P-CORRUPT"}, Path: p.corrupt},
		{Profile: Profile{ID: "P-TRUNC"}, Path: p.truncated},
		{Profile: Profile{ID: "P-GC-1"}, Path: p.clooneyA},
		{Profile: Profile{ID: "P-GC-2"}, Path: p.clooneyB},
	}
}

func TestEnrolOutcomes(t *testing.T) {
	p := testPhotos(t)
	for _, name := range []string{engines.FacePlugin, engines.Fused} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			st := newStore(t)
			eng := newEngine(t, name)
			e := newEnroller(t, st, eng, nil)
			var progressed []int
			rs, err := e.Run(ctx, outcomeItems(p), func(done, total int, r Result) {
				if total != 10 {
					t.Errorf("progress total %d, want 10", total)
				}
				progressed = append(progressed, done)
			})
			if err != nil {
				t.Fatal(err)
			}
			// Taken before the checks below read the store themselves.
			entries := auditActions(t, st)
			if !slices.Equal(progressed, []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}) {
				t.Errorf("progress calls %v", progressed)
			}
			for _, r := range rs {
				t.Logf("%-9s %-16s faces=%d q=%.2f %s %s %.3f", r.Person, r.Status, r.Faces, r.Quality, r.Reason, r.SimilarTo, r.Score)
			}
			got := byPerson(rs)
			want := map[string]struct {
				status Status
				reason string
			}{
				"P-LMM":     {StatusEnrolled, ""},
				"P-AL":      {StatusEnrolled, ""},
				"P-BO":      {StatusEnrolled, ""},
				"P-GROUP":   {StatusSeveralFaces, "10 faces"},
				"P-TINY":    {StatusPoorQuality, "face too small"},
				"P-BLUR":    {StatusPoorQuality, "blurred"},
				"P-CORRUPT": {StatusBadImage, "bad image"},
				"P-TRUNC":   {StatusBadImage, "truncated"},
				"P-GC-1":    {StatusEnrolled, ""},
				"P-GC-2":    {StatusSimilar, "looks like P-GC-1"},
			}
			for id, w := range want {
				r := got[id]
				if r.Status != w.status || !strings.Contains(r.Reason, w.reason) {
					t.Errorf("%s: %s %q, want %s mentioning %q", id, r.Status, r.Reason, w.status, w.reason)
				}
				if r.Status.Failed() != (w.status != StatusEnrolled) {
					t.Errorf("%s: Failed() wrong for %s", id, r.Status)
				}
			}
			if r := got["P-GC-2"]; r.SimilarTo != "P-GC-1" || r.Score < e.Threshold() || r.Score >= 1 || r.TemplateID != "" {
				t.Errorf("look-alike: %+v, want P-GC-1 named with a score in [%.2f, 1)", r, e.Threshold())
			}
			// The three photos of different people are not taken for one
			// another.
			for _, id := range []string{"P-LMM", "P-AL", "P-BO", "P-GC-1"} {
				if r := got[id]; r.SimilarTo != "" || r.Quality <= 0 || r.Faces != 1 {
					t.Errorf("%s: %+v", id, r)
				}
			}

			// Stored: four templates of the engine's model, each with its
			// photo, quality, source and actor.
			ts := mustTemplates(t, st, eng.Model())
			if len(ts) != 4 {
				t.Fatalf("%d templates stored, want 4", len(ts))
			}
			for _, tp := range ts {
				r := got[tp.PersonID]
				if tp.ID != r.TemplateID || tp.PhotoID != r.PhotoID || tp.Source != "booking photo" || tp.EnrolledBy != actor ||
					tp.Quality != r.Quality || len(tp.Vec) != eng.Dim() || tp.Model != eng.Model() {
					t.Errorf("template %+v does not match result %+v", tp, r)
				}
				stored, err := st.Photo(ctx, actor, tp.PhotoID)
				if err != nil {
					t.Fatal(err)
				}
				file, _ := os.ReadFile(r.Image)
				if !bytes.Equal(stored, file) {
					t.Errorf("%s: the stored photo is not the original file", tp.PersonID)
				}
			}
			// Profiles exist for enrolled persons only, with what the
			// import gave.
			persons, err := st.Persons(ctx)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, pp := range persons {
				ids = append(ids, pp.ID)
				if pp.Facility != facility || pp.Status != store.StatusActive {
					t.Errorf("profile %+v", pp)
				}
			}
			if !slices.Equal(ids, []string{"P-AL", "P-BO", "P-GC-1", "P-LMM"}) {
				t.Errorf("profiles %v", ids)
			}
			lmm, _ := st.Person(ctx, "P-LMM")
			bo, _ := st.Person(ctx, "P-BO")
			al, _ := st.Person(ctx, "P-AL")
			if lmm.DisplayName != "Lin-Manuel Miranda" || !slices.Equal(lmm.Categories, []string{"cat-b"}) ||
				!slices.Equal(bo.WatchLists, []string{"visitors"}) || al.DisplayName != "P-AL" {
				t.Errorf("profiles: %+v %+v %+v", lmm, bo, al)
			}

			// Audited: the gallery load, each write, the look-alike and
			// the run, all under the actor, in an intact chain.
			actions := map[string]int{}
			for _, a := range entries {
				if a.Actor != actor {
					t.Errorf("audit entry by %q: %+v", a.Actor, a)
				}
				actions[a.Action]++
				if a.Action == "enrol.similar" {
					var d map[string]any
					json.Unmarshal([]byte(a.Detail), &d)
					if a.Object != "person:P-GC-2" || d["similar_to"] != "P-GC-1" || d["enrolled"] != false {
						t.Errorf("look-alike audit %+v", a)
					}
				}
			}
			for act, n := range map[string]int{"template.read": 1, "person.put": 4, "photo.enrol": 4, "template.enrol": 4,
				"enrol.similar": 1, "enrol.batch": 1} {
				if actions[act] != n {
					t.Errorf("%d audit entries %s, want %d (all: %v)", actions[act], act, n, actions)
				}
			}
			if _, err := st.VerifyAudit(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// Running the same import again, with a new Enroller as a second CLI run
// would, writes no template: every enrolled photo is recognised by its
// hash. A photo given twice in one run is enrolled once.
func TestEnrolIsIdempotent(t *testing.T) {
	ctx := context.Background()
	p := testPhotos(t)
	st := newStore(t)
	eng := newEngine(t, engines.FacePlugin)
	items := append(outcomeItems(p), Item{Profile: Profile{ID: "P-LMM"}, Path: p.lin})
	first, err := newEnroller(t, st, eng, nil).Run(ctx, items, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := first[len(first)-1]; r.Status != StatusAlreadyEnrolled || r.TemplateID != first[0].TemplateID {
		t.Fatalf("the same photo twice in one run: %+v", r)
	}
	before := mustTemplates(t, st, eng.Model())
	cat, err := ReadCatalogue(ctx, st)
	if err != nil {
		t.Fatal(err)
	}

	again := newEnroller(t, st, eng, nil)
	second, err := again.Run(ctx, items, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range second {
		want := first[i].Status
		if want == StatusEnrolled {
			want = StatusAlreadyEnrolled
		}
		if r.Status != want {
			t.Errorf("second run, %s: %s (%s), want %s", r.Person, r.Status, r.Reason, want)
		}
		if want == StatusAlreadyEnrolled && (r.TemplateID != first[i].TemplateID || r.SHA256 != first[i].SHA256) {
			t.Errorf("second run, %s: template %s, first run %s", r.Person, r.TemplateID, first[i].TemplateID)
		}
	}
	after := mustTemplates(t, st, eng.Model())
	if len(after) != len(before) {
		t.Fatalf("%d templates after the second run, %d before", len(after), len(before))
	}
	cat2, err := ReadCatalogue(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	for id := range cat.Photos {
		if len(cat2.Photos[id]) != len(cat.Photos[id]) {
			t.Errorf("%s: %d photos after the second run, %d before", id, len(cat2.Photos[id]), len(cat.Photos[id]))
		}
	}
}

// With look-alikes allowed the second Clooney is enrolled, still named as
// like the first; profile fields given later update the profile.
func TestAllowSimilarAndProfileUpdates(t *testing.T) {
	ctx := context.Background()
	p := testPhotos(t)
	st := newStore(t)
	eng := newEngine(t, engines.FacePlugin)
	e := newEnroller(t, st, eng, func(o *Options) { o.AllowSimilar = true })
	rs, err := e.Run(ctx, []Item{
		{Profile: Profile{ID: "P-GC-1", DisplayName: "George"}, Path: p.clooneyA},
		{Profile: Profile{ID: "P-GC-2"}, Path: p.clooneyB},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r := rs[1]; r.Status != StatusEnrolled || r.SimilarTo != "P-GC-1" || !strings.Contains(r.Reason, "look-alikes were allowed") {
		t.Fatalf("allowed look-alike: %+v", r)
	}
	if n := len(mustTemplates(t, st, eng.Model())); n != 2 {
		t.Fatalf("%d templates, want 2", n)
	}
	// A re-run that gives a new name and categories updates the profile,
	// and nothing else.
	rs, err = newEnroller(t, st, eng, nil).Run(ctx, []Item{
		{Profile: Profile{ID: "P-GC-1", DisplayName: "George Clooney", Categories: []string{"high-risk", "cat-a"}}, Path: p.clooneyA},
	}, nil)
	if err != nil || rs[0].Status != StatusAlreadyEnrolled {
		t.Fatalf("%+v %v", rs, err)
	}
	pp, err := st.Person(ctx, "P-GC-1")
	if err != nil {
		t.Fatal(err)
	}
	if pp.DisplayName != "George Clooney" || !slices.Equal(pp.Categories, []string{"cat-a", "high-risk"}) {
		t.Fatalf("profile not updated: %+v", pp)
	}
}

// failingStore fails template writes as a full disk would.
type failingStore struct {
	*store.Store
}

func (f failingStore) AddTemplate(context.Context, string, store.NewTemplate) (string, error) {
	return "", store.ErrStorageFull
}

// A store failure that is not about the photo stops the run, and the
// run's summary is still audited.
func TestStoreFailureStopsTheRun(t *testing.T) {
	ctx := context.Background()
	p := testPhotos(t)
	st := newStore(t)
	e := newEnroller(t, failingStore{st}, newEngine(t, engines.FacePlugin), nil)
	rs, err := e.Run(ctx, outcomeItems(p), nil)
	if !errors.Is(err, store.ErrStorageFull) || len(rs) != 1 || rs[0].Status != StatusError {
		t.Fatalf("results %+v, error %v", rs, err)
	}
	last := auditActions(t, st)
	if a := last[len(last)-1]; a.Action != "enrol.batch" || !strings.Contains(a.Detail, "storage full") {
		t.Fatalf("last audit entry %+v", a)
	}
}

func TestCancelledRunStops(t *testing.T) {
	p := testPhotos(t)
	st := newStore(t)
	e := newEnroller(t, st, newEngine(t, engines.FacePlugin), nil)
	ctx, cancel := context.WithCancel(context.Background())
	rs, err := e.Run(ctx, outcomeItems(p), func(done, total int, r Result) {
		if done == 2 {
			cancel()
		}
	})
	if !errors.Is(err, context.Canceled) || len(rs) != 2 {
		t.Fatalf("%d results, error %v", len(rs), err)
	}
}

func TestNewRefusesBadOptions(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	eng := newEngine(t, engines.FacePlugin)
	cases := []struct {
		name string
		opt  Options
		want string
	}{
		{"no actor", Options{Facility: facility, Decode: decode}, "no actor"},
		{"no facility", Options{Actor: actor, Decode: decode}, "no facility"},
		{"no decoder", Options{Actor: actor, Facility: facility}, "decoder"},
		{"threshold out of range", Options{Actor: actor, Facility: facility, Decode: decode, Threshold: 1.5}, "threshold"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if _, err := New(ctx, st, eng, c.opt); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to mention %q", err, c.want)
			}
		})
	}
}

// Every engine edgectl can build has a measured look-alike threshold.
func TestDefaultThresholdForEveryEngine(t *testing.T) {
	for _, name := range engines.Names {
		var m recognizer.ModelID
		if name == engines.GoFaceDlib {
			m = dlib.ModelID
		} else {
			specs, err := engines.Specs(name)
			if err != nil {
				t.Fatal(err)
			}
			m = opencv.ModelIDFor(specs, nil, true)
		}
		if thr, ok := DefaultThreshold(m); !ok || thr <= 0 || thr >= 1 {
			t.Errorf("engine %s (model %q): threshold %v, %v", name, m, thr, ok)
		}
	}
}

// A photo the store does not keep as it is (here a BMP) is stored as a
// JPEG, and a re-run still recognises it: the hash is of the stored form,
// which re-encoding reproduces exactly.
func TestNonJPEGPhotoIsStoredAsJPEGAndRecognisedAgain(t *testing.T) {
	ctx := context.Background()
	p := testPhotos(t)
	bmpPath := filepath.Join(t.TempDir(), "P-BO.bmp")
	var buf bytes.Buffer
	if err := bmp.Encode(&buf, readPNG(t, p.lin)); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bmpPath, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	st := newStore(t)
	eng := newEngine(t, engines.FacePlugin)
	items := []Item{{Profile: Profile{ID: "P-LMM"}, Path: bmpPath}}
	rs, err := newEnroller(t, st, eng, nil).Run(ctx, items, nil)
	if err != nil || rs[0].Status != StatusEnrolled {
		t.Fatalf("%+v %v", rs, err)
	}
	stored, err := st.Photo(ctx, actor, rs[0].PhotoID)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(stored, []byte{0xFF, 0xD8, 0xFF}) {
		t.Fatalf("stored photo starts % x, want a JPEG", stored[:4])
	}
	rs2, err := newEnroller(t, st, eng, nil).Run(ctx, items, nil)
	if err != nil || rs2[0].Status != StatusAlreadyEnrolled || rs2[0].TemplateID != rs[0].TemplateID {
		t.Fatalf("second run %+v %v", rs2, err)
	}
}

// The go-face engine measures no sharpness. Its faces are gated on size,
// pose and detector score rather than all refused as blurred.
func TestEnrolWithAnEngineThatMeasuresNoSharpness(t *testing.T) {
	p := testPhotos(t)
	st := newStore(t)
	rs, err := newEnroller(t, st, newEngine(t, engines.GoFaceDlib), nil).Run(context.Background(), []Item{
		{Profile: Profile{ID: "P-LMM"}, Path: p.lin},
		{Profile: Profile{ID: "P-TINY"}, Path: p.tiny},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Status != StatusEnrolled || rs[1].Status != StatusPoorQuality ||
		!strings.Contains(rs[1].Reason, "too small") || strings.Contains(rs[1].Reason, "blurred") {
		t.Fatalf("%+v", rs)
	}
}
