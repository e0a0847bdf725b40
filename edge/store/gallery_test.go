package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

const testDim = 8

var testIssued = time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)

func sum(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// regionPerson is a person as a revision carries it: one template of
// testModel per photo.
func regionPerson(t *testing.T, id string, photoSeeds ...uint64) gallerysync.Person {
	t.Helper()
	p := gallerysync.Person{ID: id, DisplayName: "Person " + id, Status: gallerysync.StatusActive, Categories: []string{"cat-b"}}
	for _, seed := range photoSeeds {
		jpg := testJPEG(t, seed, 0)
		p.Photos = append(p.Photos, gallerysync.Photo{SHA256: sum(jpg), JPEG: jpg, Source: "booking photo"})
		p.Templates = append(p.Templates, gallerysync.Template{Model: string(testModel), Vec: unitVec(seed, testDim),
			Quality: 0.9, PhotoSHA256: sum(jpg)})
	}
	return p
}

func delta(n uint64, upserts []gallerysync.Person, removals ...string) gallerysync.Revision {
	return gallerysync.Revision{Region: testRegion, Site: testSite, Number: n, Base: n - 1, Issued: testIssued,
		Upserts: upserts, Removals: removals}
}

func full(n uint64, upserts ...gallerysync.Person) gallerysync.Revision {
	return gallerysync.Revision{Region: testRegion, Site: testSite, Number: n, Full: true, Issued: testIssued, Upserts: upserts}
}

// galleryView is what the gallery holds, as text to compare: persons with
// their origin, photos with their hash and synced flag, templates with
// their model, photo and synced flag, and the revision in force.
func galleryView(t *testing.T, s *Store) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	persons, err := s.Persons(ctx)
	must(t, err)
	for _, p := range persons {
		fmt.Fprintf(&b, "person %s %q %s %s %s %v\n", p.ID, p.DisplayName, p.Origin, p.Status, p.Facility, p.Categories)
	}
	rows, err := s.r.Query(`SELECT p.person_id, p.sha256, p.synced, p.source,
		(SELECT count(*) FROM face_templates t WHERE t.photo_id = p.id), (SELECT group_concat(t.synced) FROM face_templates t WHERE t.photo_id = p.id)
		FROM enrolment_photos p ORDER BY p.person_id, p.sha256`)
	must(t, err)
	defer rows.Close()
	for rows.Next() {
		var person, sha, source string
		var synced, templates int
		var tsynced *string
		must(t, rows.Scan(&person, &sha, &synced, &source, &templates, &tsynced))
		ts := ""
		if tsynced != nil {
			ts = *tsynced
		}
		fmt.Fprintf(&b, "photo %s %.8s synced=%d %q templates=%d (%s)\n", person, sha, synced, source, templates, ts)
	}
	fmt.Fprintf(&b, "templates without photo: %d\n", count(t, s, `SELECT count(*) FROM face_templates WHERE photo_id IS NULL`))
	st, err := s.GalleryState(ctx)
	must(t, err)
	fmt.Fprintf(&b, "in force %d signer %s\n", st.Revision, st.Signer)
	return b.String()
}

// acks returns the gallery acks in the outbox, decoded, oldest first.
func acks(t *testing.T, s *Store) []wire.GalleryAck {
	t.Helper()
	topic, _ := wire.GalleryAckTopic(testRegion, testSite)
	msgs, err := s.Pending(context.Background(), 0, MaxBatch)
	must(t, err)
	var out []wire.GalleryAck
	for _, m := range msgs {
		if m.Topic != topic {
			continue
		}
		d, err := wire.Decode(m.Topic, m.Payload, time.Now())
		if err != nil {
			t.Fatalf("ack %d: %v", m.Seq, err)
		}
		out = append(out, d.Payload.(wire.GalleryAck))
	}
	return out
}

func lastAudit(t *testing.T, s *Store, action string) AuditEntry {
	t.Helper()
	entries, err := s.AuditEntries(context.Background(), 0, MaxBatch)
	must(t, err)
	for i := len(entries) - 1; i >= 0; i-- {
		if entries[i].Action == action {
			return entries[i]
		}
	}
	t.Fatalf("no %s in the audit log", action)
	return AuditEntry{}
}

