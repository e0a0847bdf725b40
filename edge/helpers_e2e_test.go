//go:build cgo

package edge_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/camera"
	"github.com/dozor-edge/dozor/camera/avcodec"
	"github.com/dozor-edge/dozor/camera/simcam"
	"github.com/dozor-edge/dozor/camera/simcam/simcamtest"
	"github.com/dozor-edge/dozor/edge"
	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/mosquitto"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/recognizer/opencv"
	"github.com/dozor-edge/dozor/sync/wire"
)

// broker is a private mosquitto on 127.0.0.1 (see internal/mosquitto).
type broker struct {
	t *testing.T
	b *mosquitto.Broker
}

func startBroker(t *testing.T) *broker { return startBrokerWith(t, false) }

// startBrokerWith starts a broker; with persist its sessions and queued
// messages survive a restart, as a production broker's do.
func startBrokerWith(t *testing.T, persist bool) *broker {
	t.Helper()
	mb, err := mosquitto.Start(t.TempDir(), mosquitto.Options{Persist: persist})
	if err != nil {
		t.Fatalf("the end-to-end tests need a real MQTT broker: %v", err)
	}
	t.Cleanup(func() { mb.Stop(syscall.SIGTERM) })
	return &broker{t: t, b: mb}
}

func (b *broker) url() string  { return b.b.URL() }
func (b *broker) addr() string { return b.b.Addr() }

// restart starts the broker again on the same port and configuration.
func (b *broker) restart() {
	b.t.Helper()
	if err := b.b.Restart(); err != nil {
		b.t.Fatal(err)
	}
}

func (b *broker) stop(sig syscall.Signal) { b.b.Stop(sig) }

// subscriber records every message on a topic filter, duplicates included.
type subscriber struct {
	t       *testing.T
	client  mqtt.Client
	mu      sync.Mutex
	msgs    []received
	changed chan struct{} // signalled (never blocking) on every message
}

type received struct {
	topic    string
	payload  []byte
	retained bool
	at       time.Time
}

func subscribe(t *testing.T, addr string, filters ...string) *subscriber {
	return subscribeWith(t, addr, true, filters...)
}

// subscribeWith subscribes; without clean the broker keeps the session
// and queues QoS 1 messages while the subscriber is away, as the region's
// aggregator does.
func subscribeWith(t *testing.T, addr string, clean bool, filters ...string) *subscriber {
	t.Helper()
	s := &subscriber{t: t, changed: make(chan struct{}, 1)}
	subscribed := make(chan mqtt.Token, 1)
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).SetClientID(fmt.Sprintf("region-test-%d", time.Now().UnixNano())).
		SetCleanSession(clean).SetAutoReconnect(true).SetConnectRetry(true).SetConnectRetryInterval(200 * time.Millisecond).
		SetMaxReconnectInterval(time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			// Subscribed again after every reconnect (the session is clean).
			want := map[string]byte{}
			for _, f := range filters {
				want[f] = 1
			}
			tok := c.SubscribeMultiple(want, s.handle)
			select {
			case subscribed <- tok: // the first one is waited for below
			default:
			}
		})
	s.client = mqtt.NewClient(opts)
	tok := s.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscriber: connect to %s: %v", addr, tok.Error())
	}
	t.Cleanup(func() { s.client.Disconnect(250) })
	// The subscription is made by the connect handler; wait for its SUBACK.
	select {
	case sub := <-subscribed:
		if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
			t.Fatalf("subscriber: subscribe %v: %v", filters, sub.Error())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("subscriber: no subscription to %v within 10s of connecting", filters)
	}
	return s
}

func (s *subscriber) handle(_ mqtt.Client, m mqtt.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, received{topic: m.Topic(), payload: append([]byte(nil), m.Payload()...), retained: m.Retained(), at: time.Now()})
	s.mu.Unlock()
	select {
	case s.changed <- struct{}{}:
	default: // a signal is already waiting
	}
}

func (s *subscriber) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.msgs...)
}

// decoded decodes every received message and keeps the payloads of type
// T; a message that does not decode fails the test.
func decoded[T any](t *testing.T, s *subscriber) []T {
	t.Helper()
	var out []T
	for _, m := range s.snapshot() {
		msg, err := wire.Decode(m.topic, m.payload, time.Now())
		if err != nil {
			t.Errorf("received a message the region would refuse: %s: %v\n%s", m.topic, err, clip(m.payload))
			continue
		}
		if p, ok := msg.Payload.(T); ok {
			out = append(out, p)
		}
	}
	return out
}

