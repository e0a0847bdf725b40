package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

func TestRemovePerson(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	photo, err := s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 1, 0), "booking photo")
	must(t, err)
	_, err = s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 2, 0), "booking photo")
	must(t, err)
	_, err = s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: unitVec(1, 64), Quality: 0.9,
		Source: "booking photo", PhotoID: photo})
	must(t, err)
	keep, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-2", Model: testModel, Vec: unitVec(2, 64), Quality: 0.8, Source: "camera"})
	must(t, err)
	_, err = s.AddPermit(ctx, "supervisor", Permit{PersonID: "P-1", ZoneID: "Z-YARD", Window: "mon-fri 08:00-17:00"})
	must(t, err)
	must(t, s.PutKeepApart(ctx, "supervisor", KeepApart{A: "P-1", B: "P-2", Reason: "case 17"}))
	must(t, s.PutKeepApart(ctx, "supervisor", KeepApart{A: "P-2", B: "P-3", Reason: "case 18"}))
	// Two sightings with crops (one announced with its crop), one
	// without, and one of another person.
	for i, c := range []struct {
		person string
		crop   bool
	}{{"P-1", true}, {"P-1", true}, {"P-1", false}, {"P-2", true}} {
		sg := sightingN(i+1, c.person)
		var compose Compose
		if c.crop {
			sg.Crop = testJPEG(t, uint64(10+i), 0)
			id := sg.ID
			compose = func(uint64) (OutboxMessage, error) {
				return OutboxMessage{Topic: "dozor/v1/north/ik5/sighting", Payload: []byte(`{"crop":"..."}`), CropOf: id}, nil
			}
		}
		_, err := s.RecordSighting(ctx, sg, compose)
		must(t, err)
	}
	alert := recordAlertN(t, s, 9, "P-1", time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))

	removed, err := s.RemovePerson(ctx, "supervisor", "P-1")
	must(t, err)
	if want := (Removed{Templates: 1, Photos: 2, Crops: 2, Permits: 1, KeepAparts: 1}); removed != want {
		t.Errorf("removed %+v, want %+v", removed, want)
	}
	if _, err := s.Person(ctx, "P-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removed person: %v", err)
	}
	if _, err := s.RemovePerson(ctx, "supervisor", "P-1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM face_templates WHERE person_id = 'P-1'`:                            0,
		`SELECT count(*) FROM enrolment_photos WHERE person_id = 'P-1'`:                          0,
		`SELECT count(*) FROM person_permits WHERE person_id = 'P-1'`:                            0,
		`SELECT count(*) FROM person_categories WHERE person_id = 'P-1'`:                         0,
		`SELECT count(*) FROM person_watchlists WHERE person_id = 'P-1'`:                         0,
		`SELECT count(*) FROM keep_apart`:                                                        1,
		`SELECT count(*) FROM sightings WHERE person_id = 'P-1'`:                                 4, // 1, 2, 3 and the alert's 9
		`SELECT count(*) FROM sightings WHERE best_crop IS NOT NULL`:                             1,
		`SELECT count(*) FROM face_templates`:                                                    1,
		`SELECT count(*) FROM outbox WHERE crop_of IS NOT NULL AND sent_at_ms IS NULL`:           3,
		`SELECT count(*) FROM audit_log WHERE action = 'person.remove' AND actor = 'supervisor'`: 1,
	} {
		if got := count(t, s, q); got != want {
			t.Errorf("%s: %d, want %d", q, got, want)
		}
	}
	// The sightings stay as history, without their crops.
	sg, err := s.Sighting(ctx, uuidN(1))
	must(t, err)
	if sg.PersonID != "P-1" || sg.PersonName != "" || sg.HasCrop {
		t.Errorf("sighting of the removed person %+v", sg)
	}
	if _, err := s.Crop(ctx, "guard-7", uuidN(1)); !errors.Is(err, ErrNotFound) {
		t.Errorf("crop of the removed person: %v", err)
	}
	if _, err := s.Crop(ctx, "guard-7", uuidN(4)); err != nil {
		t.Errorf("another person's crop: %v", err)
	}
	if a, err := s.Alert(ctx, alert); err != nil || a.SightingID != uuidN(9) {
		t.Errorf("alert on the removed person: %+v %v", a, err)
	}
	page, _, err := s.Sightings(ctx, SightingQuery{PersonID: "P-1"})
	must(t, err)
	if len(page) != 4 {
		t.Errorf("%d sightings of the removed person found, want 4", len(page))
	}
	if ts, err := s.Templates(ctx, testModel, SystemActor); err != nil || len(ts) != 1 || ts[0].ID != keep {
		t.Errorf("gallery after the removal: %v %v", ts, err)
	}
	entries, err := s.QueryAudit(ctx, AuditQuery{Action: "person.remove"})
	must(t, err)
	var detail map[string]int64
	must(t, json.Unmarshal([]byte(entries[0].Detail), &detail))
	if want := map[string]int64{"templates": 1, "photos": 2, "crops": 2, "permits": 1, "keep_aparts": 1}; !reflect.DeepEqual(detail, want) ||
		entries[0].Object != "person:P-1" {
		t.Errorf("audit entry %+v", entries[0])
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
	if got := count(t, s, `SELECT count(*) FROM pragma_foreign_key_check`); got != 0 {
		t.Errorf("%d foreign key violations", got)
	}
	// The person may be enrolled again under the same id.
	must(t, s.PutPerson(ctx, "supervisor", Person{ID: "P-1", DisplayName: "Again", Facility: "F-07", Status: StatusActive}))
}