// TestApplyGalleryRevisions applies a full revision, then deltas: profiles
// and biometrics replaced, photos found again by their hash, the site's
// own unsynced photo and template kept, removals as RemovePerson removes,
// and a later full revision removing the region's persons it leaves out
// while the site's own persons stay. Each revision is audited and its
// applied ack queued.
func TestApplyGalleryRevisions(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	src := RevisionSource{Signer: "key-1", BodySHA256: strings.Repeat("ab", 32)}

	// A local person, enrolled at the site.
	must(t, s.PutPerson(ctx, "clerk", Person{ID: "L-1", DisplayName: "Local", Facility: testSite, Status: StatusActive}))

	res, err := s.ApplyGalleryRevision(ctx, full(1, regionPerson(t, "P-1", 1, 2), regionPerson(t, "P-2", 3)), src)
	must(t, err)
	if res.Revision != 1 || res.Upserted != 2 || res.Removed != 0 || res.Templates != 3 || res.AckSeq == 0 {
		t.Fatalf("revision 1: %+v", res)
	}
	if n, err := s.GalleryInForce(ctx); err != nil || n != 1 {
		t.Fatalf("in force %d, %v", n, err)
	}
	v1 := galleryView(t, s)
	for _, want := range []string{"person P-1 \"Person P-1\" region active ik5 [cat-b]", "person L-1 \"Local\" local",
		"photo P-1", "synced=1 \"booking photo\" templates=1 (1)", "in force 1 signer key-1"} {
		if !strings.Contains(v1, want) {
			t.Errorf("after revision 1 the gallery lacks %q:\n%s", want, v1)
		}
	}
	if a := acks(t, s); len(a) != 1 || a[0].Status != wire.GalleryApplied || a[0].Revision != 1 || a[0].InForce != 1 || a[0].Templates != 3 {
		t.Errorf("acks %+v; want one applied ack of revision 1 with 3 templates", a)
	}
	if e := lastAudit(t, s, "gallery.apply"); e.Actor != RegionActor || !strings.Contains(e.Detail, `"revision":1`) ||
		!strings.Contains(e.Detail, `"signer":"key-1"`) || !strings.Contains(e.Detail, `"upserts":["P-1","P-2"]`) {
		t.Errorf("audit %+v", e)
	}

	// The site adds a photo and a template of its own to P-1.
	own := testJPEG(t, 50, 0)
	photo, err := s.AddPhoto(ctx, "clerk", "P-1", own, "gate camera")
	must(t, err)
	_, err = s.AddTemplate(ctx, "clerk", NewTemplate{PersonID: "P-1", Model: testModel, Vec: unitVec(50, testDim), Quality: 0.8,
		Source: "gate camera", PhotoID: photo})
	must(t, err)

	// Revision 2: P-1 loses photo 1 and gains photo 4, with a new name;
	// P-2 is removed; P-3 arrives with the site's own photo, which is
	// found again by its hash rather than stored twice.
	p1 := regionPerson(t, "P-1", 2, 4)
	p1.DisplayName = "Renamed"
	p3 := regionPerson(t, "P-3", 50)
	res, err = s.ApplyGalleryRevision(ctx, delta(2, []gallerysync.Person{p1, p3}, "P-2", "P-unknown"), src)
	must(t, err)
	if res.Upserted != 2 || res.Removed != 1 {
		t.Errorf("revision 2: %+v; want 2 upserted, 1 removed (the unknown one is already gone)", res)
	}
	v2 := galleryView(t, s)
	if strings.Contains(v2, "person P-2") || strings.Contains(v2, fmt.Sprintf("photo P-1 %.8s", sum(testJPEG(t, 1, 0)))) {
		t.Errorf("P-2 or P-1's withdrawn photo is still there:\n%s", v2)
	}
	for _, want := range []string{`person P-1 "Renamed" region`, fmt.Sprintf("photo P-1 %.8s synced=0 \"gate camera\" templates=1 (0)", sum(own)),
		fmt.Sprintf("photo P-1 %.8s synced=1", sum(testJPEG(t, 4, 0))), fmt.Sprintf("photo P-3 %.8s synced=1", sum(own)), "in force 2"} {
		if !strings.Contains(v2, want) {
			t.Errorf("after revision 2 the gallery lacks %q:\n%s", want, v2)
		}
	}
	if n := count(t, s, `SELECT count(*) FROM face_templates WHERE person_id = 'P-1'`); n != 3 {
		t.Errorf("P-1 has %d templates, want 3 (two of the region, the site's own)", n)
	}

	// The same revision once more: replayed, nothing changes.
	_, err = s.ApplyGalleryRevision(ctx, delta(2, []gallerysync.Person{p1}), src)
	var ref *gallerysync.Refusal
	if !errors.As(err, &ref) || ref.Reason != gallerysync.ReasonReplayed {
		t.Fatalf("replay: %v; want a refusal as replayed", err)
	}
	_, err = s.ApplyGalleryRevision(ctx, delta(4, nil, "P-1"), src)
	if !errors.As(err, &ref) || ref.Reason != gallerysync.ReasonOutOfOrder {
		t.Fatalf("gap: %v; want a refusal as out of order", err)
	}
	if v := galleryView(t, s); v != v2 {
		t.Errorf("a refused revision changed the gallery:\n%s\nwas\n%s", v, v2)
	}

	// A full revision 7 lists P-3 alone: P-1 goes, the local L-1 stays.
	res, err = s.ApplyGalleryRevision(ctx, full(7, p3), src)
	must(t, err)
	v7 := galleryView(t, s)
	if res.Removed != 1 || strings.Contains(v7, "person P-1") || !strings.Contains(v7, "person L-1") || !strings.Contains(v7, "person P-3") {
		t.Errorf("full revision 7: %+v\n%s", res, v7)
	}
	if a := acks(t, s); len(a) != 3 || a[2].Revision != 7 || a[2].InForce != 7 {
		t.Errorf("acks %+v; want applied acks of revisions 1, 2 and 7", a)
	}
}

