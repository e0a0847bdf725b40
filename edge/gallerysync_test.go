//go:build cgo

package edge

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

const (
	gsRegion = "north"
	gsSite   = "ik5"
	gsModel  = "test-model-v1"
)

// gsKey is a region signing key made from seed.
func gsKey(seed byte) ed25519.PrivateKey {
	return ed25519.NewKeyFromSeed(bytes.Repeat([]byte{seed}, ed25519.SeedSize))
}

func gsStore(t *testing.T) *store.Store {
	t.Helper()
	key := filepath.Join(t.TempDir(), "store.key")
	if _, err := store.GenerateKeyFile(key); err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(filepath.Join(t.TempDir(), "dozor.db"), store.Options{SQLite: sqlite.Binding{}, KeyFile: key,
		Region: gsRegion, Site: gsSite})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// gsPhoto is a real JPEG whose pixels depend on seed, large enough that a
// revision takes several chunks.
func gsPhoto(t *testing.T, seed int) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			img.Set(x, y, color.RGBA{uint8(x*seed + y*y), uint8(y * seed), uint8(x ^ y ^ seed), 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func gsPerson(t *testing.T, id string, seed int) gallerysync.Person {
	t.Helper()
	jpg := gsPhoto(t, seed)
	h := sha256.Sum256(jpg)
	sum := hex.EncodeToString(h[:])
	vec := make([]float32, 8)
	vec[seed%8] = 1
	return gallerysync.Person{ID: id, DisplayName: "Person " + id, Status: gallerysync.StatusActive,
		Photos:    []gallerysync.Photo{{SHA256: sum, JPEG: jpg, Source: "booking photo"}},
		Templates: []gallerysync.Template{{Model: gsModel, Vec: vec, Quality: 0.9, PhotoSHA256: sum}}}
}

func gsRevision(n uint64, fullRev bool, upserts []gallerysync.Person, removals ...string) gallerysync.Revision {
	r := gallerysync.Revision{Region: gsRegion, Site: gsSite, Number: n, Base: n - 1, Full: fullRev,
		Issued: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC), Upserts: upserts, Removals: removals}
	if fullRev {
		r.Base = 0
	}
	return r
}

// chunks signs and chunks rev with key, in chunks small enough that a
// revision takes several.
func chunks(t *testing.T, key ed25519.PrivateKey, rev gallerysync.Revision) [][]byte {
	t.Helper()
	c, err := gallerysync.NewSigner(key).Chunks(rev, gallerysync.MinChunkBytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// edit changes one chunk's envelope as a broken or hostile sender would.
func edit(t *testing.T, chunk []byte, f func(m map[string]any)) []byte {
	t.Helper()
	// A chunk is "DZGR", a version byte, the header's length (4 bytes,
	// big-endian), the JSON header, then the data.
	n := binary.BigEndian.Uint32(chunk[5:9])
	var m map[string]any
	if err := json.Unmarshal(chunk[9:9+n], &m); err != nil {
		t.Fatal(err)
	}
	m["data"] = string(chunk[9+n:])
	f(m)
	data := m["data"].(string)
	delete(m, "data")
	hdr, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	out := binary.BigEndian.AppendUint32(append([]byte{}, chunk[:5]...), uint32(len(hdr)))
	return append(append(out, hdr...), data...)
}

// gsHarness is a gallery sync over a real store, driven chunk by chunk on
// the test's goroutine.
type gsHarness struct {
	t        *testing.T
	st       *store.Store
	g        *gallerySync
	notified atomic.Int64
	reloads  atomic.Int64
	clock    time.Time
}

func newGSHarness(t *testing.T, pub ed25519.PublicKey) *gsHarness {
	h := &gsHarness{t: t, st: gsStore(t), clock: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)}
	h.g = newGallerySync(h.st, gsRegion, gsSite, pub, slog.New(slog.DiscardHandler), newMetrics())
	h.g.notify = func() { h.notified.Add(1) }
	h.g.reload = func() { h.reloads.Add(1) }
	h.g.now = func() time.Time { return h.clock }
	return h
}

func (h *gsHarness) feed(msgs ...[]byte) {
	for _, m := range msgs {
		h.g.handle(context.Background(), m)
	}
}

// view is the gallery as text: persons, photos and templates, and the
// revision in force.
func (h *gsHarness) view() string {
	h.t.Helper()
	ctx := context.Background()
	var b strings.Builder
	persons, err := h.st.Persons(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range persons {
		fmt.Fprintf(&b, "person %s %q %s\n", p.ID, p.DisplayName, p.Origin)
	}
	photos, err := h.st.Photos(ctx, "")
	if err != nil {
		h.t.Fatal(err)
	}
	for _, p := range photos {
		fmt.Fprintf(&b, "photo %s %s %.12s\n", p.ID, p.PersonID, p.SHA256)
	}
	tpls, err := h.st.Templates(ctx, gsModel, store.SystemActor)
	if err != nil {
		h.t.Fatal(err)
	}
	for _, tp := range tpls {
		fmt.Fprintf(&b, "template %s %s %v\n", tp.ID, tp.PersonID, tp.Vec)
	}
	st, err := h.st.GalleryState(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	fmt.Fprintf(&b, "in force %d\n", st.Revision)
	return b.String()
}

// acks are the gallery acks in the outbox, oldest first.
func (h *gsHarness) acks() []wire.GalleryAck {
	h.t.Helper()
	topic, _ := wire.GalleryAckTopic(gsRegion, gsSite)
	msgs, err := h.st.Pending(context.Background(), 0, store.MaxBatch)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []wire.GalleryAck
	for _, m := range msgs {
		if m.Topic == topic {
			d, err := wire.Decode(m.Topic, m.Payload, time.Now())
			if err != nil {
				h.t.Fatalf("ack %d: %v", m.Seq, err)
			}
			out = append(out, d.Payload.(wire.GalleryAck))
		}
	}
	return out
}

// refusals are the gallery.refused audit entries, oldest first.
func (h *gsHarness) refusals() []store.AuditEntry {
	h.t.Helper()
	entries, err := h.st.AuditEntries(context.Background(), 0, store.MaxBatch)
	if err != nil {
		h.t.Fatal(err)
	}
	var out []store.AuditEntry
	for _, e := range entries {
		if e.Action == "gallery.refused" {
			out = append(out, e)
		}
	}
	return out
}

// TestGalleryRevisionsApplied: real signed chunks of a full revision and
// a delta, fed as the uplink hands them over (one chunk repeated, as QoS 1
// may), are applied in order; each is acknowledged in the outbox, the
// uplink is woken, the gallery swapped, the revision shown in the metrics.
func TestGalleryRevisionsApplied(t *testing.T) {
	key := gsKey(1)
	h := newGSHarness(t, key.Public().(ed25519.PublicKey))
	r1 := chunks(t, key, gsRevision(1, true, []gallerysync.Person{gsPerson(t, "P-1", 1), gsPerson(t, "P-2", 2)}))
	if len(r1) < 2 {
		t.Fatalf("revision 1 is %d chunk(s); the test wants several", len(r1))
	}
	h.feed(r1[0], r1[0])
	h.feed(r1[1:]...)
	v := h.view()
	if !strings.Contains(v, `person P-1 "Person P-1" region`) || !strings.Contains(v, `person P-2 "Person P-2" region`) || !strings.Contains(v, "in force 1") {
		t.Fatalf("after revision 1:\n%s", v)
	}
	h.feed(chunks(t, key, gsRevision(2, false, []gallerysync.Person{gsPerson(t, "P-3", 3)}, "P-1"))...)
	v = h.view()
	if strings.Contains(v, "person P-1") || !strings.Contains(v, "person P-3") || !strings.Contains(v, "in force 2") {
		t.Fatalf("after revision 2:\n%s", v)
	}
	a := h.acks()
	if len(a) != 2 || a[0].Status != wire.GalleryApplied || a[0].InForce != 1 || a[1].InForce != 2 || a[1].Templates != 2 {
		t.Errorf("acks %+v; want applied acks of revisions 1 and 2", a)
	}
	if h.notified.Load() != 2 || h.reloads.Load() != 2 || len(h.g.reembedKick) != 1 {
		t.Errorf("%d uplink wake-ups, %d reloads, re-embedding asked %d; want 2, 2 and asked", h.notified.Load(), h.reloads.Load(), len(h.g.reembedKick))
	}
	if got := metricValue(h.g.m.galleryRevision); got != 2 {
		t.Errorf("dozor_gallery_revision %v, want 2", got)
	}
	if hl := h.g.health(); hl.Revision != 2 || !hl.KeyConfigured || hl.LastRefusal != nil {
		t.Errorf("health %+v", hl)
	}
}

// TestGalleryBadRevisionsRefused: each bad revision (unsigned, signed by
// another key, replayed, out of order, a truncated chunk, malformed) is
// refused and audited at the site, answered with a failed or resync ack,
// counted by reason, and leaves the gallery (persons, photos, templates,
// revision in force) as it was.
func TestGalleryBadRevisionsRefused(t *testing.T) {
	key := gsKey(1)
	h := newGSHarness(t, key.Public().(ed25519.PublicKey))
	r1 := gsRevision(1, true, []gallerysync.Person{gsPerson(t, "P-1", 1)})
	h.feed(chunks(t, key, r1)...)
	r2 := gsRevision(2, false, []gallerysync.Person{gsPerson(t, "P-2", 2)}, "P-1")
	before := h.view()
	if !strings.Contains(before, "in force 1") {
		t.Fatalf("revision 1 not applied:\n%s", before)
	}

	cases := []struct {
		name, reason string
		msgs         [][]byte
		resync       bool // answered with a resync ack rather than failed
	}{
		{"unsigned", gallerysync.ReasonUnsigned, [][]byte{edit(t, chunks(t, key, r2)[0], func(m map[string]any) { delete(m, "sig") })}, false},
		{"another key", gallerysync.ReasonBadSignature, chunks(t, gsKey(2), r2), false},
		{"replayed", gallerysync.ReasonReplayed, chunks(t, key, r1), true},
		{"out of order", gallerysync.ReasonOutOfOrder, chunks(t, key, gsRevision(3, false, []gallerysync.Person{gsPerson(t, "P-3", 3)})), true},
		{"truncated chunk", gallerysync.ReasonTruncated, [][]byte{edit(t, chunks(t, key, r2)[0], func(m map[string]any) {
			m["data"] = m["data"].(string)[:40]
		})}, false},
		{"malformed", gallerysync.ReasonMalformed, [][]byte{[]byte(`{"v":1,"region":"north","site":`)}, true},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h.t = t
			h.feed(c.msgs...)
			if v := h.view(); v != before {
				t.Errorf("the gallery changed:\n%s\nwas\n%s", v, before)
			}
			refs := h.refusals()
			if len(refs) != i+1 {
				t.Fatalf("%d refusals audited, want %d", len(refs), i+1)
			}
			if e := refs[i]; e.Actor != store.RegionActor || !strings.Contains(e.Detail, `"reason":"`+c.reason+`"`) {
				t.Errorf("audit %+v; want reason %s", e, c.reason)
			}
			a := h.acks()
			last := a[len(a)-1]
			switch {
			case len(a) != i+2:
				t.Errorf("%d acks, want %d", len(a), i+2)
			case c.resync && (last.Status != wire.GalleryResync || last.Revision != 1 || last.InForce != 1):
				t.Errorf("ack %+v; want a resync from revision 1", last)
			case !c.resync && (last.Status != wire.GalleryFailed || last.InForce != 1 || !strings.HasPrefix(last.Reason, c.reason+": ")):
				t.Errorf("ack %+v; want failed with reason %s", last, c.reason)
			}
			if n := metricValue(h.g.m.galleryRefused.WithLabelValues(c.reason)); n < 1 {
				t.Errorf("dozor_gallery_refused_total{reason=%q} is %v", c.reason, n)
			}
			if hl := h.g.health(); hl.LastRefusal == nil || hl.LastRefusal.Reason != c.reason || hl.Revision != 1 {
				t.Errorf("health %+v", hl)
			}
		})
	}

	// The same reason again within the minute is counted, not recorded;
	// after it, recorded again.
	h.t = t
	acks, refs := len(h.acks()), len(h.refusals())
	h.feed([]byte("garbage"), []byte("more garbage"))
	if len(h.acks()) != acks || len(h.refusals()) != refs || metricValue(h.g.m.galleryRefused.WithLabelValues(gallerysync.ReasonMalformed)) != 3 {
		t.Errorf("a flood of refusals was recorded: %d acks (was %d), %d audited (was %d)", len(h.acks()), acks, len(h.refusals()), refs)
	}
	h.clock = h.clock.Add(refusalEvery)
	h.feed([]byte("garbage"))
	if len(h.refusals()) != refs+1 {
		t.Errorf("a refusal a minute later was not recorded")
	}

	// The good revision 2 still applies after all that.
	h.feed(chunks(t, key, r2)...)
	if v := h.view(); !strings.Contains(v, "in force 2") || strings.Contains(v, "person P-1") {
		t.Errorf("revision 2 after the refusals:\n%s", v)
	}
}

// TestGalleryWithoutRegionKey: a site without gallery.region_public_key
// refuses every revision as unsigned for it, and asks for no resync.
func TestGalleryWithoutRegionKey(t *testing.T) {
	h := newGSHarness(t, nil)
	h.feed(chunks(t, gsKey(1), gsRevision(1, true, []gallerysync.Person{gsPerson(t, "P-1", 1)}))[0])
	refs := h.refusals()
	if len(refs) != 1 || !strings.Contains(refs[0].Detail, "no region key configured") {
		t.Fatalf("refusals %+v", refs)
	}
	if v := h.view(); strings.Contains(v, "person") {
		t.Errorf("a revision was applied without a key:\n%s", v)
	}
	h.g.resync(context.Background())
	if a := h.acks(); len(a) != 1 || a[0].Status != wire.GalleryFailed {
		t.Errorf("acks %+v; want only the failed one", a)
	}
}

// TestGallerySyncRun runs the goroutine as the daemon does: chunks handed
// over by the uplink's callback are applied, a connect queues one resync
// ack, and an applied revision that brought persons starts a
// re-embedding; Run returns when its context ends.
func TestGallerySyncRun(t *testing.T) {
	key := gsKey(1)
	h := newGSHarness(t, key.Public().(ed25519.PublicKey))
	events := make(chan string, 16)
	h.g.notify = func() { events <- "notify" }
	h.g.reload = func() {}
	h.g.reembed = func(context.Context) error { events <- "reembed"; return nil }
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.g.run(ctx); close(done) }()

	h.g.connect()
	if e := <-events; e != "notify" {
		t.Fatalf("first event %q, want the uplink woken for the resync ack", e)
	}
	for _, c := range chunks(t, key, gsRevision(1, true, []gallerysync.Person{gsPerson(t, "P-1", 1)})) {
		h.g.chunk(c)
	}
	got := map[string]bool{}
	for !got["notify"] || !got["reembed"] {
		got[<-events] = true
	}
	cancel()
	<-done
	a := h.acks()
	if len(a) != 2 || a[0].Status != wire.GalleryResync || a[0].InForce != 0 || a[1].Status != wire.GalleryApplied || a[1].InForce != 1 {
		t.Errorf("acks %+v; want a resync from 0, then revision 1 applied", a)
	}
}

// metricValue reads a gauge's or a counter's value.
func metricValue(m prometheus.Metric) float64 {
	var d dto.Metric
	_ = m.Write(&d)
	if d.Gauge != nil {
		return d.Gauge.GetValue()
	}
	return d.Counter.GetValue()
}
