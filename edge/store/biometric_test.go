package store

import (
	"bytes"
	"context"
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/dozor-edge/dozor/recognizer"
)

func TestBiometricRoundTrip(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openSite(t)

	photo := testJPEG(t, 99, 0)
	photoID, err := s.AddPhoto(ctx, "supervisor", "P-1", photo, "booking photo")
	must(t, err)

	type enrolled struct {
		id  string
		vec []float32
	}
	want := map[recognizer.ModelID][]enrolled{}
	models := []struct {
		id  recognizer.ModelID
		dim int
	}{{testModel, 512}, {"other-model", 128}}
	seed := uint64(0)
	for _, m := range models {
		for _, person := range []string{"P-1", "P-2", "P-3"} {
			for range 2 {
				seed++
				nt := NewTemplate{PersonID: person, Model: m.id, Vec: unitVec(seed, m.dim), Quality: 0.75, Source: "camera"}
				if person == "P-1" {
					nt.PhotoID, nt.Source = photoID, "booking photo"
				}
				id, err := s.AddTemplate(ctx, "supervisor", nt)
				must(t, err)
				want[m.id] = append(want[m.id], enrolled{id, nt.Vec})
			}
		}
	}
	for _, m := range models {
		got, err := s.Templates(ctx, m.id, SystemActor)
		must(t, err)
		if len(got) != len(want[m.id]) {
			t.Fatalf("%s: %d templates, want %d", m.id, len(got), len(want[m.id]))
		}
		for _, w := range want[m.id] {
			i := slices.IndexFunc(got, func(tp Template) bool { return tp.ID == w.id })
			if i < 0 {
				t.Fatalf("template %s missing", w.id)
			}
			tp := got[i]
			if !slices.Equal(tp.Vec, w.vec) || tp.Model != m.id || tp.EnrolledBy != "supervisor" || tp.EnrolledAt.IsZero() {
				t.Errorf("template %s came back different: %+v", w.id, tp.Model)
			}
			if tp.PersonID == "P-1" && tp.PhotoID != photoID {
				t.Errorf("template %s photo %q, want %q", tp.ID, tp.PhotoID, photoID)
			}
		}
	}

	crops := map[string][]byte{}
	for i := range 3 {
		sg := sightingN(i, []string{"P-1", "", "P-2"}[i])
		sg.Crop = testJPEG(t, uint64(i), 0)
		crops[sg.ID] = sg.Crop
		_, err := s.RecordSighting(ctx, sg, msg("dozor/F-07/sightings"))
		must(t, err)
	}
	noCrop := sightingN(10, "P-3")
	_, err = s.RecordSighting(ctx, noCrop, nil)
	must(t, err)
	for id, crop := range crops {
		got, err := s.Crop(ctx, "guard-7", id)
		must(t, err)
		if !bytes.Equal(got, crop) {
			t.Errorf("crop of %s came back different", id)
		}
	}
	if _, err := s.Crop(ctx, "guard-7", noCrop.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("crop of a sighting without one: %v", err)
	}
	gotPhoto, err := s.Photo(ctx, "supervisor", photoID)
	must(t, err)
	if !bytes.Equal(gotPhoto, photo) {
		t.Error("photo came back different")
	}

	// Every biometric read and write left an audit entry with its actor.
	entries, err := s.AuditEntries(ctx, 0, MaxBatch)
	must(t, err)
	tally := map[string]int{}
	for _, e := range entries {
		tally[e.Action+" by "+e.Actor]++
	}
	for action, n := range map[string]int{
		"photo.enrol by supervisor":    1,
		"template.enrol by supervisor": 12,
		"template.read by system":      2,
		"crop.store by system":         3,
		"crop.read by guard-7":         3,
		"photo.read by supervisor":     1,
	} {
		if tally[action] != n {
			t.Errorf("%d audit entries %q, want %d (all: %v)", tally[action], action, n, tally)
		}
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}

	// Nothing biometric is on disk in the clear.
	must(t, s.Close())
	file, err := os.ReadFile(path)
	must(t, err)
	for _, w := range want[testModel] {
		if bytes.Contains(file, encodeVec(w.vec)[:64]) {
			t.Errorf("template %s found in the clear in the database file", w.id)
		}
	}
	for id, crop := range crops {
		if bytes.Contains(file, crop[len(crop)-64:]) {
			t.Errorf("crop of %s found in the clear in the database file", id)
		}
	}
	if bytes.Contains(file, photo[len(photo)-64:]) {
		t.Error("photo found in the clear in the database file")
	}
}