// TestGalleryRevisionInvalidChangesNothing: a revision that passed the
// signature but cannot be stored (a template of another dimension than
// the model's stored ones, a revision for another site) is refused as a
// whole, and the gallery, the audit log and the outbox stay as they were.
func TestGalleryRevisionInvalidChangesNothing(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	_, err := s.ApplyGalleryRevision(ctx, full(1, regionPerson(t, "P-1", 1)), RevisionSource{})
	must(t, err)
	before, depth := galleryView(t, s), count(t, s, `SELECT count(*) FROM outbox`)

	bad := regionPerson(t, "P-2", 2)
	bad.Templates[0].Vec = unitVec(2, testDim+1)
	_, err = s.ApplyGalleryRevision(ctx, delta(2, []gallerysync.Person{regionPerson(t, "P-3", 3), bad}), RevisionSource{})
	if !errors.Is(err, ErrInvalid) {
		t.Errorf("dimension mismatch: %v; want ErrInvalid", err)
	}
	other := delta(2, []gallerysync.Person{regionPerson(t, "P-3", 3)})
	other.Site = "ik6"
	if _, err = s.ApplyGalleryRevision(ctx, other, RevisionSource{}); !errors.Is(err, ErrInvalid) {
		t.Errorf("another site's revision: %v; want ErrInvalid", err)
	}
	if v := galleryView(t, s); v != before || count(t, s, `SELECT count(*) FROM outbox`) != depth {
		t.Errorf("a refused revision changed the store:\n%s\nwas\n%s", v, before)
	}
}

