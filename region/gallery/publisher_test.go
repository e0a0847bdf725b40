package gallery_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/nats-io/nats.go"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/gallery"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/gallerysync"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	region = "north"
	actor  = "supervisor-1"
	model  = "faceplugin/flip"
)

// clock is the publisher's clock, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// env is a region: an embedded broker, a store, a publisher, and sites
// that subscribe over MQTT as the edges do.
type env struct {
	t     *testing.T
	b     *broker.Broker
	nc    *nats.Conn
	st    store.Store
	key   ed25519.PrivateKey
	clock *clock
	pub   *gallery.Publisher
	seq   map[string]uint64
	marks int
}

var sitePasswords = map[string]string{"ik5": "pw-ik5", "ik6": "pw-ik6"}

func newEnv(t *testing.T, mod func(*gallery.Config)) *env {
	t.Helper()
	var sites []broker.SiteAccount
	for s, pw := range sitePasswords {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		sites = append(sites, broker.SiteAccount{Site: s, PasswordHash: string(h)})
	}
	b, err := broker.Start(broker.Config{Dir: t.TempDir(), Region: region, MQTTListen: "127.0.0.1:0",
		NATSListen: "127.0.0.1:0", Sites: sites, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	nc, err := b.Connect("regiond-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	// The store stamps transfers with its own clock, so the test's clock
	// starts from the real time and only moves forward.
	clk := &clock{now: time.Now().UTC()}
	st, err := store.OpenSQLite(filepath.Join(t.TempDir(), "region.db"), store.Options{SQLite: sqlite.Binding{},
		KeyFile: filepath.Join(t.TempDir(), "store.key"), CropDir: t.TempDir(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, key, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, b: b, nc: nc, st: st, key: key, clock: clk, seq: map[string]uint64{}}
	cfg := gallery.Config{Store: st, Conn: nc, Signer: gallerysync.NewSigner(key), Region: region,
		ChunkBytes: 32 << 10, ResendAfter: 30 * time.Second, MinResend: time.Second, SourceWait: 10 * time.Minute,
		Now: e.clock.Now}
	if mod != nil {
		mod(&cfg)
	}
	if e.pub, err = gallery.New(cfg); err != nil {
		t.Fatal(err)
	}
	return e
}

// site is a facility's MQTT session subscribed to its revision topic,
// assembling the chunks as the edge does.
type site struct {
	id      string
	subject string
	revs    chan *gallerysync.Revision
	errs    chan error
	marks   chan string
}

// markPrefix starts the test's markers, which the site hands to the test
// instead of its assembler.
const markPrefix = "test-mark-"

func (e *env) site(id string) *site {
	t := e.t
	t.Helper()
	s := &site{id: id, revs: make(chan *gallerysync.Revision, 64), errs: make(chan error, 64), marks: make(chan string, 1)}
	asm := gallerysync.NewAssembler(region, id, e.key.Public().(ed25519.PublicKey), gallerysync.DefaultLimits())
	var mu sync.Mutex
	o := mqtt.NewClientOptions().AddBroker(e.b.MQTTURL()).SetClientID("edge-" + id).
		SetUsername(id).SetPassword(sitePasswords[id]).SetProtocolVersion(4).SetCleanSession(false).
		SetAutoReconnect(false).SetConnectTimeout(10 * time.Second)
	c := mqtt.NewClient(o)
	if tok := c.Connect(); !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("site %s: connect: %v", id, tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	topic, err := wire.GalleryRevisionTopic(region, id)
	if err != nil {
		t.Fatal(err)
	}
	tok := c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) {
		if bytes.HasPrefix(m.Payload(), []byte(markPrefix)) {
			s.marks <- string(m.Payload())
			return
		}
		mu.Lock()
		defer mu.Unlock()
		rev, err := asm.Add(m.Payload())
		switch {
		case err != nil:
			s.errs <- err
		case rev != nil:
			s.revs <- rev
		}
	})
	if !tok.WaitTimeout(15*time.Second) || tok.Error() != nil {
		t.Fatalf("site %s: subscribe: %v", id, tok.Error())
	}
	if s.subject, err = broker.Subject(topic); err != nil {
		t.Fatal(err)
	}
	return s
}

// next waits for the site's next whole revision.
func (s *site) next(t *testing.T) *gallerysync.Revision {
	t.Helper()
	select {
	case r := <-s.revs:
		return r
	case err := <-s.errs:
		t.Fatalf("site %s refused a chunk: %v", s.id, err)
	case <-time.After(30 * time.Second):
		t.Fatalf("site %s: no revision within 30s", s.id)
	}
	return nil
}

// none checks that nothing more reached the site: a marker published
// on the publisher's connection after the chunks arrives after them, so
// once it is in, every chunk sent before it is too.
func (s *site) none(t *testing.T, e *env) {
	t.Helper()
	e.marks++
	mark := fmt.Sprintf("%s%d", markPrefix, e.marks)
	if err := e.nc.Publish(s.subject, []byte(mark)); err != nil {
		t.Fatal(err)
	}
	select {
	case got := <-s.marks:
		if got != mark {
			t.Fatalf("site %s: marker %q, want %q", s.id, got, mark)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("site %s: marker not delivered within 30s", s.id)
	}
	select {
	case r := <-s.revs:
		t.Fatalf("site %s got revision %d (full %v), want none", s.id, r.Number, r.Full)
	case err := <-s.errs:
		t.Fatalf("site %s refused a chunk: %v", s.id, err)
	default:
	}
}

// photo is a small JPEG, different for each seed.
func photo(t *testing.T, seed int) []byte {
	t.Helper()
	m := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			m.Set(x, y, color.RGBA{uint8(x*4 + seed), uint8(y*4 + seed*7), uint8(seed * 31), 255})
		}
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, m, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func vec(seed int) []float32 {
	v := make([]float32, 128)
	for i := range v {
		v[i] = float32((i*seed)%17) / 17
	}
	v[seed%128] = 1
	return v
}

// enrol puts a person with one photo and one template at facility.
func (e *env) enrol(id, facility string, seed int) {
	t := e.t
	t.Helper()
	jp := photo(t, seed)
	res, err := e.st.Enrol(t.Context(), actor, store.Enrolment{
		Person: store.Person{ID: id, DisplayName: "Person " + id, Facility: facility, Status: store.PersonActive,
			Categories: []string{"cat-b"}},
		Photos:    []store.NewPhoto{{JPEG: jp, Source: "booking photo"}},
		Templates: []store.Template{{Person: id, PhotoSHA256: sha(jp), Model: model, Vec: vec(seed), Quality: 0.9, Source: "booking photo"}},
	})
	if err != nil {
		t.Fatalf("enrol %s: %v", id, err)
	}
	if res.Revision == 0 {
		t.Fatalf("enrol %s at %s issued no revision", id, facility)
	}
}

// ack ingests a site's gallery acknowledgement as the ingesters do.
func (e *env) ack(site, status string, rev, inForce uint64, reason string) {
	t := e.t
	t.Helper()
	e.seq[site]++
	topic, err := wire.GalleryAckTopic(region, site)
	if err != nil {
		t.Fatal(err)
	}
	tp, err := wire.ParseTopic(topic)
	if err != nil {
		t.Fatal(err)
	}
	a := wire.GalleryAck{Seq: e.seq[site], Site: site, Revision: rev, InForce: inForce, Status: status,
		At: e.clock.Now(), Reason: reason}
	m := store.Message{Topic: tp, Seq: a.Seq, Payload: a, Received: e.clock.Now()}
	if out, err := e.st.Ingest(t.Context(), m); err != nil || out != store.Stored {
		t.Fatalf("ingest ack %+v: outcome %v, %v", a, out, err)
	}
	e.pub.Notice(m)
}

func (e *env) gallerySite(id string) store.GallerySite {
	t := e.t
	t.Helper()
	gs, err := e.st.GallerySites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range gs {
		if g.Site == id {
			return g
		}
	}
	t.Fatalf("no gallery state for site %s in %+v", id, gs)
	return store.GallerySite{}
}

func ids(ps []gallerysync.Person) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.ID
	}
	return out
}

func TestFullThenDeltasInOrder(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-1", "ik5", 1)
	e.enrol("P-2", "ik5", 2)
	issued := e.gallerySite("ik5").Issued

	// A site at 0 gets one full revision at the number last issued.
	e.pub.Round(ctx)
	r := ik5.next(t)
	if !r.Full || r.Number != issued || r.Base != 0 || fmt.Sprint(ids(r.Upserts)) != "[P-1 P-2]" {
		t.Fatalf("first revision: number %d base %d full %v upserts %v; want full %d with P-1, P-2",
			r.Number, r.Base, r.Full, ids(r.Upserts), issued)
	}
	p := r.Upserts[0]
	if p.DisplayName != "Person P-1" || p.Status != gallerysync.StatusActive || len(p.Photos) != 1 || len(p.Templates) != 1 ||
		p.Templates[0].Model != model || p.Templates[0].PhotoSHA256 != p.Photos[0].SHA256 || fmt.Sprint(p.Categories) != "[cat-b]" {
		t.Errorf("P-1 as sent: %+v", p)
	}
	ik5.none(t, e)
	if g := e.gallerySite("ik5"); g.LastSent != issued {
		t.Errorf("last sent %d, want %d", g.LastSent, issued)
	}
	st := e.pub.Stats()
	if st.Revisions != 1 || st.Full != 1 || st.Chunks == 0 || st.Bytes == 0 {
		t.Errorf("stats %+v", st)
	}

	// Applied: then two changes go out as deltas, in order.
	e.ack("ik5", wire.GalleryApplied, issued, issued, "")
	e.clock.Add(time.Second)
	e.enrol("P-3", "ik5", 3)
	if err := e.st.RemovePerson(ctx, actor, "P-1"); err != nil {
		t.Fatal(err)
	}
	e.pub.Round(ctx)
	d1, d2 := ik5.next(t), ik5.next(t)
	if d1.Full || d1.Number != issued+1 || d1.Base != issued || fmt.Sprint(ids(d1.Upserts)) != "[P-3]" || len(d1.Removals) != 0 {
		t.Errorf("first delta: number %d base %d upserts %v removals %v", d1.Number, d1.Base, ids(d1.Upserts), d1.Removals)
	}
	if d2.Full || d2.Number != issued+2 || d2.Base != issued+1 || len(d2.Upserts) != 0 || fmt.Sprint(d2.Removals) != "[P-1]" {
		t.Errorf("second delta: number %d base %d upserts %v removals %v", d2.Number, d2.Base, ids(d2.Upserts), d2.Removals)
	}
	ik5.none(t, e)
}

func TestResendUntilAcknowledged(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-1", "ik5", 1)
	e.pub.Round(ctx)
	first := ik5.next(t)
	e.ack("ik5", wire.GalleryApplied, first.Number, first.Number, "")

	e.enrol("P-2", "ik5", 2)
	e.pub.Round(ctx)
	if r := ik5.next(t); r.Number != first.Number+1 || r.Full {
		t.Fatalf("got revision %d full %v, want delta %d", r.Number, r.Full, first.Number+1)
	}
	// Not acknowledged: nothing again before ResendAfter...
	e.clock.Add(29 * time.Second)
	e.pub.Round(ctx)
	ik5.none(t, e)
	// ...then the same revision again, and again.
	for range 2 {
		e.clock.Add(time.Second)
		e.pub.Round(ctx)
		if r := ik5.next(t); r.Number != first.Number+1 || r.Full {
			t.Fatalf("re-sent revision %d full %v, want delta %d", r.Number, r.Full, first.Number+1)
		}
		e.clock.Add(29 * time.Second)
	}
	if g := e.gallerySite("ik5"); g.Sends < 3 {
		t.Errorf("sends noted %d, want at least 3", g.Sends)
	}
	// Acknowledged: never again.
	e.ack("ik5", wire.GalleryApplied, first.Number+1, first.Number+1, "")
	for range 3 {
		e.clock.Add(time.Minute)
		e.pub.Round(ctx)
	}
	ik5.none(t, e)
}

func TestResyncIsServedAtOnce(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-1", "ik5", 1)
	e.pub.Round(ctx)
	full := ik5.next(t)
	e.ack("ik5", wire.GalleryApplied, full.Number, full.Number, "")
	e.enrol("P-2", "ik5", 2)
	e.pub.Round(ctx)
	lost := ik5.next(t) // as if the site had missed it

	// The site reconnects and asks for what follows the revision it runs:
	// served at once, long before the resend would be due.
	e.clock.Add(2 * time.Second)
	e.ack("ik5", wire.GalleryResync, full.Number, full.Number, "")
	e.pub.Round(ctx)
	if r := ik5.next(t); r.Full || r.Number != lost.Number || r.Base != full.Number {
		t.Errorf("after the resync: revision %d base %d full %v, want delta %d", r.Number, r.Base, r.Full, lost.Number)
	}
	ik5.none(t, e)

	// A refusal kicks too, but not more often than MinResend.
	e.ack("ik5", wire.GalleryFailed, lost.Number, full.Number, "bad signature")
	e.pub.Round(ctx)
	ik5.none(t, e)
	e.clock.Add(time.Second)
	e.pub.Round(ctx)
	if r := ik5.next(t); r.Number != lost.Number {
		t.Errorf("after the refusal: revision %d, want %d", r.Number, lost.Number)
	}
}

func TestFarBehindGetsFull(t *testing.T) {
	e := newEnv(t, nil)
	ik5 := e.site("ik5")
	ctx := t.Context()
	e.enrol("P-0", "ik5", 100)
	e.pub.Round(ctx)
	first := ik5.next(t)
	e.ack("ik5", wire.GalleryApplied, first.Number, first.Number, "")
	for i := range gallery.MaxDeltas + 1 {
		e.enrol(fmt.Sprintf("P-%d", i+1), "ik5", i+1)
	}
	e.clock.Add(time.Second)
	e.pub.Round(ctx)
	r := ik5.next(t)
	if !r.Full || r.Number != e.gallerySite("ik5").Issued || len(r.Upserts) != gallery.MaxDeltas+2 {
		t.Errorf("revision %d full %v with %d persons; want one full with %d", r.Number, r.Full, len(r.Upserts), gallery.MaxDeltas+2)
	}
	ik5.none(t, e)
}

func TestTransferAdvancesAfterSourceWait(t *testing.T) {
	e := newEnv(t, nil)
	ik5, ik6 := e.site("ik5"), e.site("ik6")
	ctx := t.Context()
	e.enrol("P-1", "ik5", 1)
	e.pub.Round(ctx)
	r := ik5.next(t)
	e.ack("ik5", wire.GalleryApplied, r.Number, r.Number, "")

	tr, err := e.st.StartTransfer(ctx, actor, "P-1", "ik6", "moved")
	if err != nil {
		t.Fatal(err)
	}
	e.pub.Round(ctx)
	if r := ik5.next(t); fmt.Sprint(r.Removals) != "[P-1]" {
		t.Errorf("source got revision %d with removals %v", r.Number, r.Removals)
	}
	ik6.none(t, e)

	// The source never confirms: after the wait the destination gets the
	// person anyway, in transit.
	e.clock.Add(10*time.Minute + time.Second)
	e.pub.Round(ctx)
	got, err := e.st.Transfer(ctx, tr.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.TransferInTransit || got.ToRevision == 0 {
		t.Errorf("transfer %+v, want in transit with the destination's revision", got)
	}
	if s := e.pub.Stats(); s.Transfers != 1 {
		t.Errorf("transfers moved %d, want 1", s.Transfers)
	}
	d := ik6.next(t)
	if fmt.Sprint(ids(d.Upserts)) != "[P-1]" || d.Upserts[0].Status != gallerysync.StatusInTransit {
		t.Errorf("destination got revision %d full %v upserts %+v", d.Number, d.Full, d.Upserts)
	}
}

func TestRunServesKicks(t *testing.T) {
	e := newEnv(t, func(c *gallery.Config) { c.Now = nil; c.Interval = time.Hour })
	ik5 := e.site("ik5")
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.pub.Run(ctx) }()
	e.enrol("P-1", "ik5", 1)
	e.pub.Kick("")
	if r := ik5.next(t); r.Number != 1 || !r.Full {
		t.Errorf("revision %d full %v, want full 1", r.Number, r.Full)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := e.pub.Run(t.Context()); err == nil {
		t.Error("a second Run was accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	for name, c := range map[string]gallery.Config{
		"no store":  {},
		"bad chunk": {ChunkBytes: -1},
	} {
		if _, err := gallery.New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func sha(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