// TestSealedValueBoundToRow moves or re-attributes sealed values the way
// someone editing the file could, and checks that each read then fails
// with ErrDecrypt naming the row instead of returning another face.
func TestSealedValueBoundToRow(t *testing.T) {
	ctx := context.Background()
	loadGallery := func(s *Store, _ map[string]string) error {
		_, err := s.Templates(ctx, testModel, SystemActor)
		return err
	}
	cases := []struct {
		name   string
		tamper []string
		read   func(s *Store, ids map[string]string) error
	}{
		{"template vectors swapped between persons", []string{
			`UPDATE face_templates SET vector = (SELECT vector FROM face_templates WHERE id = '{t2}') WHERE id = '{t1}'`},
			loadGallery},
		{"template re-attributed to another person", []string{
			`UPDATE face_templates SET person_id = 'P-3' WHERE id = '{t1}'`},
			loadGallery},
		{"template moved to another model", []string{
			`UPDATE face_templates SET model_id = 'm2' WHERE id = '{t1}'`},
			func(s *Store, ids map[string]string) error { _, err := s.Templates(ctx, "m2", SystemActor); return err }},
		{"one bit of a template flipped", []string{flipBit("face_templates", "vector", "{t1}")},
			loadGallery},
		{"crops swapped between sightings", []string{
			`UPDATE sightings SET best_crop = (SELECT best_crop FROM sightings WHERE id = '{s2}') WHERE id = '{s1}'`},
			func(s *Store, ids map[string]string) error { _, err := s.Crop(ctx, "guard", ids["s1"]); return err }},
		{"sighting moved to another camera", []string{
			`UPDATE sightings SET camera_id = 'cam-2' WHERE id = '{s1}'`},
			func(s *Store, ids map[string]string) error { _, err := s.Crop(ctx, "guard", ids["s1"]); return err }},
		{"photo re-attributed", []string{
			`UPDATE enrolment_photos SET person_id = 'P-2' WHERE id = '{p1}'`},
			func(s *Store, ids map[string]string) error {
				_, err := s.Photo(ctx, "supervisor", ids["p1"])
				return err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, _, _ := openSite(t)
			ids := map[string]string{}
			var err error
			for i, p := range []string{"P-1", "P-2"} {
				ids["t"+string(rune('1'+i))], err = s.AddTemplate(ctx, "supervisor",
					NewTemplate{PersonID: p, Model: testModel, Vec: unitVec(uint64(i), 64), Quality: 0.5, Source: "camera"})
				must(t, err)
				sg := sightingN(i, p)
				sg.Crop = testJPEG(t, uint64(i), 0)
				_, err = s.RecordSighting(ctx, sg, nil)
				must(t, err)
				ids["s"+string(rune('1'+i))] = sg.ID
			}
			ids["p1"], err = s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 5, 0), "booking photo")
			must(t, err)
			must(t, tc.read(s, ids)) // intact rows read fine
			auditBefore := count(t, s, `SELECT count(*) FROM audit_log`)

			for _, q := range tc.tamper {
				for k, v := range ids {
					q = strings.ReplaceAll(q, "{"+k+"}", v)
				}
				res, err := s.w.Exec(q)
				must(t, err)
				if n, _ := res.RowsAffected(); n != 1 {
					t.Fatalf("%s changed %d rows", q, n)
				}
			}
			err = tc.read(s, ids)
			if !errors.Is(err, ErrDecrypt) {
				t.Fatalf("read after tampering: %v, want ErrDecrypt", err)
			}
			t.Logf("refused: %v", err)
			if got := count(t, s, `SELECT count(*) FROM audit_log`); got != auditBefore {
				t.Errorf("a failed read left %d audit entries", got-auditBefore)
			}
		})
	}
}

// flipBit is a statement that changes one hex digit (byte 41) of a blob.
func flipBit(table, column, id string) string {
	h := `hex(` + column + `)`
	return `UPDATE ` + table + ` SET ` + column + ` = unhex(substr(` + h + `, 1, 80) ||
		CASE substr(` + h + `, 81, 1) WHEN '0' THEN '1' ELSE '0' END || substr(` + h + `, 82)) WHERE id = '` + id + `'`
}

func TestTemplateDimensionAndDeletion(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	_, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: unitVec(1, 512), Quality: 0.9, Source: "camera"})
	must(t, err)
	_, err = s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-2", Model: testModel, Vec: unitVec(2, 128), Quality: 0.9, Source: "camera"})
	var ie *InvalidError
	if !errors.As(err, &ie) || ie.Field != "vector" || !strings.Contains(err.Error(), "have 512") {
		t.Fatalf("wrong dimension: %v", err)
	}
	_, err = s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-2", Model: "another", Vec: unitVec(2, 128), Quality: 0.9, Source: "camera"})
	must(t, err)
	photo, err := s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 1, 0), "booking photo")
	must(t, err)
	if _, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-2", Model: "another", Vec: unitVec(3, 128),
		Quality: 0.9, Source: "camera", PhotoID: photo}); !errors.Is(err, ErrInvalid) {
		t.Errorf("template of P-2 from a photo of P-1: %v", err)
	}
	if _, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-404", Model: testModel, Vec: unitVec(3, 512),
		Quality: 0.9, Source: "camera"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("template of an unknown person: %v", err)
	}

	nt, np, err := s.DeleteBiometrics(ctx, "supervisor", "P-1")
	must(t, err)
	if nt != 1 || np != 1 {
		t.Errorf("deleted %d templates and %d photos, want 1 and 1", nt, np)
	}
	got, err := s.Templates(ctx, testModel, SystemActor)
	must(t, err)
	if len(got) != 0 {
		t.Errorf("%d templates left after deletion", len(got))
	}
	if _, err := s.Photo(ctx, "supervisor", photo); !errors.Is(err, ErrNotFound) {
		t.Errorf("photo after deletion: %v", err)
	}
	if _, err := s.Person(ctx, "P-1"); err != nil {
		t.Errorf("profile gone with its biometrics: %v", err)
	}
}
