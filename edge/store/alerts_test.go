package store

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// recordAlertN stores sighting n of person and an open watch-list alert
// (id uuidN(1000+n)) on it, created at created.
func recordAlertN(t *testing.T, s *Store, n int, person string, created time.Time) string {
	t.Helper()
	ctx := context.Background()
	_, err := s.RecordSighting(ctx, sightingN(n, person), nil)
	must(t, err)
	id := uuidN(1000 + n)
	_, err = s.RecordAlert(ctx, Alert{ID: id, RuleID: "R-WATCH", SightingID: uuidN(n), Evidence: []byte(`{}`),
		CreatedAt: created}, nil)
	must(t, err)
	return id
}

func decision(id, actor string, v AlertState) AlertDecision {
	return AlertDecision{AlertID: id, Actor: actor, Decision: v, Note: "checked on camera"}
}

func TestAcknowledgeAlert(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	id := recordAlertN(t, s, 1, "P-1", t0)
	other := recordAlertN(t, s, 2, "P-2", t0)

	// Nobody has taken it yet: it cannot be decided.
	if _, err := s.DecideAlert(ctx, decision(id, "guard-7", AlertConfirmed), msg("t")); !errors.Is(err, ErrNotAcknowledged) {
		t.Fatalf("decision before acknowledgement: %v", err)
	}
	a, err := s.AcknowledgeAlert(ctx, "guard-7", id)
	must(t, err)
	if a.AckBy != "guard-7" || a.AckAt.IsZero() || a.State != AlertOpen || a.RuleName != "Escape risk" || a.ID != id {
		t.Fatalf("acknowledged alert %+v", a)
	}
	audit := count(t, s, `SELECT count(*) FROM audit_log`)
	again, err := s.AcknowledgeAlert(ctx, "guard-7", id)
	must(t, err)
	if again.AckBy != a.AckBy || !again.AckAt.Equal(a.AckAt) {
		t.Errorf("second acknowledgement changed the alert: %+v, was %+v", again, a)
	}
	if got := count(t, s, `SELECT count(*) FROM audit_log`); got != audit {
		t.Errorf("second acknowledgement by the same account wrote %d audit entries", got-audit)
	}
	_, err = s.AcknowledgeAlert(ctx, "guard-8", id)
	if !errors.Is(err, ErrAlreadyAcknowledged) || !strings.Contains(err.Error(), "guard-7") {
		t.Errorf("acknowledgement by another account: %v (should name guard-7)", err)
	}
	entries, err := s.QueryAudit(ctx, AuditQuery{Action: "alert.ack"})
	must(t, err)
	if len(entries) != 1 || entries[0].Actor != "guard-7" || entries[0].Object != "alert:"+id {
		t.Errorf("alert.ack entries %+v", entries)
	}

	// Whoever acknowledged it, a supervisor may decide it.
	_, err = s.DecideAlert(ctx, decision(id, "supervisor", AlertConfirmed), msg("t"))
	must(t, err)
	got, err := s.Alert(ctx, id)
	must(t, err)
	if got.State != AlertConfirmed || got.AckBy != "guard-7" || got.Decision == nil || got.Decision.Actor != "supervisor" ||
		got.Decision.Note != "checked on camera" {
		t.Errorf("decided alert %+v %+v", got, got.Decision)
	}
	if _, err := s.AcknowledgeAlert(ctx, "guard-7", id); !errors.Is(err, ErrAlreadyDecided) {
		t.Errorf("acknowledging a decided alert: %v", err)
	}
	if _, err := s.AcknowledgeAlert(ctx, "guard-7", uuidN(404)); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown alert: %v", err)
	}
	if a, err := s.Alert(ctx, other); err != nil || a.AckBy != "" || !a.AckAt.IsZero() {
		t.Errorf("the other alert: %+v %v", a, err)
	}
	if _, err := s.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

// Deciders racing on one alert through two stores on one file (two
// processes, as far as SQLite can tell): exactly one decision is stored.
func TestConcurrentDeciders(t *testing.T) {
	ctx := context.Background()
	s1, path, key := openSite(t)
	s2, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: key})
	must(t, err)
	defer s2.Close()
	id := recordAlertN(t, s1, 1, "P-1", time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	_, err = s1.AcknowledgeAlert(ctx, "guard-7", id)
	must(t, err)

	const n = 8
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		st := s1
		if i%2 == 1 {
			st = s2
		}
		verdict := AlertConfirmed
		if i%3 == 0 {
			verdict = AlertRejected
		}
		wg.Go(func() {
			<-start
			_, errs[i] = st.DecideAlert(ctx, decision(id, "guard-"+string(rune('a'+i)), verdict), msg("t"))
		})
	}
	close(start)
	wg.Wait()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, ErrAlreadyDecided):
			t.Errorf("decider %d: %v, want ErrAlreadyDecided", i, err)
		}
	}
	if won != 1 {
		t.Fatalf("%d deciders won, want exactly 1", won)
	}
	if got := count(t, s1, `SELECT count(*) FROM alert_decisions`); got != 1 {
		t.Errorf("%d decisions stored", got)
	}
	if got := count(t, s1, `SELECT count(*) FROM audit_log WHERE action = 'alert.decide'`); got != 1 {
		t.Errorf("%d decisions audited", got)
	}
	if _, err := s2.VerifyAudit(ctx); err != nil {
		t.Error(err)
	}
}