func (s *subscriber) sightings(t *testing.T) []wire.Sighting {
	t.Helper()
	return decoded[wire.Sighting](t, s)
}

func (s *subscriber) audits(t *testing.T) []wire.AuditRecord {
	t.Helper()
	return decoded[wire.AuditRecord](t, s)
}

// enrolments lists the seqs of the gallery enrolments received, each
// once: a photo enrolled at the site goes up to the region through the
// outbox, numbered with everything else.
func (s *subscriber) enrolments(t *testing.T) map[uint64]bool {
	t.Helper()
	seqs := map[uint64]bool{}
	for _, e := range decoded[wire.GalleryEnrolment](t, s) {
		seqs[e.Seq] = true
	}
	return seqs
}

func clip(b []byte) string {
	if len(b) > 400 {
		return string(b[:400]) + "..."
	}
	return string(b)
}

// outboxState reads the last sequence number and the unsent count of a
// store another process is writing (read-only, without the key).
func outboxState(t *testing.T, path string) (last uint64, depth int) {
	t.Helper()
	st, err := store.Open(path, store.Options{SQLite: sqlite.Binding{}, NoKey: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	if last, err = st.LastSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if depth, err = st.OutboxDepth(ctx); err != nil {
		t.Fatal(err)
	}
	return last, depth
}

// awaitRegion waits up to limit for the region to hold want distinct
// messages, sightings, audit records and gallery enrolments together
// (they share the outbox's numbering; others carries the audit records
// and the enrolments), and returns what it holds then: every sighting
// delivered, copies included, the audit records by seq and the
// enrolments' seqs.
func awaitRegion(t *testing.T, sub, others *subscriber, want uint64, limit time.Duration) ([]wire.Sighting, map[uint64]wire.AuditRecord, map[uint64]bool) {
	t.Helper()
	var all []wire.Sighting
	var audits map[uint64]wire.AuditRecord
	var enrols map[uint64]bool
	waitChanges(time.Now().Add(limit), func() bool {
		all, audits, enrols = sub.sightings(t), dedupAudit(t, others.audits(t)), others.enrolments(t)
		return uint64(len(dedup(t, all))+len(audits)+len(enrols)) >= want
	}, sub.changed, others.changed)
	return all, audits, enrols
}

// waitFor waits until cond holds, checking it again each time one of
// changes is signalled, and fails the test when it does not hold within
// limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool, changes ...<-chan struct{}) {
	t.Helper()
	if !waitChanges(time.Now().Add(limit), cond, changes...) {
		t.Fatalf("no %s within %v", what, limit)
	}
}

// waitChanges checks cond, then again after each signal on one of
// changes, until it holds (true) or the deadline passes (false). The
// channels carry one pending signal each, so a change between a check
// and the wait is never missed.
func waitChanges(deadline time.Time, cond func() bool, changes ...<-chan struct{}) bool {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	cases := []reflect.SelectCase{{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(timer.C)}}
	for _, c := range changes {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(c)})
	}
	for !cond() {
		if i, _, _ := reflect.Select(cases); i == 0 {
			return cond()
		}
	}
	return true
}

// dedup keeps the first copy of each sighting's seq; see firstCopies.
func dedup(t *testing.T, all []wire.Sighting) map[uint64]wire.Sighting {
	t.Helper()
	return firstCopies(t, "sightings", all, func(s wire.Sighting) (uint64, wire.ID) { return s.Seq, s.ID })
}

// dedupAudit keeps the first copy of each audit record's seq; see
// firstCopies.
func dedupAudit(t *testing.T, all []wire.AuditRecord) map[uint64]wire.AuditRecord {
	t.Helper()
	return firstCopies(t, "audit records", all, func(r wire.AuditRecord) (uint64, wire.ID) { return r.Seq, r.ID })
}

// firstCopies keeps the first copy of each outbox seq in all (QoS 1
// delivers at least once) and checks that the copies agree: a seq must
// never carry two different messages. key gives a message's seq and id.
func firstCopies[M any](t *testing.T, what string, all []M, key func(M) (uint64, wire.ID)) map[uint64]M {
	t.Helper()
	bySeq := map[uint64]M{}
	for _, m := range all {
		seq, id := key(m)
		if first, ok := bySeq[seq]; ok {
			if _, firstID := key(first); firstID != id {
				t.Errorf("seq %d carried two different %s: %s and %s", seq, what, firstID, id)
			}
			continue
		}
		bySeq[seq] = m
	}
	return bySeq
}

