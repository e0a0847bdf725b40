package store

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
)

// TestValidation feeds each write one bad field and checks the error names
// the field, wraps ErrInvalid (or ErrNotFound for a missing reference), and
// that nothing was written: no row, no audit entry, no sequence number.
func TestValidation(t *testing.T) {
	ctx := context.Background()
	s, _, _ := openSite(t)
	_, err := s.AddTemplate(ctx, "supervisor", NewTemplate{PersonID: "P-1", Model: testModel, Vec: unitVec(1, 512), Quality: 0.9, Source: "camera"})
	must(t, err)
	_, err = s.RecordSighting(ctx, sightingN(500, "P-1"), nil)
	must(t, err)
	_, err = s.RecordAlert(ctx, Alert{ID: uuidN(900), RuleID: "R-WATCH", SightingID: uuidN(500), Evidence: []byte(`{}`)}, nil)
	must(t, err)

	sighting := func(edit func(*Sighting)) func() error {
		return func() error {
			sg := sightingN(1, "P-1")
			edit(&sg)
			_, err := s.RecordSighting(ctx, sg, msg("dozor/F-07/sightings"))
			return err
		}
	}
	sightingWith := func(m OutboxMessage) func() error {
		return func() error {
			_, err := s.RecordSighting(ctx, sightingN(1, "P-1"), func(uint64) (OutboxMessage, error) { return m, nil })
			return err
		}
	}
	template := func(edit func(*NewTemplate)) func() error {
		return func() error {
			nt := NewTemplate{PersonID: "P-2", Model: testModel, Vec: unitVec(2, 512), Quality: 0.8, Source: "booking photo"}
			edit(&nt)
			_, err := s.AddTemplate(ctx, "supervisor", nt)
			return err
		}
	}
	person := func(edit func(*Person)) func() error {
		return func() error {
			p := Person{ID: "P-NEW", DisplayName: "New Person", Facility: "F-07", Status: StatusActive}
			edit(&p)
			return s.PutPerson(ctx, "supervisor", p)
		}
	}
	rule := func(edit func(*Rule)) func() error {
		return func() error {
			r := Rule{ID: "R-NEW", Kind: custody.KindKeepApart, Name: "Keep apart", Params: []byte(`{"within":"60s"}`), Severity: custody.Critical}
			edit(&r)
			return s.PutRule(ctx, "supervisor", r)
		}
	}
	alert := func(edit func(*Alert)) func() error {
		return func() error {
			a := Alert{ID: uuidN(901), RuleID: "R-WATCH", SightingID: uuidN(500), Evidence: []byte(`{"list":"escape-risk"}`)}
			edit(&a)
			_, err := s.RecordAlert(ctx, a, msg("dozor/F-07/alerts"))
			return err
		}
	}
	permit := func(window string) func() error {
		return func() error {
			_, err := s.AddPermit(ctx, "supervisor", Permit{PersonID: "P-1", ZoneID: "Z-YARD", Window: window})
			return err
		}
	}
	decide := func(edit func(*AlertDecision), out Compose) func() error {
		return func() error {
			d := AlertDecision{AlertID: uuidN(900), Actor: "guard-7", Decision: AlertConfirmed, Note: "the listed person"}
			edit(&d)
			_, err := s.DecideAlert(ctx, d, out)
			return err
		}
	}
	nan := float32(math.NaN())
	cases := []struct {
		name  string
		write func() error
		want  error
		field string
	}{
		{"sighting: empty id", sighting(func(sg *Sighting) { sg.ID = "" }), ErrInvalid, "id"},
		{"sighting: id not a UUID", sighting(func(sg *Sighting) { sg.ID = "sighting-1" }), ErrInvalid, "id"},
		{"sighting: upper-case UUID", sighting(func(sg *Sighting) { sg.ID = "0B4E7A52-3C7D-4F3E-9A51-2F0C1D9E8B7A" }), ErrInvalid, "id"},
		{"sighting: empty camera", sighting(func(sg *Sighting) { sg.CameraID = "" }), ErrInvalid, "camera"},
		{"sighting: camera with a space", sighting(func(sg *Sighting) { sg.CameraID = "cam 1" }), ErrInvalid, "camera"},
		{"sighting: unknown camera", sighting(func(sg *Sighting) { sg.CameraID = "cam-404" }), ErrNotFound, "camera"},
		{"sighting: unknown person", sighting(func(sg *Sighting) { sg.PersonID = "P-404" }), ErrNotFound, "person"},
		{"sighting: NaN score", sighting(func(sg *Sighting) { sg.Score = nan }), ErrInvalid, "score"},
		{"sighting: infinite margin", sighting(func(sg *Sighting) { sg.Margin = float32(math.Inf(1)) }), ErrInvalid, "margin"},
		{"sighting: quality above 1", sighting(func(sg *Sighting) { sg.Quality = 1.5 }), ErrInvalid, "quality"},
		{"sighting: NaN quality", sighting(func(sg *Sighting) { sg.Quality = nan }), ErrInvalid, "quality"},
		{"sighting: no frames", sighting(func(sg *Sighting) { sg.Frames = 0 }), ErrInvalid, "frames"},
		{"sighting: track id too large", sighting(func(sg *Sighting) { sg.TrackID = math.MaxUint64 }), ErrInvalid, "track id"},
		{"sighting: no model", sighting(func(sg *Sighting) { sg.Model = "" }), ErrInvalid, "model"},
		{"sighting: zero first seen", sighting(func(sg *Sighting) { sg.FirstSeen = time.Time{} }), ErrInvalid, "first seen"},
		{"sighting: ends before it starts", sighting(func(sg *Sighting) { sg.LastSeen = sg.FirstSeen.Add(-time.Second) }), ErrInvalid, "last seen"},
		{"sighting: oversized crop", sighting(func(sg *Sighting) { sg.Crop = testJPEG(t, 1, MaxCropBytes+1) }), ErrInvalid, "crop"},
		{"sighting: empty crop", sighting(func(sg *Sighting) { sg.Crop = []byte{} }), ErrInvalid, "crop"},
		{"sighting: crop not an image", sighting(func(sg *Sighting) { sg.Crop = []byte("GIF89a....") }), ErrInvalid, "crop"},
		{"sighting: outbox topic empty", sightingWith(OutboxMessage{Payload: []byte("x")}), ErrInvalid, "topic"},
		{"sighting: outbox topic wildcard", sightingWith(OutboxMessage{Topic: "dozor/+/sightings"}), ErrInvalid, "topic"},
		{"sighting: outbox payload too large", sightingWith(OutboxMessage{Topic: "t", Payload: make([]byte, MaxPayloadBytes+1)}),
			ErrInvalid, "payload"},
		{"sighting: crop of a sighting not a UUID", sightingWith(OutboxMessage{Topic: "t", CropOf: "s-1"}), ErrInvalid, "crop of"},
		{"sighting: crop of an unknown sighting", sightingWith(OutboxMessage{Topic: "t", CropOf: uuidN(404)}), ErrNotFound, "sighting"},
		{"sighting: message not composed", func() error {
			_, err := s.RecordSighting(ctx, sightingN(1, "P-1"), func(uint64) (OutboxMessage, error) {
				return OutboxMessage{}, errors.New("no random source")
			})
			return err
		}, ErrInvalid, "payload"},
		{"sighting: duplicate id", sighting(func(sg *Sighting) { sg.ID = uuidN(500) }), ErrExists, ""},

		{"template: wrong dimension for the model", template(func(nt *NewTemplate) { nt.Vec = unitVec(3, 128) }), ErrInvalid, "vector"},
		{"template: NaN component", template(func(nt *NewTemplate) { nt.Vec[7] = nan }), ErrInvalid, "vector"},
		{"template: empty vector", template(func(nt *NewTemplate) { nt.Vec = nil }), ErrInvalid, "vector"},
		{"template: zero vector", template(func(nt *NewTemplate) { nt.Vec = make([]float32, 512) }), ErrInvalid, "vector"},
		{"template: too many dimensions", template(func(nt *NewTemplate) { nt.Model = "big"; nt.Vec = make([]float32, MaxDim+1) }), ErrInvalid, "vector"},
		{"template: empty person", template(func(nt *NewTemplate) { nt.PersonID = "" }), ErrInvalid, "person"},
		{"template: NaN quality", template(func(nt *NewTemplate) { nt.Quality = nan }), ErrInvalid, "quality"},
		{"template: no source", template(func(nt *NewTemplate) { nt.Source = " " }), ErrInvalid, "source"},
		{"template: unknown photo", template(func(nt *NewTemplate) { nt.PhotoID = "nope" }), ErrNotFound, "photo"},
		{"photo: oversized", func() error {
			_, err := s.AddPhoto(ctx, "supervisor", "P-1", testJPEG(t, 1, MaxPhotoBytes+1), "booking photo")
			return err
		}, ErrInvalid, "image"},
		{"photo: empty actor", func() error {
			_, err := s.AddPhoto(ctx, "", "P-1", testJPEG(t, 1, 0), "booking photo")
			return err
		}, ErrInvalid, "actor"},

		{"person: empty id", person(func(p *Person) { p.ID = "" }), ErrInvalid, "id"},
		{"person: bad status", person(func(p *Person) { p.Status = "escaped" }), ErrInvalid, "status"},
		{"person: empty status", person(func(p *Person) { p.Status = "" }), ErrInvalid, "status"},
		{"person: control character in name", person(func(p *Person) { p.DisplayName = "Ivan\x00" }), ErrInvalid, "display name"},
		{"person: blank name", person(func(p *Person) { p.DisplayName = "   " }), ErrInvalid, "display name"},
		{"person: invalid UTF-8", person(func(p *Person) { p.DisplayName = "\xff\xfe" }), ErrInvalid, "display name"},
		{"person: over-long id", person(func(p *Person) { p.ID = strings.Repeat("x", MaxIDBytes+1) }), ErrInvalid, "id"},
		{"person: empty watch list", person(func(p *Person) { p.WatchLists = []string{""} }), ErrInvalid, "watch lists[0]"},

		{"rule: unknown kind", rule(func(r *Rule) { r.Kind = "loitering" }), ErrInvalid, "kind"},
		{"rule: bad severity", rule(func(r *Rule) { r.Severity = "urgent" }), ErrInvalid, "severity"},
		{"rule: negative cooldown", rule(func(r *Rule) { r.Cooldown = -time.Second }), ErrInvalid, "cooldown"},
		{"rule: fractional cooldown", rule(func(r *Rule) { r.Cooldown = 1500 * time.Millisecond }), ErrInvalid, "cooldown"},
		{"rule: severity of another scale", rule(func(r *Rule) { r.Severity = "high" }), ErrInvalid, "severity"},
		{"rule: params of another kind", rule(func(r *Rule) { r.Params = []byte(`{"watch_list":"a","within":"60s"}`) }), ErrInvalid, "watch_list"},
		{"rule: params out of range", rule(func(r *Rule) { r.Params = []byte(`{"within":"0s"}`) }), ErrInvalid, "within"},
		{"rule: params with an unknown key", rule(func(r *Rule) { r.Params = []byte(`{"within":"60s","window_seconds":60}`) }), ErrInvalid, "params"},
		{"rule: params not an object", rule(func(r *Rule) { r.Params = nil }), ErrInvalid, "params"},
		{"rule: oversized params", rule(func(r *Rule) {
			r.Params = []byte(`{"within":"60s"` + strings.Repeat(" ", MaxParamsBytes) + `}`)
		}), ErrInvalid, "params"},

		{"alert: unknown rule", alert(func(a *Alert) { a.RuleID = "R-404" }), ErrNotFound, "rule"},
		{"alert: unknown sighting", alert(func(a *Alert) { a.SightingID = uuidN(404) }), ErrNotFound, "sighting"},
		{"alert: evidence not an object", alert(func(a *Alert) { a.Evidence = []byte(`["score"]`) }), ErrInvalid, "evidence"},
		{"alert: evidence not JSON", alert(func(a *Alert) { a.Evidence = []byte(`{score: 1}`) }), ErrInvalid, "evidence"},
		{"alert: bad severity", alert(func(a *Alert) { a.Severity = "urgent" }), ErrInvalid, "severity"},
		{"alert: already decided on input", alert(func(a *Alert) { a.State = AlertConfirmed }), ErrInvalid, "state"},
		{"decision: not a verdict", decide(func(d *AlertDecision) { d.Decision = AlertOpen }, msg("t")), ErrInvalid, "decision"},
		{"decision: no actor", decide(func(d *AlertDecision) { d.Actor = "" }, msg("t")), ErrInvalid, "actor"},
		{"decision: no outbox message", decide(func(d *AlertDecision) {}, nil), ErrInvalid, "outbox"},
		{"decision: no reason", decide(func(d *AlertDecision) { d.Note = "" }, msg("t")), ErrInvalid, "note"},
		{"decision: blank reason", decide(func(d *AlertDecision) { d.Note = " \n " }, msg("t")), ErrInvalid, "note"},
		{"decision: reason too long", decide(func(d *AlertDecision) { d.Note = strings.Repeat("x", MaxNoteBytes+1) }, msg("t")), ErrInvalid, "note"},
		{"decision: unknown alert", decide(func(d *AlertDecision) { d.AlertID = uuidN(404) }, msg("t")), ErrNotFound, "alert"},

		{"zone: bad kind", func() error { return s.PutZone(ctx, "admin", Zone{ID: "Z", Name: "Z", Kind: "lobby"}) }, ErrInvalid, "kind"},
		{"camera: unknown zone", func() error { return s.PutCamera(ctx, "admin", Camera{ID: "c", Name: "c", ZoneID: "Z-404"}) }, ErrNotFound, "zone"},
		{"permit: empty window", permit("mon 01:00-01:00"), ErrInvalid, "window"},
		{"permit: no window", permit(""), ErrInvalid, "window"},
		{"permit: unknown day", permit("mon-fry 08:00-17:00"), ErrInvalid, "window"},
		{"permit: over-long window", permit("mon" + strings.Repeat(",mon", MaxNameBytes) + " 08:00-17:00"), ErrInvalid, "window"},
		{"keep-apart: same person twice", func() error {
			return s.PutKeepApart(ctx, "supervisor", KeepApart{A: "P-1", B: "P-1", Reason: "x"})
		}, ErrInvalid, "person b"},
		{"outbox: limit zero", func() error { _, err := s.Pending(ctx, 0, 0); return err }, ErrInvalid, "limit"},
		{"audit: empty actor", func() error { return s.Audit(ctx, "", "search", "q", "") }, ErrInvalid, "actor"},
	}
	const allRows = `SELECT (SELECT count(*) FROM sightings) + (SELECT count(*) FROM face_templates) +
		(SELECT count(*) FROM persons) + (SELECT count(*) FROM rules) + (SELECT count(*) FROM alerts) +
		(SELECT count(*) FROM alert_decisions) + (SELECT count(*) FROM enrolment_photos) +
		(SELECT count(*) FROM person_permits)`
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lastSeq, _ := s.LastSeq(ctx)
			audit := count(t, s, `SELECT count(*) FROM audit_log`)
			rows := count(t, s, allRows)

			err := tc.write()
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
			if got := count(t, s, `SELECT count(*) FROM audit_log`); got != audit {
				t.Errorf("%d audit entries written", got-audit)
			}
			if got := count(t, s, allRows); got != rows {
				t.Errorf("%d rows written", got-rows)
			}
		})
	}
}