func TestTemplateInfos(t *testing.T) {
	ctx := context.Background()
	s, path, _ := openSite(t)
	photo, err := s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 1, 0), "booking photo")
	must(t, err)
	first, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: unitVec(1, 64), Quality: 0.75,
		Source: "booking photo", PhotoID: photo})
	must(t, err)
	second, err := s.AddTemplate(ctx, "enroller", NewTemplate{PersonID: "P-1", Model: "other-model", Vec: unitVec(2, 32), Quality: 0.5, Source: "camera"})
	must(t, err)
	audit := count(t, s, `SELECT count(*) FROM audit_log`)
	infos, err := s.TemplateInfos(ctx, "P-1")
	must(t, err)
	if len(infos) != 2 {
		t.Fatalf("infos %+v", infos)
	}
	a, b := infos[0], infos[1]
	if a.ID == second {
		a, b = b, a
	}
	if a.ID != first || a.PersonID != "P-1" || a.Model != testModel || a.Dim != 64 || a.Quality != 0.75 ||
		a.Source != "booking photo" || a.PhotoID != photo || a.EnrolledBy != "supervisor" || a.EnrolledAt.IsZero() {
		t.Errorf("first template %+v", a)
	}
	if b.ID != second || b.Model != "other-model" || b.Dim != 32 || b.PhotoID != "" || b.EnrolledBy != "enroller" {
		t.Errorf("second template %+v", b)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log`); got != audit {
		t.Errorf("listing templates wrote %d audit entries", got-audit)
	}
	if none, err := s.TemplateInfos(ctx, "P-404"); err != nil || len(none) != 0 {
		t.Errorf("unknown person: %v %v", none, err)
	}
	s.Close()
	ro, err := Open(path, Options{SQLite: lib, NoKey: true})
	must(t, err)
	defer ro.Close()
	if infos, err := ro.TemplateInfos(ctx, "P-1"); err != nil || len(infos) != 2 {
		t.Errorf("no-key listing: %v %v", infos, err)
	}
}

func TestCameraRegion(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	region := []Point{{0.1, 0.2}, {0.9, 0.2}, {0.9, 1}, {0, 1}}
	must(t, s.SetCameraRegion(ctx, "installer", "cam-1", region))
	// The daemon puts its cameras at every start: the region stays.
	must(t, s.PutCamera(ctx, SystemActor, Camera{ID: "cam-1", Name: "Yard north gate", ZoneID: "Z-YARD"}))
	cams, err := s.Cameras(ctx)
	must(t, err)
	if cams[0].ID != "cam-1" || cams[0].Name != "Yard north gate" || !reflect.DeepEqual(cams[0].Region, region) || cams[1].Region != nil {
		t.Errorf("cameras %+v", cams)
	}
	entries, err := s.QueryAudit(ctx, AuditQuery{Action: "camera.region"})
	must(t, err)
	if len(entries) != 1 || entries[0].Actor != "installer" || entries[0].Object != "camera:cam-1" ||
		entries[0].Detail != `{"points":4,"region":[[0.1,0.2],[0.9,0.2],[0.9,1],[0,1]]}` {
		t.Errorf("audit entries %+v", entries)
	}
	must(t, s.SetCameraRegion(ctx, "supervisor", "cam-1", nil))
	cams, err = s.Cameras(ctx)
	must(t, err)
	if cams[0].Region != nil {
		t.Errorf("cleared region reads %v", cams[0].Region)
	}
}

func TestDeleteRule(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	alert := recordAlertN(t, s, 1, "P-1", time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	must(t, s.PutRule(ctx, "supervisor", Rule{ID: "R-APART", Kind: custody.KindKeepApart, Name: "Apart",
		Params: []byte(`{"within":"60s"}`), Severity: custody.Warning}))
	must(t, s.DeleteRule(ctx, "supervisor", "R-WATCH"))
	rules, err := s.Rules(ctx)
	must(t, err)
	if len(rules) != 1 || rules[0].ID != "R-APART" {
		t.Errorf("rules %+v", rules)
	}
	a, err := s.Alert(ctx, alert)
	must(t, err)
	if a.RuleID != "R-WATCH" || a.RuleName != "" {
		t.Errorf("alert of the deleted rule %+v", a)
	}
	if err := s.DeleteRule(ctx, "supervisor", "R-WATCH"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleting twice: %v", err)
	}
	entries, err := s.QueryAudit(ctx, AuditQuery{Action: "rule.delete"})
	must(t, err)
	if len(entries) != 1 || entries[0].Object != "rule:R-WATCH" || entries[0].Detail != `{"kind":"watch_list"}` {
		t.Errorf("audit entries %+v", entries)
	}
	// The alert can still be taken and decided.
	_, err = s.AcknowledgeAlert(ctx, "guard-7", alert)
	must(t, err)
	_, err = s.DecideAlert(ctx, decision(alert, "guard-7", AlertRejected), msg("t"))
	must(t, err)
}