// contiguous reports whether seqs are exactly 1..n.
func contiguous(bySeq map[uint64]wire.Sighting) (n uint64, gaps []uint64) {
	var seqs []uint64
	for s := range bySeq {
		seqs = append(seqs, s)
	}
	sort.Slice(seqs, func(i, j int) bool { return seqs[i] < seqs[j] })
	if len(seqs) == 0 {
		return 0, nil
	}
	for want, i := uint64(1), 0; i < len(seqs); want++ {
		if seqs[i] != want {
			gaps = append(gaps, want)
			continue
		}
		i++
	}
	return seqs[len(seqs)-1], gaps
}

var (
	clipOnce sync.Once
	clipVal  *camera.Clip
	clipErr  error
)

// hamilton reads the labelled clip once per test binary.
func hamilton(t *testing.T, videoDir string) *camera.Clip {
	t.Helper()
	clipOnce.Do(func() {
		clipVal, clipErr = avcodec.ReadClip(filepath.Join(videoDir, "hamilton_wh_short_640x360.mp4"), avcodec.ClipOptions{})
	})
	if clipErr != nil {
		t.Fatal(clipErr)
	}
	return clipVal
}

// startCamera serves the clip in a loop as an RTSP camera on 127.0.0.1.
func startCamera(t *testing.T, c *camera.Clip) *simcam.Server {
	t.Helper()
	srv, _ := simcamtest.RunServer(t, "127.0.0.1:0", simcam.Config{Clip: c, Loop: true})
	return srv
}

// enrol adds each photo's largest face as a template of the person named
// by the file's stem, through the store and the daemon's own engine, at
// the site of the tests' daemons (north/ik5).
func enrol(t *testing.T, storePath, keyFile, modelDir string, photos []string) {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(storePath, store.Options{SQLite: sqlite.Binding{}, KeyFile: keyFile, Region: "north", Site: "ik5"})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	det := opencv.DefaultDetectorConfig
	eng, err := engines.New(modelDir, engines.Default, det)
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	for _, p := range photos {
		id := strings.TrimSuffix(filepath.Base(p), filepath.Ext(p))
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		img, err := opencv.DecodeImage(data, 1280)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		faces, err := eng.Detect(img)
		if err != nil || len(faces) == 0 {
			t.Fatalf("%s: %d faces, %v", p, len(faces), err)
		}
		best := 0
		for i, f := range faces {
			if f.Box.Area() > faces[best].Box.Area() {
				best = i
			}
		}
		embs, err := eng.Embed(img, faces[best:best+1])
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if err := st.PutPerson(ctx, "supervisor", store.Person{ID: id, DisplayName: id, Facility: "ik5", Status: store.StatusActive}); err != nil {
			t.Fatal(err)
		}
		// The photo is kept, as enrolment keeps it: the guard compares
		// the live crop with it.
		photo, err := st.AddPhoto(ctx, "supervisor", id, data, "booking photo")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := st.AddTemplate(ctx, "supervisor", store.NewTemplate{PersonID: id, Model: embs[0].Model, Vec: embs[0].Vec,
			Quality: faces[best].Quality.Score, Source: "booking photo", PhotoID: photo}); err != nil {
			t.Fatal(err)
		}
	}
}

// runDaemon builds the daemon of cfg and deps and runs it until cancel is
// called or the test ends; it returns once the daemon is ready, and done
// then yields Run's result. logs, the daemon's log, is shown when the test
// fails, or always when $DOZOR_TEST_LOG is set.
func runDaemon(t *testing.T, cfg config.Config, deps edge.Deps, logs *testenv.Buffer) (d *edge.Daemon, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	d, err := edge.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	result := make(chan error, 1)
	go func() { result <- d.Run(ctx) }()
	t.Cleanup(func() {
		if t.Failed() || os.Getenv("DOZOR_TEST_LOG") != "" {
			t.Logf("daemon log:\n%s", logs.String())
		}
	})
	select {
	case <-d.Ready():
	case err := <-result:
		t.Fatalf("daemon did not start: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("daemon not ready after 60s")
	}
	return d, cancel, result
}

func newLog() (*slog.Logger, *testenv.Buffer) {
	lb := &testenv.Buffer{}
	return slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelInfo})), lb
}

// keyFile makes a store key in a directory of its own, away from the
// database as the store asks.
func keyFile(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "key")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "dozor.key")
	if _, err := store.GenerateKeyFile(p); err != nil {
		t.Fatal(err)
	}
	return p
}
