package store

import (
	"context"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
)

// searchSite stores sightings on both cameras, of persons and unknown
// faces, some ending in the same millisecond, and returns their ids
// newest first.
func searchSite(t *testing.T) (*Store, []Sighting) {
	t.Helper()
	ctx := context.Background()
	s, _, _ := openSite(t)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	var all []Sighting
	for i, c := range []struct {
		camera, person string
		end            time.Duration
	}{
		{"cam-1", "P-1", 1 * time.Minute},
		{"cam-2", "", 2 * time.Minute},
		{"cam-1", "", 3 * time.Minute},
		{"cam-2", "P-2", 3 * time.Minute}, // same end as the one before
		{"cam-1", "P-1", 3 * time.Minute},
		{"cam-1", "P-2", 5 * time.Minute},
		{"cam-2", "P-1", 6 * time.Minute},
	} {
		sg := sightingN(i+1, c.person)
		sg.CameraID = c.camera
		sg.FirstSeen, sg.LastSeen = t0.Add(c.end-time.Second), t0.Add(c.end)
		_, err := s.RecordSighting(ctx, sg, nil)
		must(t, err)
		all = append(all, sg)
	}
	slices.SortFunc(all, func(a, b Sighting) int {
		if c := b.LastSeen.Compare(a.LastSeen); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	return s, all
}

func shortIDs(sgs []Sighting) string {
	var out []string
	for _, sg := range sgs {
		out = append(out, sg.ID[len(sg.ID)-1:])
	}
	return strings.Join(out, " ")
}

func TestSightingsSearch(t *testing.T) {
	ctx := context.Background()
	s, all := searchSite(t)
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	if got := shortIDs(all); got != "7 6 5 4 3 2 1" {
		t.Fatalf("test data in order %q", got)
	}
	for _, tc := range []struct {
		name string
		q    SightingQuery
		want string
	}{
		{"all", SightingQuery{}, "7 6 5 4 3 2 1"},
		{"person", SightingQuery{PersonID: "P-1"}, "7 5 1"},
		{"camera", SightingQuery{CameraID: "cam-2"}, "7 4 2"},
		{"zone", SightingQuery{ZoneID: "Z-YARD"}, "6 5 3 1"},
		{"unknown", SightingQuery{UnknownOnly: true}, "3 2"},
		{"unknown in a zone", SightingQuery{UnknownOnly: true, ZoneID: "Z-STAFF"}, "2"},
		{"person on a camera", SightingQuery{PersonID: "P-1", CameraID: "cam-1"}, "5 1"},
		{"from", SightingQuery{From: t0.Add(3 * time.Minute)}, "7 6 5 4 3"},
		{"to", SightingQuery{To: t0.Add(3 * time.Minute)}, "2 1"},
		{"from to", SightingQuery{From: t0.Add(2 * time.Minute), To: t0.Add(5 * time.Minute)}, "5 4 3 2"},
		{"limit", SightingQuery{Limit: 3}, "7 6 5"},
		{"unknown person", SightingQuery{PersonID: "P-404"}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			page, _, err := s.Sightings(ctx, tc.q)
			must(t, err)
			if got := shortIDs(page); got != tc.want {
				t.Errorf("sightings %q, want %q", got, tc.want)
			}
		})
	}

	// Pages of two, through ties in LastSeen, add up to the whole list,
	// and the last page has no next cursor.
	for _, limit := range []int{1, 2, 3, 7} {
		var got []Sighting
		q := SightingQuery{Limit: limit}
		for pages := 0; ; pages++ {
			if pages > len(all) {
				t.Fatalf("limit %d: more pages than sightings", limit)
			}
			page, next, err := s.Sightings(ctx, q)
			must(t, err)
			got = append(got, page...)
			if next == "" {
				break
			}
			q.Before = next
		}
		if shortIDs(got) != shortIDs(all) {
			t.Errorf("limit %d: pages give %q, want %q", limit, shortIDs(got), shortIDs(all))
		}
	}

	page, _, err := s.Sightings(ctx, SightingQuery{CameraID: "cam-2", Limit: 1})
	must(t, err)
	want := all[0]
	want.ZoneID, want.PersonName, want.HasCrop, want.RecordedAt = "Z-STAFF", "Person 1", false, page[0].RecordedAt
	if len(page) != 1 || !sameSighting(page[0], want) {
		t.Errorf("sighting read back as %+v, want %+v", page[0], want)
	}
	one, err := s.Sighting(ctx, all[0].ID)
	must(t, err)
	if one.ZoneID != "Z-STAFF" {
		t.Errorf("Sighting: zone %q", one.ZoneID)
	}
}

func sameSighting(a, b Sighting) bool {
	return a.ID == b.ID && a.CameraID == b.CameraID && a.ZoneID == b.ZoneID && a.TrackID == b.TrackID &&
		a.PersonID == b.PersonID && a.PersonName == b.PersonName && a.Model == b.Model && a.Score == b.Score && a.Margin == b.Margin &&
		a.Quality == b.Quality && a.Frames == b.Frames && a.FirstSeen.Equal(b.FirstSeen) &&
		a.LastSeen.Equal(b.LastSeen) && a.HasCrop == b.HasCrop
}

// The searches read an index in the order they return, rather than
// sorting the whole table. (A family of audit actions, a range of the
// index, is sorted: it is a part of the log.)
func TestSearchPlans(t *testing.T) {
	s, _, _ := openSite(t)
	for _, tc := range []struct {
		name, sql string
		args      []any
	}{
		{"sightings", sightingFrom + ` ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT 10`, nil},
		{"sightings of a camera", sightingFrom + ` WHERE s.camera_id = ? ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT 10`, []any{"cam-1"}},
		{"sightings of a person", sightingFrom + ` WHERE s.person_id = ? ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT 10`, []any{"P-1"}},
		{"unknown faces", sightingFrom + ` WHERE s.person_id IS NULL ORDER BY s.last_seen_ms DESC, s.id DESC LIMIT 10`, nil},
		{"alerts", alertFrom + ` ORDER BY a.created_at_ms DESC, a.id DESC LIMIT 10`, nil},
		{"alerts in a state", alertFrom + ` WHERE a.state = ? ORDER BY a.created_at_ms DESC, a.id DESC LIMIT 10`, []any{"open"}},
		{"audit by actor", `SELECT seq FROM audit_log WHERE actor = ? AND seq > ? ORDER BY seq LIMIT 10`, []any{"a", 0}},
		{"audit by action", `SELECT seq FROM audit_log WHERE action = ? AND seq > ? ORDER BY seq LIMIT 10`, []any{"a.b", 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := s.r.Query(`EXPLAIN QUERY PLAN `+tc.sql, tc.args...)
			must(t, err)
			defer rows.Close()
			var plan []string
			for rows.Next() {
				var id, parent, unused int
				var detail string
				must(t, rows.Scan(&id, &parent, &unused, &detail))
				plan = append(plan, detail)
			}
			must(t, rows.Err())
			text := strings.Join(plan, "; ")
			if strings.Contains(text, "TEMP B-TREE") || (strings.Contains(text, "SCAN") && !strings.Contains(text, "INDEX")) {
				t.Errorf("plan sorts or scans a table: %s", text)
			}
		})
	}
}

func TestQueryAudit(t *testing.T) {
	ctx := context.Background()
	clock := &testClock{t: time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)}
	s, err := Open(t.TempDir()+"/f.db", Options{SQLite: lib, Region: testRegion, Site: testSite, KeyFile: newKeyFile(t), Now: clock.now})
	must(t, err)
	defer s.Close()
	for _, e := range []struct{ actor, action, object string }{
		{"anna", "alert.ack", "alert:1"},
		{"anna", "alert.decide", "alert:1"},
		{"boris", "alerting.test", "alert:2"},
		{"boris", "photo.read", "person:P-1"},
		{"anna", "photo.read", "person:P-10"},
		{"anna", "person.put", "person:P-1"},
		{"boris", "alert", "persons:P-1,P-2"},
	} {
		clock.t = clock.t.Add(time.Minute)
		must(t, s.Audit(ctx, e.actor, e.action, e.object, "{}"))
	}
	seqs := func(es []AuditEntry) []uint64 {
		out := []uint64{}
		for _, e := range es {
			out = append(out, e.Seq)
		}
		return out
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		q    AuditQuery
		want []uint64
	}{
		{"all", AuditQuery{}, []uint64{1, 2, 3, 4, 5, 6, 7}},
		{"actor", AuditQuery{Actor: "boris"}, []uint64{3, 4, 7}},
		{"action", AuditQuery{Action: "photo.read"}, []uint64{4, 5}},
		{"action family", AuditQuery{Action: "alert."}, []uint64{1, 2}},
		{"action without family", AuditQuery{Action: "alert"}, []uint64{7}},
		{"object", AuditQuery{Object: "person:P-1"}, []uint64{4, 6}},
		{"object kind", AuditQuery{Object: "person:"}, []uint64{4, 5, 6}},
		{"actor and family", AuditQuery{Actor: "anna", Action: "photo."}, []uint64{5}},
		{"from", AuditQuery{From: t0.Add(6 * time.Minute)}, []uint64{6, 7}},
		{"to", AuditQuery{To: t0.Add(2 * time.Minute)}, []uint64{1}},
		{"after and limit", AuditQuery{AfterSeq: 2, Limit: 3}, []uint64{3, 4, 5}},
		{"after the end", AuditQuery{AfterSeq: 7}, []uint64{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := s.QueryAudit(ctx, tc.q)
			must(t, err)
			if !slices.Equal(seqs(got), tc.want) {
				t.Errorf("entries %v, want %v", seqs(got), tc.want)
			}
		})
	}
	// What a page returns is what the chain check needs.
	page, err := s.QueryAudit(ctx, AuditQuery{AfterSeq: 3, Limit: 2})
	must(t, err)
	all, err := s.AuditEntries(ctx, 3, 2)
	must(t, err)
	if len(page) != 2 || page[0] != all[0] || page[1] != all[1] || page[1].PrevHash != page[0].Hash {
		t.Errorf("page %+v, want %+v", page, all)
	}
}

