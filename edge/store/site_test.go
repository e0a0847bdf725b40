package store

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

func TestPersonsAndOrders(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	p := Person{ID: "P-1", DisplayName: "Иван Петров", Facility: "F-09", Status: StatusInTransit,
		Categories: []string{"strict", "a", "strict"}, WatchLists: []string{"w2", "w1"}}
	must(t, s.PutPerson(ctx, "supervisor", p))
	got, err := s.Person(ctx, "P-1")
	must(t, err)
	if got.DisplayName != p.DisplayName || got.Status != StatusInTransit || got.Facility != "F-09" ||
		!slices.Equal(got.Categories, []string{"a", "strict"}) || !slices.Equal(got.WatchLists, []string{"w1", "w2"}) {
		t.Errorf("person came back as %+v", got)
	}
	if !got.CreatedAt.Before(got.UpdatedAt) && !got.CreatedAt.Equal(got.UpdatedAt) {
		t.Errorf("created %v after updated %v", got.CreatedAt, got.UpdatedAt)
	}
	all, err := s.Persons(ctx)
	must(t, err)
	if len(all) != 3 || all[0].ID != "P-1" || !slices.Equal(all[1].WatchLists, []string{"escape-risk"}) {
		t.Errorf("persons %+v", all)
	}
	if _, err := s.Person(ctx, "P-404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown person: %v", err)
	}

	id, err := s.AddPermit(ctx, "supervisor", Permit{PersonID: "P-2", ZoneID: "Z-YARD", Window: "Mon-Fri  08:00-17:00"})
	must(t, err)
	// Another spelling of the same window is the same permit.
	if _, err := s.AddPermit(ctx, "supervisor", Permit{PersonID: "P-2", ZoneID: "Z-YARD", Window: "mon,tue,wed-fri 08:00-17:00"}); !errors.Is(err, ErrExists) {
		t.Errorf("duplicate permit: %v", err)
	}
	night, err := s.AddPermit(ctx, "supervisor", Permit{PersonID: "P-2", ZoneID: "Z-STAFF", Window: "22:00-06:00"})
	must(t, err)
	permits, err := s.Permits(ctx, "P-2")
	must(t, err)
	want := []Permit{
		{ID: id, PersonID: "P-2", ZoneID: "Z-YARD", Window: "mon-fri 08:00-17:00"},
		{ID: night, PersonID: "P-2", ZoneID: "Z-STAFF", Window: "daily 22:00-06:00"},
	}
	if !reflect.DeepEqual(permits, want) {
		t.Errorf("permits %+v, want %+v", permits, want)
	}
	// What the store returns is what the rules engine reads.
	for _, p := range permits {
		w, err := custody.ParseWindow(p.Window)
		if err != nil || w.Canonical() != p.Window {
			t.Errorf("stored window %q: %v", p.Window, err)
		}
	}
	must(t, s.RemovePermit(ctx, "supervisor", night))
	must(t, s.RemovePermit(ctx, "supervisor", id))
	if err := s.RemovePermit(ctx, "supervisor", id); !errors.Is(err, ErrNotFound) {
		t.Errorf("removing twice: %v", err)
	}

	must(t, s.PutKeepApart(ctx, "supervisor", KeepApart{A: "P-3", B: "P-1", Reason: "assault, case 17"}))
	ka, err := s.KeepAparts(ctx)
	must(t, err)
	if len(ka) != 1 || ka[0].A != "P-1" || ka[0].B != "P-3" || ka[0].CreatedBy != "supervisor" {
		t.Errorf("keep-apart orders %+v", ka)
	}
	if err := s.PutKeepApart(ctx, "supervisor", KeepApart{A: "P-1", B: "P-404", Reason: "x"}); !errors.Is(err, ErrNotFound) {
		t.Errorf("order against an unknown person: %v", err)
	}
	must(t, s.RemoveKeepApart(ctx, "supervisor", "P-1", "P-3"))

	zones, err := s.Zones(ctx)
	must(t, err)
	cams, err := s.Cameras(ctx)
	must(t, err)
	rs, err := s.Rules(ctx)
	must(t, err)
	if len(zones) != 2 || len(cams) != 2 || len(rs) != 1 || rs[0].Cooldown != time.Minute ||
		string(rs[0].Params) != `{"watch_list":"escape-risk"}` || !rs[0].Enabled {
		t.Errorf("site: %+v %+v %+v", zones, cams, rs)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestAlertLifecycle(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	sg := sightingN(1, "P-1")
	first, err := s.RecordSighting(ctx, sg, msg("dozor/F-07/sightings"))
	must(t, err)
	seq, err := s.RecordAlert(ctx, Alert{ID: uuidN(100), RuleID: "R-WATCH", SightingID: sg.ID,
		Evidence: []byte(` { "list" : "escape-risk", "score": 0.71 } `)}, msg("dozor/F-07/alerts"))
	must(t, err)
	if seq != first+1 {
		t.Errorf("alert number %d after sighting %d", seq, first)
	}
	open, err := s.OpenAlerts(ctx, 10)
	must(t, err)
	if len(open) != 1 || open[0].Severity != custody.Critical || open[0].State != AlertOpen ||
		string(open[0].Evidence) != `{"list":"escape-risk","score":0.71}` || open[0].Decision != nil {
		t.Fatalf("open alerts %+v", open)
	}

	at := time.Date(2026, 3, 1, 8, 5, 0, 0, time.UTC)
	_, err = s.AcknowledgeAlert(ctx, "guard-7", uuidN(100))
	must(t, err)
	seq, err = s.DecideAlert(ctx, AlertDecision{AlertID: uuidN(100), Actor: "guard-7", Decision: AlertRejected,
		Note: "visitor, not the listed person", At: at}, msg("dozor/F-07/decisions"))
	must(t, err)
	// The acknowledgement's audit record comes next, then the decision's,
	// which is written in the same transaction as the decision.
	if seq != first+4 {
		t.Errorf("decision number %d after sighting %d", seq, first)
	}
	a, err := s.Alert(ctx, uuidN(100))
	must(t, err)
	want := &AlertDecision{AlertID: uuidN(100), Actor: "guard-7", Decision: AlertRejected, Note: "visitor, not the listed person", At: at}
	if a.State != AlertRejected || !reflect.DeepEqual(a.Decision, want) {
		t.Errorf("decided alert %+v %+v", a, a.Decision)
	}
	if _, err := s.DecideAlert(ctx, AlertDecision{AlertID: uuidN(100), Actor: "guard-8", Decision: AlertConfirmed,
		Note: "second look"}, msg("dozor/F-07/decisions")); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("second decision: %v", err)
	}
	if open, _ := s.OpenAlerts(ctx, 10); len(open) != 0 {
		t.Errorf("%d alerts still open", len(open))
	}
	entries, err := s.AuditEntries(ctx, 0, 100)
	must(t, err)
	last := entries[len(entries)-1]
	var detail map[string]string
	must(t, json.Unmarshal([]byte(last.Detail), &detail))
	if last.Action != "alert.decide" || last.Actor != "guard-7" || last.Object != "alert:"+uuidN(100) || detail["decision"] != "rejected" {
		t.Errorf("last audit entry %+v", last)
	}
	checkGapFree(t, s, int(seq))
}