// TestRefuseGalleryRevision: a refusal is audited with its reason,
// revision and detail, and answered with a failed ack, or a resync ack
// for a gap or an unknown revision; the gallery is not touched.
func TestRefuseGalleryRevision(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	_, err := s.ApplyGalleryRevision(ctx, full(3, regionPerson(t, "P-1", 1)), RevisionSource{})
	must(t, err)
	before := galleryView(t, s)

	_, err = s.RefuseGalleryRevision(ctx, GalleryRefusal{Revision: 4, Reason: gallerysync.ReasonBadSignature, Detail: "signed by key x"})
	must(t, err)
	e := lastAudit(t, s, "gallery.refused")
	if e.Actor != RegionActor || !strings.Contains(e.Detail, `"reason":"bad_signature"`) || !strings.Contains(e.Detail, `"revision":4`) ||
		!strings.Contains(e.Detail, "signed by key x") || !strings.Contains(e.Detail, `"in_force":3`) {
		t.Errorf("audit %+v", e)
	}
	_, err = s.RefuseGalleryRevision(ctx, GalleryRefusal{Revision: 9, Reason: gallerysync.ReasonOutOfOrder, Detail: "gap", Resync: true})
	must(t, err)
	_, err = s.RefuseGalleryRevision(ctx, GalleryRefusal{Reason: gallerysync.ReasonMalformed, Detail: "not JSON"})
	must(t, err)
	_, err = s.QueueGalleryResync(ctx, "connect")
	must(t, err)
	a := acks(t, s)
	if len(a) != 5 {
		t.Fatalf("acks %+v; want the applied one and 4 more", a)
	}
	want := []struct {
		status         string
		revision, held uint64
		reason         string
	}{
		{wire.GalleryFailed, 4, 3, "bad_signature: signed by key x"},
		{wire.GalleryResync, 3, 3, "out_of_order"},
		{wire.GalleryResync, 3, 3, "malformed"},
		{wire.GalleryResync, 3, 3, "connect"},
	}
	for i, w := range want {
		g := a[i+1]
		if g.Status != w.status || g.Revision != w.revision || g.InForce != w.held || g.Reason != w.reason {
			t.Errorf("ack %d: %+v; want %+v", i+1, g, w)
		}
	}
	if v := galleryView(t, s); v != before {
		t.Errorf("a refusal changed the gallery:\n%s\nwas\n%s", v, before)
	}
	if _, err := s.RefuseGalleryRevision(ctx, GalleryRefusal{Revision: 4, Reason: ""}); !errors.Is(err, ErrInvalid) {
		t.Errorf("a refusal without a reason: %v; want ErrInvalid", err)
	}
}

// TestRegionPersonNotRemovedLocally: the site refuses to remove a person
// the region manages, with a message saying where to do it.
func TestRegionPersonNotRemovedLocally(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	_, err := s.ApplyGalleryRevision(ctx, full(1, regionPerson(t, "P-1", 1)), RevisionSource{})
	must(t, err)
	_, err = s.RemovePerson(ctx, "clerk", "P-1")
	if !errors.Is(err, ErrRegionManaged) || !strings.Contains(err.Error(), "remove or transfer it there") {
		t.Fatalf("RemovePerson: %v; want ErrRegionManaged", err)
	}
	if _, err := s.Person(ctx, "P-1"); err != nil {
		t.Errorf("the person is gone: %v", err)
	}
}

// enrolments returns the gallery/enrol messages in the outbox, decoded.
func enrolments(t *testing.T, s *Store) []wire.GalleryEnrolment {
	t.Helper()
	topic, _ := wire.GalleryEnrolTopic(testRegion, testSite)
	msgs, err := s.Pending(context.Background(), 0, MaxBatch)
	must(t, err)
	var out []wire.GalleryEnrolment
	for _, m := range msgs {
		if m.Topic != topic {
			continue
		}
		d, err := wire.Decode(m.Topic, m.Payload, time.Now())
		if err != nil {
			t.Fatalf("enrolment %d: %v", m.Seq, err)
		}
		out = append(out, d.Payload.(wire.GalleryEnrolment))
	}
	return out
}

