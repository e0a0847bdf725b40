package enroll

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/gallery"
)

// enrolThree enrols the three enrolment photos with faceplugin, plus a
// profile that has no photo at all.
func enrolThree(t *testing.T, st *store.Store) (recognizer.Engine, []Result) {
	t.Helper()
	ctx := context.Background()
	p := testPhotos(t)
	fp := newEngine(t, engines.FacePlugin)
	rs, err := newEnroller(t, st, fp, nil).Run(ctx, []Item{
		{Profile: Profile{ID: "P-AL"}, Path: p.alex},
		{Profile: Profile{ID: "P-BO"}, Path: p.obama},
		{Profile: Profile{ID: "P-LMM"}, Path: p.lin},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.Status != StatusEnrolled {
			t.Fatalf("setup: %+v", r)
		}
	}
	if err := st.PutPerson(ctx, actor, store.Person{ID: "P-NOPHOTO", DisplayName: "No Photo", Facility: facility,
		Status: store.StatusActive}); err != nil {
		t.Fatal(err)
	}
	return fp, rs
}

func TestReembedAddsTheNewModelAndLeavesTheOldOne(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	fp, enrolled := enrolThree(t, st)
	before := mustTemplates(t, st, fp.Model())

	fused := newEngine(t, engines.Fused)
	// Before re-embedding, a fused enrolment could compare new photos with
	// nobody, and says so.
	if n := newEnroller(t, st, fused, nil).Unchecked(); n != 4 {
		t.Fatalf("%d profiles unchecked before re-embedding, want 4", n)
	}
	var calls int
	rep, err := Reembed(ctx, st, fused, decode, actor, func(done, total int, r Result) {
		calls++
		if total != 3 || done != calls {
			t.Errorf("progress %d/%d at call %d", done, total, calls)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Model != fused.Model() || rep.Persons != 3 || rep.Skipped != 0 || rep.Reembedded != 3 || rep.Templates != 3 ||
		len(rep.Failed) != 0 || !slices.Equal(rep.NoPhoto, []string{"P-NOPHOTO"}) || len(rep.Results) != 3 {
		t.Fatalf("report %+v", rep)
	}

	// The old model's templates are untouched, byte for byte.
	after := mustTemplates(t, st, fp.Model())
	if len(after) != len(before) {
		t.Fatalf("%d faceplugin templates after, %d before", len(after), len(before))
	}
	for i := range before {
		if after[i].ID != before[i].ID || !slices.Equal(after[i].Vec, before[i].Vec) {
			t.Fatalf("faceplugin template %s changed", before[i].ID)
		}
	}
	// The new model has one template per person, made from the same
	// enrolment photo, in its own vector space.
	nt := mustTemplates(t, st, fused.Model())
	if len(nt) != 3 {
		t.Fatalf("%d fused templates, want 3", len(nt))
	}
	photoOf := map[string]string{}
	for _, r := range enrolled {
		photoOf[r.Person] = r.PhotoID
	}
	for _, tp := range nt {
		if tp.Model != fused.Model() || len(tp.Vec) != fused.Dim() || tp.PhotoID != photoOf[tp.PersonID] ||
			tp.Source != Source || tp.EnrolledBy != actor || tp.Quality <= 0 {
			t.Errorf("fused template %+v", tp)
		}
	}

	// Each model's gallery is built from its own templates only, and a
	// query of one model is refused by the other's gallery.
	galleries := map[recognizer.ModelID]*gallery.Snapshot{}
	for _, eng := range []recognizer.Engine{fp, fused} {
		var gt []gallery.Template
		for _, tp := range mustTemplates(t, st, eng.Model()) {
			gt = append(gt, gallery.Template{PersonID: tp.PersonID, TemplateID: tp.ID, Vec: tp.Vec})
		}
		g, err := gallery.New(eng.Model(), eng.Dim(), gt, gallery.Options{})
		if err != nil {
			t.Fatal(err)
		}
		galleries[eng.Model()] = g
	}
	q := recognizer.Embedding{Model: fp.Model(), Vec: before[0].Vec}
	if _, err := galleries[fused.Model()].Search(q, 1); !errors.As(err, new(recognizer.ErrModelMismatch)) {
		t.Fatalf("a faceplugin query against the fused gallery: %v", err)
	}
	// The re-embedded gallery works: the same face under a new id is
	// caught as a look-alike by the fused engine. Only the profile without
	// a photo is left unchecked.
	after2 := newEnroller(t, st, fused, nil)
	if n := after2.Unchecked(); n != 1 {
		t.Fatalf("%d profiles unchecked after re-embedding, want 1", n)
	}
	rs, err := after2.Run(ctx, []Item{{Profile: Profile{ID: "P-NEW"}, Path: testPhotos(t).lin}}, nil)
	if err != nil || rs[0].Status != StatusSimilar || rs[0].SimilarTo != "P-LMM" || rs[0].Score < 0.99 {
		t.Fatalf("look-alike check on the re-embedded gallery: %+v %v", rs, err)
	}

	// Running it again does nothing: everyone has a fused template.
	rep, err = Reembed(ctx, st, fused, decode, actor, nil)
	if err != nil || rep.Skipped != 3 || rep.Templates != 0 || len(rep.Results) != 0 {
		t.Fatalf("second run %+v %v", rep, err)
	}
	if n := len(mustTemplates(t, st, fused.Model())); n != 3 {
		t.Fatalf("%d fused templates after the second run", n)
	}
	// Both runs are audited.
	var runs int
	for _, a := range auditActions(t, st) {
		if a.Action == "gallery.reembed" && a.Object == "model:"+string(fused.Model()) && a.Actor == actor {
			runs++
		}
	}
	if runs != 2 {
		t.Fatalf("%d gallery.reembed audit entries, want 2", runs)
	}
}

// A cancelled run stops between persons; running again finishes the rest
// without doing anyone twice.
func TestReembedResumesAfterCancel(t *testing.T) {
	st := newStore(t)
	enrolThree(t, st)
	fused := newEngine(t, engines.Fused)
	ctx, cancel := context.WithCancel(context.Background())
	rep, err := Reembed(ctx, st, fused, decode, actor, func(done, total int, r Result) { cancel() })
	if !errors.Is(err, context.Canceled) || rep.Reembedded != 1 || rep.Templates != 1 {
		t.Fatalf("cancelled run: %+v, %v", rep, err)
	}
	rep, err = Reembed(context.Background(), st, fused, decode, actor, nil)
	if err != nil || rep.Skipped != 1 || rep.Reembedded != 2 {
		t.Fatalf("resumed run: %+v, %v", rep, err)
	}
	count := map[string]int{}
	for _, tp := range mustTemplates(t, st, fused.Model()) {
		count[tp.PersonID]++
	}
	for _, id := range []string{"P-AL", "P-BO", "P-LMM"} {
		if count[id] != 1 {
			t.Errorf("%s has %d fused templates, want 1", id, count[id])
		}
	}
}

// The catalogue follows enrolments and deletions, and List reports it
// from a store opened without its key.
func TestCatalogueAndList(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	fp, _ := enrolThree(t, st)
	fused := newEngine(t, engines.Fused)
	if _, err := Reembed(ctx, st, fused, decode, actor, nil); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.DeleteBiometrics(ctx, actor, "P-BO"); err != nil {
		t.Fatal(err)
	}
	cat, err := ReadCatalogue(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	if len(cat.Photos) != 2 || len(cat.Photos["P-AL"]) != 1 || cat.Photos["P-AL"][0].Source != Source || len(cat.Photos["P-BO"]) != 0 {
		t.Fatalf("photos %+v", cat.Photos)
	}
	want := []recognizer.ModelID{fp.Model(), fused.Model()}
	slices.Sort(want)
	if got := cat.Models(); !slices.Equal(got, want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	// An auditor without the key can list the gallery.
	ro, err := store.Open(st.Path(), store.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	l, err := List(ctx, ro)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.Models) != 2 {
		t.Fatalf("models %+v", l.Models)
	}
	for i, mc := range l.Models {
		if mc.Model != want[i] || mc.Templates != 2 || mc.Persons != 2 {
			t.Errorf("model count %+v", mc)
		}
	}
	rows := map[string]PersonRow{}
	for _, r := range l.Persons {
		rows[r.ID] = r
	}
	if len(rows) != 4 || rows["P-AL"].Photos != 1 || rows["P-AL"].Templates[fused.Model()] != 1 ||
		rows["P-AL"].Templates[fp.Model()] != 1 || rows["P-BO"].Photos != 0 || len(rows["P-BO"].Templates) != 0 ||
		rows["P-NOPHOTO"].DisplayName != "No Photo" {
		t.Fatalf("rows %+v", rows)
	}
	// The count agrees with the templates actually stored.
	for _, mc := range l.Models {
		if n := len(mustTemplates(t, st, mc.Model)); n != mc.Templates {
			t.Errorf("list says %d templates of %s, the store holds %d", mc.Templates, mc.Model, n)
		}
	}
}
