package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dozor-edge/dozor/internal/pgtest"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

func openSQLite(t testing.TB) Store {
	s, err := OpenSQLite(filepath.Join(t.TempDir(), "region.db"), Options{SQLite: sqlite.Binding{}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openPostgres(t testing.TB) Store {
	s, err := OpenPostgres(pgtest.Start(t), Options{CropDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T)   { runSuite(t, func(t *testing.T) Store { return openSQLite(t) }) }
func TestPostgres(t *testing.T) { runSuite(t, func(t *testing.T) Store { return openPostgres(t) }) }

// t0 is the suite's clock origin.
var t0 = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

const region = "north"

func jpeg(tag string) []byte { return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, tag...) }

// msg wraps a payload as Ingest receives it.
func msg(t testing.TB, p wire.Payload) Message {
	t.Helper()
	raw, err := wire.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	var top wire.Topic
	switch v := p.(type) {
	case wire.SiteStatus:
		top = wire.Topic{Kind: wire.KindSiteStatus, Region: region, Site: v.Site}
	case wire.CameraStatus:
		top = wire.Topic{Kind: wire.KindCameraStatus, Region: region, Site: v.Site, Camera: v.Camera}
	default:
		top = wire.Topic{Kind: p.TopicKind(), Region: region, Site: siteOf(p)}
	}
	return Message{Topic: top, Seq: wire.Message{Payload: p}.Seq(), Payload: p, Raw: raw, Received: t0.Add(time.Hour)}
}

func siteOf(p wire.Payload) string {
	switch v := p.(type) {
	case wire.Sighting:
		return v.Site
	case wire.Alert:
		return v.Site
	case wire.AlertDecision:
		return v.Site
	case wire.AuditRecord:
		return v.Site
	case wire.GalleryAck:
		return v.Site
	case wire.GalleryEnrolment:
		return v.Site
	}
	panic(fmt.Sprintf("siteOf %T", p))
}

func sighting(site string, seq uint64, person string, at time.Time) wire.Sighting {
	return wire.Sighting{ID: wire.MustNewID(), Seq: seq, Site: site, Camera: "gate", Track: seq, Person: person,
		FirstSeen: at.Add(-time.Second), LastSeen: at.Add(time.Second), BestAt: at, Frames: 5, Score: 0.8, Margin: 0.2,
		Model: "arcface", Quality: 0.9}
}

func alert(site string, seq uint64, person string, at time.Time) wire.Alert {
	return wire.Alert{ID: wire.MustNewID(), Seq: seq, Site: site, Rule: "watch", Kind: wire.AlertWatchlist,
		Severity: wire.SeverityWarning, Sighting: wire.MustNewID(), Person: person, Camera: "gate", At: at,
		Evidence: wire.Evidence{Score: 0.8, Margin: 0.2, Frames: 3, Crop: jpeg("alert-" + person)}}
}

func decision(site string, seq uint64, a wire.ID, d string, at time.Time) wire.AlertDecision {
	return wire.AlertDecision{ID: wire.MustNewID(), Seq: seq, Site: site, Alert: a, Decision: d, By: "guard1", At: at}
}

func hashOf(site string, n uint64) string {
	if n == 0 {
		return ZeroHash
	}
	h := sha256.Sum256(fmt.Appendf(nil, "%s/%d", site, n))
	return hex.EncodeToString(h[:])
}

func audit(site string, seq, auditSeq uint64) wire.AuditRecord {
	return wire.AuditRecord{ID: wire.MustNewID(), Seq: seq, Site: site, AuditSeq: auditSeq, At: t0, Actor: "system",
		Action: "login", Prev: hashOf(site, auditSeq-1), Hash: hashOf(site, auditSeq)}
}

func ingest(t testing.TB, s Store, m Message, want Outcome) {
	t.Helper()
	got, err := s.Ingest(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Fatalf("ingest %s seq %d: %v, want %v", m.Topic, m.Seq, got, want)
	}
}

func site(t testing.TB, s Store, id string) Site {
	t.Helper()
	sites, err := s.Sites(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range sites {
		if x.ID == id {
			return x
		}
	}
	t.Fatalf("site %s not in %+v", id, sites)
	return Site{}
}

func gaps(t testing.TB, s Store, id string) [][2]uint64 {
	t.Helper()
	gs, err := s.Gaps(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	var out [][2]uint64
	for _, g := range gs {
		out = append(out, [2]uint64{g.From, g.To})
	}
	return out
}

func allSightings(t testing.TB, s Store, q SightingQuery) []Sighting {
	t.Helper()
	var out []Sighting
	for {
		page, next, err := s.Sightings(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page...)
		if next == "" {
			return out
		}
		q.Cursor = next
	}
}

// runSuite is every behaviour of a Store, run on each dialect.
func runSuite(t *testing.T, open func(t *testing.T) Store) {
	ctx := context.Background()

	t.Run("exactly once under duplicates and out of order", func(t *testing.T) {
		s := open(t)
		var ms []Message
		for seq := uint64(1); seq <= 10; seq++ {
			ms = append(ms, msg(t, sighting("ik5", seq, "P-1", t0.Add(time.Duration(seq)*time.Minute))))
		}
		for _, i := range []int{3, 0, 9, 3, 1, 2, 0, 4, 5, 9, 6, 7, 8, 5} {
			want := Stored
			if ms[i].Raw == nil {
				want = Duplicate
			}
			got, err := s.Ingest(ctx, ms[i])
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Fatalf("seq %d: %v, want %v", ms[i].Seq, got, want)
			}
			ms[i].Raw = nil // marks it received: a second arrival is a duplicate
		}
		got := allSightings(t, s, SightingQuery{Site: "ik5"})
		if len(got) != 10 {
			t.Fatalf("%d sightings stored, want 10", len(got))
		}
		st := site(t, s, "ik5")
		if st.HighestSeq != 10 || st.ContiguousSeq != 10 || st.OpenGaps != 0 {
			t.Fatalf("site %+v, want highest and contiguous 10, no gaps", st)
		}
		if g := gaps(t, s, "ik5"); len(g) != 0 {
			t.Fatalf("gaps %v, want none", g)
		}
	})

	t.Run("contiguous seq and gaps", func(t *testing.T) {
		s := open(t)
		in := func(seq uint64) { ingest(t, s, msg(t, sighting("ik5", seq, "", t0)), Stored) }
		check := func(contiguous, highest uint64, want ...[2]uint64) {
			t.Helper()
			st := site(t, s, "ik5")
			if st.ContiguousSeq != contiguous || st.HighestSeq != highest || st.OpenGaps != len(want) {
				t.Fatalf("contiguous %d highest %d gaps %d, want %d %d %d", st.ContiguousSeq, st.HighestSeq, st.OpenGaps,
					contiguous, highest, len(want))
			}
			if got := gaps(t, s, "ik5"); !slices.Equal(got, want) {
				t.Fatalf("gaps %v, want %v", got, want)
			}
		}
		in(1)
		in(2)
		in(6)
		check(2, 6, [2]uint64{3, 5})
		at := t0.Add(2 * time.Hour)
		if err := s.NoteResendRequested(ctx, "ik5", Gap{From: 3, To: 5}, at); err != nil {
			t.Fatal(err)
		}
		in(4) // splits the gap; both halves keep its history
		check(2, 6, [2]uint64{3, 3}, [2]uint64{5, 5})
		gs, _ := s.Gaps(ctx, "ik5")
		for _, g := range gs {
			if g.Requested != 1 || !g.LastRequest.Equal(at) || !g.FirstSeen.Equal(t0.Add(time.Hour)) {
				t.Fatalf("gap %+v lost its history", g)
			}
		}
		in(3)
		check(4, 6, [2]uint64{5, 5})
		in(5)
		check(6, 6)
		in(9)
		check(6, 9, [2]uint64{7, 8})
		in(7)
		in(8)
		check(9, 9)
		if st := site(t, s, "ik5"); st.Missing != 0 {
			t.Fatalf("missing %d", st.Missing)
		}
	})

	t.Run("statuses newest wins", func(t *testing.T) {
		s := open(t)
		newer := wire.SiteStatus{Site: "ik5", State: wire.SiteOnline, Version: "1.2", At: t0.Add(time.Minute), CamerasUp: 3, CamerasTotal: 4}
		older := wire.SiteStatus{Site: "ik5", State: wire.SiteOffline, At: t0, CamerasTotal: 4}
		ingest(t, s, msg(t, newer), Stored)
		ingest(t, s, msg(t, older), Duplicate)
		ingest(t, s, msg(t, newer), Duplicate)
		st := site(t, s, "ik5")
		if st.State != wire.SiteOnline || st.Version != "1.2" || st.CamerasUp != 3 || !st.StatusAt.Equal(newer.At) {
			t.Fatalf("site %+v, want the newer status", st)
		}
		camNew := wire.CameraStatus{Site: "ik5", Camera: "gate", State: wire.CameraDown, Reason: "no frames", At: t0.Add(time.Minute)}
		camOld := wire.CameraStatus{Site: "ik5", Camera: "gate", State: wire.CameraUp, FPS: 5, At: t0}
		ingest(t, s, msg(t, camOld), Stored)
		ingest(t, s, msg(t, camNew), Stored)
		ingest(t, s, msg(t, camOld), Duplicate)
		cams, err := s.Cameras(ctx, "ik5")
		if err != nil {
			t.Fatal(err)
		}
		if len(cams) != 1 || cams[0].State != wire.CameraDown || cams[0].Reason != "no frames" || !cams[0].At.Equal(camNew.At) {
			t.Fatalf("cameras %+v, want gate down", cams)
		}
		// Once cameras report, their own states count: the site status
		// said 3 of 4 up when it was composed, gate is down now and yard up.
		ingest(t, s, msg(t, wire.CameraStatus{Site: "ik5", Camera: "yard", State: wire.CameraUp, FPS: 5, At: t0.Add(time.Minute)}), Stored)
		if st := site(t, s, "ik5"); st.CamerasUp != 1 || st.CamerasTotal != 4 {
			t.Fatalf("cameras %d/%d, want 1/4 from the cameras' own statuses", st.CamerasUp, st.CamerasTotal)
		}
	})

	t.Run("gallery revision in force", func(t *testing.T) {
		s := open(t)
		ingest(t, s, msg(t, sighting("ik5", 1, "", t0)), Stored)
		if st := site(t, s, "ik5"); st.GalleryRevision != 0 {
			t.Fatalf("gallery revision %d before any ack, want 0", st.GalleryRevision)
		}
		ack := func(seq, rev, inForce uint64, status, reason string) wire.GalleryAck {
			return wire.GalleryAck{Seq: seq, Site: "ik5", Revision: rev, InForce: inForce, Status: status, Reason: reason,
				At: t0.Add(time.Duration(seq) * time.Minute)}
		}
		ingest(t, s, msg(t, ack(3, 7, 7, wire.GalleryApplied, "")), Stored)
		// An older ack arriving late does not replace the newer one.
		ingest(t, s, msg(t, ack(2, 6, 6, wire.GalleryApplied, "")), Stored)
		// A failed apply leaves revision 7 in force.
		ingest(t, s, msg(t, ack(4, 8, 7, wire.GalleryFailed, "signature")), Stored)
		if st := site(t, s, "ik5"); st.GalleryRevision != 7 {
			t.Fatalf("gallery revision %d, want 7", st.GalleryRevision)
		}
		ingest(t, s, msg(t, ack(5, 9, 9, wire.GalleryApplied, "")), Stored)
		ingest(t, s, msg(t, sighting("ik6", 1, "", t0)), Stored)
		if st := site(t, s, "ik5"); st.GalleryRevision != 9 {
			t.Fatalf("gallery revision %d, want 9", st.GalleryRevision)
		}
		if st := site(t, s, "ik6"); st.GalleryRevision != 0 {
			t.Fatalf("ik6 gallery revision %d, want 0 (ik5's acks are not its)", st.GalleryRevision)
		}
	})

	t.Run("status last seq opens the newest gap", func(t *testing.T) {
		s := open(t)
		check := func(contiguous, highest uint64, want ...[2]uint64) {
			t.Helper()
			st := site(t, s, "ik5")
			if st.ContiguousSeq != contiguous || st.HighestSeq != highest || st.OpenGaps != len(want) {
				t.Fatalf("contiguous %d highest %d gaps %d, want %d %d %d", st.ContiguousSeq, st.HighestSeq, st.OpenGaps,
					contiguous, highest, len(want))
			}
			if got := gaps(t, s, "ik5"); !slices.Equal(got, want) {
				t.Fatalf("gaps %v, want %v", got, want)
			}
		}
		status := func(at time.Duration, last uint64, want Outcome) {
			t.Helper()
			ingest(t, s, msg(t, wire.SiteStatus{Site: "ik5", State: wire.SiteOnline, At: t0.Add(at), CamerasTotal: 1, LastSeq: last}), want)
		}
		in := func(seq uint64) { ingest(t, s, msg(t, sighting("ik5", seq, "", t0)), Stored) }

		status(time.Minute, 2, Stored) // nothing received yet: all of it is missing
		check(0, 2, [2]uint64{1, 2})
		in(1)
		in(2)
		check(2, 2)
		status(2*time.Minute, 2, Stored) // equal: nothing changes
		check(2, 2)
		status(3*time.Minute, 1, Stored) // below: nothing changes
		check(2, 2)
		status(4*time.Minute, 0, Stored) // unknown
		check(2, 2)

		status(5*time.Minute, 5, Stored) // the newest three were lost
		check(2, 5, [2]uint64{3, 5})
		gs, err := s.Gaps(ctx, "ik5")
		if err != nil {
			t.Fatal(err)
		}
		if len(gs) != 1 || !gs[0].FirstSeen.Equal(t0.Add(time.Hour)) || gs[0].Requested != 0 {
			t.Fatalf("gaps %+v, want 3..5 first seen when the status was received, never requested", gs)
		}
		in(4)
		check(2, 5, [2]uint64{3, 3}, [2]uint64{5, 5})
		in(3)
		in(5)
		check(5, 5)

		// An older status, whatever it says, reopens nothing.
		status(4*time.Minute+30*time.Second, 5, Duplicate)
		status(4*time.Minute+30*time.Second, 9, Duplicate)
		check(5, 5)
		// The messages after it open their gaps as usual.
		in(7)
		check(5, 7, [2]uint64{6, 6})
	})

	t.Run("audit chain", func(t *testing.T) {
		s := open(t)
		// 2 before 1: each link is checked against whatever neighbour is stored.
		ingest(t, s, msg(t, audit("ik5", 2, 2)), Stored)
		if seq, _, _ := s.AuditHead(ctx, "ik5"); seq != 0 {
			t.Fatalf("head %d before record 1", seq)
		}
		ingest(t, s, msg(t, audit("ik5", 1, 1)), Stored)
		ingest(t, s, msg(t, audit("ik5", 3, 3)), Stored)
		ingest(t, s, msg(t, audit("ik5", 3, 3)), Duplicate)
		seq, hash, err := s.AuditHead(ctx, "ik5")
		if err != nil || seq != 3 || hash != hashOf("ik5", 3) {
			t.Fatalf("head %d %s %v, want 3 %s", seq, hash, err, hashOf("ik5", 3))
		}
		before := site(t, s, "ik5")

		broken := []struct {
			name   string
			rec    wire.AuditRecord
			reason string
		}{
			{"wrong prev", func() wire.AuditRecord { r := audit("ik5", 4, 4); r.Prev = hashOf("x", 1); return r }(), "does not match the hash"},
			{"replaced record", func() wire.AuditRecord { r := audit("ik5", 5, 2); r.Hash = hashOf("x", 2); return r }(), "already stored"},
			{"first with a prev", func() wire.AuditRecord { r := audit("ik6", 1, 1); r.Prev = hashOf("x", 3); return r }(), "64 zeros"},
			{"no audit_seq", func() wire.AuditRecord { r := audit("ik5", 6, 7); r.AuditSeq = 0; return r }(), "audit_seq missing"},
		}
		for _, c := range broken {
			m := msg(t, c.rec)
			ingest(t, s, m, Quarantined)
			ingest(t, s, m, Duplicate)
			q, err := s.QuarantinedMessages(ctx, c.rec.Site, 1)
			if err != nil {
				t.Fatal(err)
			}
			if len(q) != 1 || string(q[0].Raw) != string(m.Raw) || !strings.Contains(q[0].Reason, c.reason) ||
				q[0].Seq != c.rec.Seq || q[0].Topic != m.Topic.String() {
				t.Fatalf("%s: quarantine %+v, want the record with a reason containing %q", c.name, q, c.reason)
			}
		}
		if seq, hash, _ := s.AuditHead(ctx, "ik5"); seq != 3 || hash != hashOf("ik5", 3) {
			t.Fatalf("head moved to %d %s", seq, hash)
		}
		after := site(t, s, "ik5")
		// Only the seq bookkeeping moves: the quarantined seqs were received.
		if after.ContiguousSeq != 6 || after.HighestSeq != 6 || after.AuditHead != before.AuditHead {
			t.Fatalf("site after %+v, before %+v", after, before)
		}
		// The next link is checked too: 6 stored first, then a 5 that 6 does not name.
		ingest(t, s, msg(t, audit("ik7", 2, 6)), Stored)
		r := audit("ik7", 1, 5)
		r.Hash = hashOf("x", 5)
		ingest(t, s, msg(t, r), Quarantined)
		ingest(t, s, msg(t, audit("ik7", 3, 5)), Stored)
	})

	t.Run("crops content addressed", func(t *testing.T) {
		s := open(t)
		crop := jpeg("same face")
		a := sighting("ik5", 1, "P-1", t0)
		a.Crop = crop
		b := sighting("ik6", 1, "P-1", t0.Add(time.Minute))
		b.Crop = crop
		ingest(t, s, msg(t, a), Stored)
		ingest(t, s, msg(t, b), Stored)
		ingest(t, s, msg(t, a), Duplicate)
		sum := sha256.Sum256(crop)
		want := hex.EncodeToString(sum[:])
		for _, x := range allSightings(t, s, SightingQuery{Person: "P-1"}) {
			if x.Crop != want {
				t.Fatalf("sighting crop %q, want %s", x.Crop, want)
			}
		}
		var files []string
		dir := s.(*db).crops.dir
		filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files = append(files, strings.TrimPrefix(p, dir))
			}
			return err
		})
		if !slices.Equal(files, []string{"/" + want[:2] + "/" + want + ".jpg"}) {
			t.Fatalf("crop files %v, want one", files)
		}
		got, err := s.Crop(ctx, want)
		if err != nil || string(got) != string(crop) {
			t.Fatalf("crop %q %v", got, err)
		}
		if _, err := s.Crop(ctx, hashOf("none", 1)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("missing crop: %v, want ErrNotFound", err)
		}
		if _, err := s.Crop(ctx, "../../etc/passwd"); err == nil {
			t.Fatal("a path was accepted as a crop name")
		}
	})

	t.Run("quarantine keeps bytes", func(t *testing.T) {
		s := open(t)
		raw := []byte{'{', 0xff, 0x00, 'x'}
		q := QuarantineEntry{Topic: "dozor/v1/north/ik5/sighting", Site: "ik5", Raw: raw, Reason: "sighting: invalid JSON", Received: t0}
		for range 2 {
			if err := s.Quarantine(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := s.Quarantine(ctx, QuarantineEntry{Topic: "bad/topic", Raw: nil, Reason: "topic: not under dozor/"}); err != nil {
			t.Fatal(err)
		}
		if err := s.Quarantine(ctx, QuarantineEntry{Topic: "x"}); err == nil || !strings.Contains(err.Error(), "reason") {
			t.Fatalf("no reason: %v", err)
		}
		got, err := s.QuarantinedMessages(ctx, "ik5", 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || string(got[0].Raw) != string(raw) || got[0].Reason != q.Reason || !got[0].Received.Equal(t0) {
			t.Fatalf("quarantine %+v, want the bytes once", got)
		}
		all, _ := s.QuarantinedMessages(ctx, "", 0)
		if len(all) != 2 {
			t.Fatalf("%d quarantined, want 2", len(all))
		}
		// A quarantined message with a seq does not count as received.
		if sites, _ := s.Sites(ctx); len(sites) != 0 {
			t.Fatalf("sites %+v after quarantine only", sites)
		}
	})

	t.Run("queries", func(t *testing.T) {
		s := open(t)
		seq := map[string]uint64{}
		next := func(site string) uint64 { seq[site]++; return seq[site] }
		// P-7's timeline: 3 sightings at ik5, 2 at ik6, interleaved in time.
		var want []time.Time
		for i, st := range []string{"ik5", "ik6", "ik5", "ik6", "ik5"} {
			at := t0.Add(time.Duration(i) * 10 * time.Minute)
			ingest(t, s, msg(t, sighting(st, next(st), "P-7", at)), Stored)
			want = append([]time.Time{at}, want...)
		}
		ingest(t, s, msg(t, sighting("ik6", next("ik6"), "P-8", t0)), Stored)
		got := allSightings(t, s, SightingQuery{Person: "P-7", Limit: 2})
		if len(got) != len(want) {
			t.Fatalf("timeline of %d, want %d", len(got), len(want))
		}
		for i, x := range got {
			if !x.BestAt.Equal(want[i]) || x.Person != "P-7" {
				t.Fatalf("timeline[%d] = %s %s, want %s", i, x.Site, x.BestAt, want[i])
			}
		}
		if sites := []string{got[0].Site, got[1].Site}; sites[0] != "ik5" || sites[1] != "ik6" {
			t.Fatalf("timeline sites %v", sites)
		}
		if n := len(allSightings(t, s, SightingQuery{Site: "ik6", From: t0, To: t0.Add(15 * time.Minute)})); n != 2 {
			t.Fatalf("%d ik6 sightings in the first 15 minutes, want 2", n)
		}
		if _, _, err := s.Sightings(ctx, SightingQuery{Cursor: "nonsense"}); err == nil {
			t.Fatal("a bad cursor was accepted")
		}

		a1 := alert("ik5", next("ik5"), "P-7", t0.Add(5*time.Minute))
		a2 := alert("ik6", next("ik6"), "P-7", t0.Add(25*time.Minute))
		d1 := decision("ik5", next("ik5"), a1.ID, wire.DecisionConfirmed, a1.At.Add(90*time.Second))
		// The decision arrives before its alert.
		ingest(t, s, msg(t, d1), Stored)
		ingest(t, s, msg(t, a1), Stored)
		ingest(t, s, msg(t, a2), Stored)
		ingest(t, s, msg(t, decision("ik6", next("ik6"), a2.ID, wire.DecisionRejected, a2.At.Add(time.Minute))), Stored)
		alerts, err := s.Alerts(ctx, AlertQuery{Person: "P-7"})
		if err != nil {
			t.Fatal(err)
		}
		if len(alerts) != 2 || alerts[0].ID != a2.ID || alerts[1].ID != a1.ID {
			t.Fatalf("alerts %+v, want a2 then a1", alerts)
		}
		if a := alerts[1]; a.Latency != 90*time.Second || len(a.Decisions) != 1 || a.Decisions[0].Decision != wire.DecisionConfirmed ||
			a.Crop == "" || a.Zone != "" || a.Others != nil {
			t.Fatalf("a1 %+v, want one confirmation after 90s", a)
		}
		if u, _ := s.Alerts(ctx, AlertQuery{Undecided: true}); len(u) != 0 {
			t.Fatalf("undecided %+v", u)
		}
		a3 := alert("ik6", next("ik6"), "P-9", t0.Add(26*time.Minute))
		ingest(t, s, msg(t, a3), Stored)
		if u, _ := s.Alerts(ctx, AlertQuery{Undecided: true, Site: "ik6"}); len(u) != 1 || u[0].ID != a3.ID || u[0].Latency != 0 {
			t.Fatalf("undecided %+v, want a3", u)
		}

		counts, err := s.Counts(ctx, t0, t0.Add(time.Hour), 20*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		wantCounts := []Count{
			{Site: "ik5", Start: t0, Sightings: 1, Alerts: 1, Confirmed: 1},
			{Site: "ik5", Start: t0.Add(20 * time.Minute), Sightings: 1},
			{Site: "ik5", Start: t0.Add(40 * time.Minute), Sightings: 1},
			{Site: "ik6", Start: t0, Sightings: 2},
			{Site: "ik6", Start: t0.Add(20 * time.Minute), Sightings: 1, Alerts: 2, Rejected: 1},
		}
		if !slices.Equal(counts, wantCounts) {
			t.Fatalf("counts\n%+v\nwant\n%+v", counts, wantCounts)
		}
		if _, err := s.Counts(ctx, t0, t0, time.Minute); err == nil {
			t.Fatal("an empty range was accepted")
		}
	})

	t.Run("concurrent ingest stores once", func(t *testing.T) {
		s := open(t)
		var ms []Message
		for seq := uint64(1); seq <= 40; seq++ {
			x := sighting("ik5", seq, "P-1", t0)
			x.Crop = jpeg(fmt.Sprint(seq % 4))
			ms = append(ms, msg(t, x))
		}
		var mu sync.Mutex
		counts := map[Outcome]int{}
		var wg sync.WaitGroup
		for range 2 {
			wg.Go(func() {
				for _, m := range ms {
					out, err := s.Ingest(ctx, m)
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					counts[out]++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if counts[Stored] != 40 || counts[Duplicate] != 40 {
			t.Fatalf("outcomes %v, want 40 stored and 40 duplicates", counts)
		}
		if n := len(allSightings(t, s, SightingQuery{})); n != 40 {
			t.Fatalf("%d sightings, want 40", n)
		}
		if st := site(t, s, "ik5"); st.ContiguousSeq != 40 {
			t.Fatalf("contiguous %d", st.ContiguousSeq)
		}
	})

	t.Run("bad messages refused", func(t *testing.T) {
		s := open(t)
		m := msg(t, sighting("ik5", 1, "", t0))
		m.Topic.Site = "ik6"
		if _, err := s.Ingest(ctx, m); err == nil || !strings.Contains(err.Error(), "site") {
			t.Fatalf("payload for another site: %v", err)
		}
		m = msg(t, sighting("ik5", 1, "", t0))
		m.Seq = 2
		if _, err := s.Ingest(ctx, m); err == nil || !strings.Contains(err.Error(), "seq") {
			t.Fatalf("seq mismatch: %v", err)
		}
	})
}

func benchIngest(b *testing.B, s Store) {
	ctx := context.Background()
	crop := jpeg("bench")
	b.ResetTimer()
	for i := range b.N {
		x := sighting("ik5", uint64(i+1), "P-1", t0)
		x.Crop = crop
		raw, _ := wire.Encode(x)
		m := Message{Topic: wire.Topic{Kind: wire.KindSighting, Region: region, Site: "ik5"}, Seq: x.Seq, Payload: x, Raw: raw,
			Received: t0}
		if _, err := s.Ingest(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}

func BenchmarkIngest(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchIngest(b, openSQLite(b)) })
	b.Run("postgres", func(b *testing.B) { benchIngest(b, openPostgres(b)) })
}