// Every new method refuses bad input with an *InvalidError naming the
// field (or ErrNotFound for a missing row) and writes nothing.
func TestMonitorValidation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	alert := recordAlertN(t, s, 1, "P-1", time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC))
	must(t, s.PutUser(ctx, "root", User{Name: "anna", Role: RoleGuard, Lang: "ru", PasswordHash: testHash}))
	user := func(edit func(*User)) func() error {
		return func() error {
			u := User{Name: "boris", Role: RoleGuard, Lang: "en", PasswordHash: testHash}
			edit(&u)
			return s.PutUser(ctx, "root", u)
		}
	}
	region := func(pts ...Point) func() error {
		return func() error { return s.SetCameraRegion(ctx, "installer", "cam-1", pts) }
	}
	square := []Point{{0, 0}, {1, 0}, {1, 1}}
	sightings := func(q SightingQuery) func() error {
		return func() error { _, _, err := s.Sightings(ctx, q); return err }
	}
	audit := func(q AuditQuery) func() error {
		return func() error { _, err := s.QueryAudit(ctx, q); return err }
	}
	alerts := func(q AlertQuery) func() error {
		return func() error { _, err := s.Alerts(ctx, q); return err }
	}
	t0 := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	nan := math.NaN()
	cases := []struct {
		name  string
		call  func() error
		want  error
		field string
	}{
		{"user: empty name", user(func(u *User) { u.Name = "" }), ErrInvalid, "name"},
		{"user: name with a space", user(func(u *User) { u.Name = "boris k" }), ErrInvalid, "name"},
		{"user: name too long", user(func(u *User) { u.Name = strings.Repeat("b", MaxIDBytes+1) }), ErrInvalid, "name"},
		{"user: no role", user(func(u *User) { u.Role = "" }), ErrInvalid, "role"},
		{"user: unknown role", user(func(u *User) { u.Role = "root" }), ErrInvalid, "role"},
		{"user: no language", user(func(u *User) { u.Lang = "" }), ErrInvalid, "lang"},
		{"user: unknown language", user(func(u *User) { u.Lang = "de" }), ErrInvalid, "lang"},
		{"user: no hash", user(func(u *User) { u.PasswordHash = "" }), ErrInvalid, "password hash"},
		{"user: a password, not a hash", user(func(u *User) { u.PasswordHash = "secret" }), ErrInvalid, "password hash"},
		{"user: bcrypt hash", user(func(u *User) { u.PasswordHash = "$2a$10$abcdefghijklmnopqrstuv" }), ErrInvalid, "password hash"},
		{"user: hash too long", user(func(u *User) { u.PasswordHash = testHash + strings.Repeat("A", maxHashBytes) }), ErrInvalid, "password hash"},
		{"user: hash with a space", user(func(u *User) { u.PasswordHash = testHash + " x" }), ErrInvalid, "password hash"},
		{"user: no actor", func() error {
			return s.PutUser(ctx, "", User{Name: "b", Role: RoleGuard, Lang: "en", PasswordHash: testHash})
		}, ErrInvalid, "actor"},
		{"delete user: unknown", func() error { return s.DeleteUser(ctx, "root", "nobody") }, ErrNotFound, "user"},
		{"delete user: bad name", func() error { return s.DeleteUser(ctx, "root", "a b") }, ErrInvalid, "name"},

		{"ack: no actor", func() error { _, err := s.AcknowledgeAlert(ctx, "", alert); return err }, ErrInvalid, "actor"},
		{"ack: not a UUID", func() error { _, err := s.AcknowledgeAlert(ctx, "anna", "alert-1"); return err }, ErrInvalid, "alert"},
		{"ack: unknown alert", func() error { _, err := s.AcknowledgeAlert(ctx, "anna", uuidN(404)); return err }, ErrNotFound, "alert"},
		{"decide: not acknowledged", func() error {
			_, err := s.DecideAlert(ctx, decision(alert, "anna", AlertConfirmed), msg("t"))
			return err
		}, ErrNotAcknowledged, "acknowledge"},
		{"alerts: unknown state", alerts(AlertQuery{State: "all"}), ErrInvalid, "state"},
		{"alerts: negative limit", alerts(AlertQuery{Limit: -1}), ErrInvalid, "limit"},
		{"alerts: limit too large", alerts(AlertQuery{Limit: MaxBatch + 1}), ErrInvalid, "limit"},

		{"sightings: bad cursor", sightings(SightingQuery{Before: "not a cursor"}), ErrInvalid, "before"},
		{"sightings: forged cursor", sightings(SightingQuery{Before: sightingCursor{1, "x"}.encode()}), ErrInvalid, "before"},
		{"sightings: person and unknown", sightings(SightingQuery{PersonID: "P-1", UnknownOnly: true}), ErrInvalid, "unknown only"},
		{"sightings: bad camera", sightings(SightingQuery{CameraID: "cam 1"}), ErrInvalid, "camera"},
		{"sightings: bad zone", sightings(SightingQuery{ZoneID: "\x00"}), ErrInvalid, "zone"},
		{"sightings: to before from", sightings(SightingQuery{From: t0, To: t0}), ErrInvalid, "to"},
		{"sightings: from out of range", sightings(SightingQuery{From: time.Unix(0, 0)}), ErrInvalid, "from"},
		{"sightings: limit too large", sightings(SightingQuery{Limit: MaxBatch + 1}), ErrInvalid, "limit"},

		{"audit: bad actor", audit(AuditQuery{Actor: "a b"}), ErrInvalid, "actor"},
		{"audit: bad action", audit(AuditQuery{Action: "alert ack"}), ErrInvalid, "action"},
		{"audit: bad object", audit(AuditQuery{Object: "person:\x01"}), ErrInvalid, "object"},
		{"audit: to before from", audit(AuditQuery{From: t0.Add(time.Hour), To: t0}), ErrInvalid, "to"},
		{"audit: negative limit", audit(AuditQuery{Limit: -5}), ErrInvalid, "limit"},

		{"template infos: no person", func() error { _, err := s.TemplateInfos(ctx, ""); return err }, ErrInvalid, "person"},

		{"remove person: unknown", func() error { _, err := s.RemovePerson(ctx, "supervisor", "P-404"); return err }, ErrNotFound, "person"},
		{"remove person: no actor", func() error { _, err := s.RemovePerson(ctx, "", "P-1"); return err }, ErrInvalid, "actor"},
		{"remove person: bad id", func() error { _, err := s.RemovePerson(ctx, "supervisor", "P 1"); return err }, ErrInvalid, "person"},

		{"region: two points", region(square[:2]...), ErrInvalid, "points"},
		{"region: too many points", region(slices.Repeat(square, 11)...), ErrInvalid, "points"},
		{"region: x below 0", region(Point{-0.1, 0}, Point{1, 0}, Point{1, 1}), ErrInvalid, "points[0]"},
		{"region: y above 1", region(Point{0, 0}, Point{1, 0}, Point{1, 1.01}), ErrInvalid, "points[2]"},
		{"region: NaN", region(Point{0, 0}, Point{nan, 0}, Point{1, 1}), ErrInvalid, "points[1]"},
		{"region: unknown camera", func() error { return s.SetCameraRegion(ctx, "installer", "cam-404", square) }, ErrNotFound, "camera"},
		{"region: no actor", func() error { return s.SetCameraRegion(ctx, "", "cam-1", square) }, ErrInvalid, "actor"},

		{"delete rule: unknown", func() error { return s.DeleteRule(ctx, "supervisor", "R-404") }, ErrNotFound, "rule"},
		{"delete rule: no id", func() error { return s.DeleteRule(ctx, "supervisor", "") }, ErrInvalid, "id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lastSeq, _ := s.LastSeq(ctx)
			auditN := count(t, s, `SELECT count(*) FROM audit_log`)
			err := tc.call()
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			var ie *InvalidError
			if errors.Is(tc.want, ErrInvalid) && (!errors.As(err, &ie) || ie.Field != tc.field) {
				t.Errorf("error %v should name field %q", err, tc.field)
			}
			if !strings.Contains(err.Error(), tc.field) {
				t.Errorf("error %q does not mention %q", err, tc.field)
			}
			if got, _ := s.LastSeq(ctx); got != lastSeq {
				t.Errorf("sequence advanced from %d to %d", lastSeq, got)
			}
			if got := count(t, s, `SELECT count(*) FROM audit_log`); got != auditN {
				t.Errorf("%d audit entries written", got-auditN)
			}
		})
	}
	if got := count(t, s, `SELECT count(*) FROM users`); got != 1 {
		t.Errorf("%d users stored", got)
	}
	if got := count(t, s, `SELECT count(*) FROM cameras WHERE region IS NOT NULL`); got != 0 {
		t.Errorf("%d regions stored", got)
	}
}