func TestAlertsQuery(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var ids []string
	for i := range 5 {
		ids = append(ids, recordAlertN(t, s, i+1, "P-1", t0.Add(time.Duration(i)*time.Minute)))
	}
	// Two alerts created in the same millisecond come by id.
	ids = append(ids, recordAlertN(t, s, 6, "P-2", t0.Add(4*time.Minute)))
	for _, i := range []int{1, 2} {
		_, err := s.AcknowledgeAlert(ctx, "guard-7", ids[i])
		must(t, err)
	}
	_, err := s.DecideAlert(ctx, decision(ids[1], "guard-7", AlertConfirmed), msg("t"))
	must(t, err)
	_, err = s.DecideAlert(ctx, decision(ids[2], "guard-7", AlertRejected), msg("t"))
	must(t, err)

	idsOf := func(as []Alert) string {
		var out []string
		for _, a := range as {
			out = append(out, a.ID[len(a.ID)-2:])
		}
		return strings.Join(out, " ")
	}
	for _, tc := range []struct {
		name string
		q    AlertQuery
		want string
	}{
		{"all", AlertQuery{}, "ee ed ec eb ea e9"},
		{"open", AlertQuery{State: AlertOpen}, "ee ed ec e9"},
		{"confirmed", AlertQuery{State: AlertConfirmed}, "ea"},
		{"rejected", AlertQuery{State: AlertRejected}, "eb"},
		{"limit", AlertQuery{Limit: 2}, "ee ed"},
		{"before", AlertQuery{Before: t0.Add(4 * time.Minute)}, "ec eb ea e9"},
		{"open before", AlertQuery{State: AlertOpen, Before: t0.Add(3 * time.Minute), Limit: 10}, "e9"},
		{"none", AlertQuery{Before: t0}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.Alerts(ctx, tc.q)
			must(t, err)
			if idsOf(got) != tc.want {
				t.Errorf("alerts %q, want %q", idsOf(got), tc.want)
			}
		})
	}
	got, err := s.Alerts(ctx, AlertQuery{State: AlertConfirmed})
	must(t, err)
	if got[0].AckBy != "guard-7" || got[0].Decision == nil || got[0].Decision.Decision != AlertConfirmed {
		t.Errorf("confirmed alert %+v", got[0])
	}
}

// Alerts and sightings stored by schema version 2 survive the move to 3
// with their decisions; afterwards a person with sightings and a rule with
// alerts can be removed.
func TestMigrationKeepsEvents(t *testing.T) {
	ctx := context.Background()
	keyPath := newKeyFile(t)
	key, err := LoadKeyFile(keyPath)
	must(t, err)
	migs, err := loadMigrations(migrationFS)
	must(t, err)
	path := filepath.Join(t.TempDir(), "facility.db")
	opt := Options{SQLite: lib, KeyFile: keyPath}.withDefaults()
	must(t, create(ctx, path, key, migs[:2], opt))
	rawExec(t, path,
		`INSERT INTO zones VALUES ('Z', 'Yard', 'yard', 1)`,
		`INSERT INTO cameras VALUES ('cam-1', 'Yard', 'Z', 1)`,
		`INSERT INTO persons VALUES ('P-1', 'One', 'F', 'active', 1, 1)`,
		`INSERT INTO rules VALUES ('R-1', 'watch_list', 'Watch', '{"watch_list":"w"}', 'critical', 0, 1, 1)`,
		`INSERT INTO sightings VALUES ('`+uuidN(1)+`', 'cam-1', 1, 'P-1', 'm', 0.9, 0.2, 0.8, 3, 1000, 2000, NULL, 2000)`,
		`INSERT INTO sightings VALUES ('`+uuidN(2)+`', 'cam-1', 2, NULL, 'm', 0.1, 0.0, 0.8, 3, 3000, 4000, NULL, 4000)`,
		`INSERT INTO alerts VALUES ('`+uuidN(10)+`', 'R-1', 'critical', '`+uuidN(1)+`', 'confirmed', '{"a":1}', 2500)`,
		`INSERT INTO alerts VALUES ('`+uuidN(11)+`', 'R-1', 'critical', '`+uuidN(1)+`', 'open', '{}', 2600)`,
		`INSERT INTO alert_decisions VALUES (7, '`+uuidN(10)+`', 'guard-1', 'confirmed', 'seen', 3000)`,
	)
	s, err := Open(path, Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: keyPath})
	must(t, err)
	defer s.Close()
	if got := count(t, s, `SELECT count(*) FROM pragma_foreign_key_check`); got != 0 {
		t.Errorf("%d foreign key violations after the migration", got)
	}
	a, err := s.Alert(ctx, uuidN(10))
	must(t, err)
	if a.State != AlertConfirmed || string(a.Evidence) != `{"a":1}` || a.RuleName != "Watch" || a.Decision == nil ||
		a.Decision.Actor != "guard-1" || a.Decision.Note != "seen" || a.AckBy != "" {
		t.Errorf("migrated alert %+v %+v", a, a.Decision)
	}
	page, _, err := s.Sightings(ctx, SightingQuery{})
	must(t, err)
	if len(page) != 2 || page[0].ID != uuidN(2) || page[1].PersonID != "P-1" || page[1].ZoneID != "Z" {
		t.Errorf("migrated sightings %+v", page)
	}
	if _, err := s.RemovePerson(ctx, "supervisor", "P-1"); err != nil {
		t.Fatalf("removing a person with sightings: %v", err)
	}
	must(t, s.DeleteRule(ctx, "supervisor", "R-1"))
	if sg, err := s.Sighting(ctx, uuidN(1)); err != nil || sg.PersonID != "P-1" {
		t.Errorf("sighting of the removed person: %+v %v", sg, err)
	}
	if a, err := s.Alert(ctx, uuidN(11)); err != nil || a.RuleID != "R-1" || a.RuleName != "" {
		t.Errorf("alert of the deleted rule: %+v %v", a, err)
	}
}