// FuzzRuleParams checks the store's side of rule params: a rejection by
// custody.ParseParams comes back as an *InvalidError naming a field, and
// accepted params are stored in a form that validates again to the same
// bytes.
func FuzzRuleParams(f *testing.F) {
	for _, seed := range []struct{ kind, raw string }{
		{"watch_list", `{"watch_list":"escape-risk"}`},
		{"watch_list", ` {} `},
		{"keep_apart", `{"within":"1m30s"}`},
		{"keep_apart", `{"within":"0s"}`},
		{"outside_permit", `{}`},
		{"unknown_in_staff_zone", `{"watch_list":"violent"}`},
		{"zone", `{"grace_seconds":300}`},
		{"keep_apart", `null`},
		{"keep_apart", `{"within":"1m"}{}`},
	} {
		f.Add(seed.kind, []byte(seed.raw))
	}
	f.Fuzz(func(t *testing.T, kind string, raw []byte) {
		r := Rule{ID: "R-1", Kind: custody.Kind(kind), Name: "Rule", Params: raw, Severity: custody.Warning}
		canon, err := r.validate()
		if err != nil {
			var ie *InvalidError
			if !errors.As(err, &ie) || ie.Field == "" {
				t.Fatalf("error %v is not an *InvalidError naming a field", err)
			}
			return
		}
		r.Params = canon
		again, err := r.validate()
		if err != nil || string(again) != string(canon) {
			t.Fatalf("stored form %s validates as %s, %v", canon, again, err)
		}
	})
}