// TestLocalEnrolmentGoesUp: each template the site enrols from a photo of
// its own queues exactly one gallery/enrol message, in the transaction
// that stores it, with the profile, the photo and the template; a
// template without a photo, or made of a photo a revision brought, sends
// nothing; a PNG photo goes up as a JPEG.
func TestLocalEnrolmentGoesUp(t *testing.T) {
	s, _, _ := openNew(t)
	ctx := context.Background()
	must(t, s.PutPerson(ctx, "clerk", Person{ID: "L-1", DisplayName: "Local One", Facility: testSite, Status: StatusActive,
		WatchLists: []string{"escape-risk"}}))
	jpg := testJPEG(t, 1, 0)
	photo, err := s.AddPhoto(ctx, "clerk", "L-1", jpg, "booking photo")
	must(t, err)
	if n := len(enrolments(t, s)); n != 0 {
		t.Fatalf("%d enrolments after a photo alone; a photo goes up with its templates", n)
	}
	for i, model := range []string{"model-a", "model-b"} {
		_, err := s.AddTemplate(ctx, "clerk", NewTemplate{PersonID: "L-1", Model: testModelID(model), Vec: unitVec(uint64(i), testDim),
			Quality: 0.7, Source: "booking photo", PhotoID: photo})
		must(t, err)
	}
	_, err = s.AddTemplate(ctx, "clerk", NewTemplate{PersonID: "L-1", Model: testModel, Vec: unitVec(9, testDim), Quality: 0.7, Source: "camera"})
	must(t, err)
	got := enrolments(t, s)
	if len(got) != 2 {
		t.Fatalf("%d enrolments, want one per template made of the photo", len(got))
	}
	for i, e := range got {
		if e.Site != testSite || e.By != "clerk" || e.Person.ID != "L-1" || e.Person.DisplayName != "Local One" ||
			fmt.Sprint(e.Person.WatchLists) != "[escape-risk]" || e.Photo.SHA256 != sum(jpg) || string(e.Photo.JPEG) != string(jpg) ||
			e.Photo.Source != "booking photo" || len(e.Templates) != 1 || e.Templates[0].Model != []string{"model-a", "model-b"}[i] {
			t.Errorf("enrolment %d: %+v", i, e)
		}
	}

	// A failed template stores nothing and sends nothing.
	_, err = s.AddTemplate(ctx, "clerk", NewTemplate{PersonID: "L-1", Model: "model-a", Vec: unitVec(3, testDim+2), Quality: 0.7,
		Source: "booking photo", PhotoID: photo})
	if !errors.Is(err, ErrInvalid) || len(enrolments(t, s)) != 2 {
		t.Errorf("a refused template: %v, %d enrolments", err, len(enrolments(t, s)))
	}

	// The region's photo: a template made of it here is the site's own
	// re-embedding and is not sent back.
	_, err = s.ApplyGalleryRevision(ctx, full(1, regionPerson(t, "P-1", 5)), RevisionSource{})
	must(t, err)
	infos, err := s.Photos(ctx, "P-1")
	must(t, err)
	_, err = s.AddTemplate(ctx, SystemActor, NewTemplate{PersonID: "P-1", Model: "model-b", Vec: unitVec(5, testDim), Quality: 0.9,
		Source: "re-embedding", PhotoID: infos[0].ID})
	must(t, err)
	if n := len(enrolments(t, s)); n != 2 {
		t.Errorf("%d enrolments after re-embedding a region photo, want still 2", n)
	}

	// A PNG goes up re-encoded as a JPEG, under the JPEG's hash.
	png := testPNG(t)
	pngPhoto, err := s.AddPhoto(ctx, "clerk", "L-1", png, "upload")
	must(t, err)
	_, err = s.AddTemplate(ctx, "clerk", NewTemplate{PersonID: "L-1", Model: "model-a", Vec: unitVec(6, testDim), Quality: 0.7,
		Source: "upload", PhotoID: pngPhoto})
	must(t, err)
	got = enrolments(t, s)
	if len(got) != 3 || got[2].Photo.SHA256 != sum(got[2].Photo.JPEG) || got[2].Photo.JPEG[0] != 0xFF {
		t.Errorf("the PNG's enrolment: %d messages, last %+v", len(got), got[len(got)-1].Photo.SHA256)
	}
}

func testModelID(s string) recognizer.ModelID { return recognizer.ModelID(s) }

// testPNG is a small real PNG.
func testPNG(t *testing.T) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for y := range 30 {
		for x := range 40 {
			img.Set(x, y, color.RGBA{uint8(x * 6), uint8(y * 8), 90, 255})
		}
	}
	var buf bytes.Buffer
	must(t, png.Encode(&buf, img))
	return buf.Bytes()
}
