package ingest_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const region = "north"

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// node is a real NATS server with JetStream and the region's stream.
type node struct {
	srv *server.Server
	js  jetstream.JetStream // the test's own connection, for publishing
	nc  *nats.Conn
}

func startNode(t *testing.T) *node {
	t.Helper()
	srv, err := server.NewServer(&server.Options{JetStream: true, StoreDir: t.TempDir(), Host: "127.0.0.1", Port: -1, NoSigs: true, NoLog: true})
	if err != nil {
		t.Fatal(err)
	}
	srv.Start()
	if !srv.ReadyForConnections(10 * time.Second) {
		srv.Shutdown()
		t.Fatal("nats server not ready")
	}
	t.Cleanup(func() {
		srv.Shutdown()
		srv.WaitForShutdown()
	})
	n := &node{srv: srv}
	n.nc, n.js = n.connect(t)
	if _, err := broker.EnsureStream(t.Context(), n.js, region, 1); err != nil {
		t.Fatal(err)
	}
	return n
}

func (n *node) connect(t *testing.T) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(n.srv.ClientURL(), nats.MaxReconnects(0))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return nc, js
}

// publish stores a payload in the stream as the MQTT listener would.
func (n *node) publish(t *testing.T, topic string, data []byte) {
	t.Helper()
	subject, err := broker.Subject(topic)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := n.js.Publish(t.Context(), subject, data); err != nil {
		t.Fatalf("publish %s: %v", subject, err)
	}
}

func ack(t *testing.T, site string, seq uint64) []byte {
	t.Helper()
	b, err := wire.Encode(wire.GalleryAck{Seq: seq, Site: site, Revision: 1, Status: wire.GalleryApplied, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func cameraStatus(t *testing.T, site, camera string) []byte {
	t.Helper()
	b, err := wire.Encode(wire.CameraStatus{Site: site, Camera: camera, State: wire.CameraUp, FPS: 5, At: t0})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ackTopic(t *testing.T, site string) string {
	t.Helper()
	topic, err := wire.GalleryAckTopic(region, site)
	if err != nil {
		t.Fatal(err)
	}
	return topic
}

func (n *node) publishAcks(t *testing.T, site string, seqs ...uint64) {
	t.Helper()
	for _, seq := range seqs {
		n.publish(t, ackTopic(t, site), ack(t, site, seq))
	}
}

func seqRange(from, to uint64) []uint64 {
	var s []uint64
	for i := from; i <= to; i++ {
		s = append(s, i)
	}
	return s
}

// clock is a settable clock for Config.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// running is an Ingester running in the background.
type running struct {
	*ingest.Ingester
	cancel context.CancelFunc
	done   chan error
}

func (n *node) run(t *testing.T, st ingest.Store, cfg ingest.Config) *running {
	t.Helper()
	nc, js := n.connect(t)
	return runOn(t, js, nc, st, cfg)
}

func runOn(t *testing.T, js jetstream.JetStream, nc *nats.Conn, st ingest.Store, cfg ingest.Config) *running {
	t.Helper()
	cfg.Region = region
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return t0 }
	}
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	in, err := ingest.New(js, nc, st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{Ingester: in, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- in.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	return r
}

// stop ends Run and waits for it; calling it again does nothing.
func (r *running) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	if r.done == nil {
		return
	}
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	r.done = nil
}

// eventually waits until cond holds, failing after a generous deadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// allStored reports whether every seq from 1 to n of site is stored.
func allStored(t *testing.T, st *observed, site string, n uint64) func() bool {
	return func() bool { s := st.site(t, site); return s.ContiguousSeq == n && s.HighestSeq == n }
}

func (n *node) consumerInfo(t *testing.T) *jetstream.ConsumerInfo {
	t.Helper()
	c, err := n.js.Consumer(t.Context(), broker.StreamName(region), ingest.DefaultDurable)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return info
}

func TestStoresEachMessageOnceAcrossACrash(t *testing.T) {
	n := startNode(t)
	const total = 200
	n.publishAcks(t, "ik5", seqRange(1, total)...)

	// The first ingester dies between the commit of seq 50 and its ack:
	// its connection goes, so seq 50 and the rest of its batch are never
	// acked and come back to the second one.
	st := openStore(t)
	ncA, jsA := n.connect(t)
	crash := &hookStore{observed: st, seq: 50, after: ncA.Close}
	cfg := ingest.Config{Batch: 20, AckWait: time.Second}
	a := runOn(t, jsA, ncA, crash, cfg)
	eventually(t, "the crash", func() bool { return ncA.IsClosed() })
	a.stop(t)

	b := n.run(t, st, cfg)
	eventually(t, "every message stored", allStored(t, st, "ik5", total))
	eventually(t, "every message acked", func() bool {
		info := n.consumerInfo(t)
		return info.NumPending == 0 && info.NumAckPending == 0
	})
	eventually(t, "the stats", func() bool { return a.Stats().Stored+b.Stats().Stored == total })
	sa, sb := a.Stats(), b.Stats()
	if sb.Duplicates < 1 {
		t.Errorf("second ingester saw %d duplicates; seq 50 was stored and not acked", sb.Duplicates)
	}
	if sa.LastError == "" {
		t.Error("first ingester recorded no error for its lost ack")
	}
}

func TestQuarantine(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	r := n.run(t, st, ingest.Config{})

	cases := []struct {
		name, topic, site string
		data              []byte
		reason            string
	}{
		{"malformed json", ackTopic(t, "ik5"), "ik5", []byte(`{"v":1,"seq":`), "gallery-ack"},
		{"site differs from the subject's", ackTopic(t, "ik5"), "ik5", ack(t, "ik6", 1), `"ik6" does not match the topic's site "ik5"`},
		{"camera differs from the subject's", "dozor/v1/north/ik5/camera/c1/status", "ik5", cameraStatus(t, "ik5", "c2"), `"c2" does not match the topic's camera "c1"`},
		{"site id with a dot", ackTopic(t, "ik5.a"), "ik5.a", []byte(`[]`), "gallery-ack"},
	}
	for _, c := range cases {
		n.publish(t, c.topic, c.data)
	}
	eventually(t, "quarantined", func() bool { return r.Stats().Quarantined == uint64(len(cases)) })
	got, err := st.QuarantinedMessages(t.Context(), "", 0)
	if err != nil || len(got) != len(cases) {
		t.Fatalf("quarantine: %d entries, %v", len(got), err)
	}
	slices.Reverse(got) // newest first
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := got[i]
			if q.Topic != c.topic || q.Site != c.site || string(q.Raw) != string(c.data) || !q.Received.Equal(t0) {
				t.Errorf("quarantined %+v, want topic %q site %q raw %q", q, c.topic, c.site, c.data)
			}
			if !strings.Contains(q.Reason, c.reason) {
				t.Errorf("reason %q, want it to contain %q", q.Reason, c.reason)
			}
		})
	}
	if info := n.consumerInfo(t); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("quarantined messages not acked: %d pending, %d unacked", info.NumPending, info.NumAckPending)
	}
	if s := r.Stats(); s.Stored != 0 || s.Received != uint64(len(cases)) {
		t.Errorf("stats %+v", s)
	}
}

func TestReplayedSeqIsADuplicate(t *testing.T) {
	n := startNode(t)
	r := n.run(t, openStore(t), ingest.Config{})
	n.publishAcks(t, "ik5", 1, 2, 1)
	eventually(t, "three messages handled", func() bool { s := r.Stats(); return s.Stored+s.Duplicates == 3 })
	if s := r.Stats(); s.Stored != 2 || s.Duplicates != 1 || s.Received != 3 {
		t.Errorf("stats %+v, want 2 stored and 1 duplicate", s)
	}
}

func TestStoreOutageLosesNothing(t *testing.T) {
	n := startNode(t)
	faulty := &faultyStore{observed: openStore(t)}
	faulty.down.Store(true)
	r := n.run(t, faulty, ingest.Config{Batch: 5})
	const total = 20
	n.publishAcks(t, "ik5", seqRange(1, total)...)

	eventually(t, "store errors", func() bool { return r.Stats().StoreErrors >= total })
	if got := faulty.site(t, "ik5").HighestSeq; got != 0 {
		t.Fatalf("seq %d stored while the store is down", got)
	}
	if s := r.Stats(); !strings.Contains(s.LastError, errDown.Error()) {
		t.Errorf("last error %q", s.LastError)
	}
	faulty.down.Store(false)
	eventually(t, "every message stored after the outage", allStored(t, faulty.observed, "ik5", total))
	eventually(t, "every message acked", func() bool {
		info := n.consumerInfo(t)
		return info.NumPending == 0 && info.NumAckPending == 0
	})
	eventually(t, "the stats", func() bool { return r.Stats().Stored == total })
}

func TestGapIsAskedForUntilFilled(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	clk := &clock{now: t0}
	resendTopic, err := wire.ResendTopic(region, "ik5")
	if err != nil {
		t.Fatal(err)
	}
	subject, err := broker.Subject(resendTopic)
	if err != nil {
		t.Fatal(err)
	}
	requests := make(chan *nats.Msg, 16)
	sub, err := n.nc.ChanSubscribe(subject, requests)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := n.nc.Flush(); err != nil {
		t.Fatal(err)
	}

	const after = 10 * time.Second
	r := n.run(t, st, ingest.Config{ResendAfter: after, GapInterval: 5 * time.Millisecond, Now: clk.Now})
	n.publishAcks(t, "ik5", 1, 2, 4)
	eventually(t, "three stored", func() bool { return st.site(t, "ik5").HighestSeq == 4 })

	// checks waits until the loop has begun two more gap checks, so that
	// what it decided with the current clock is done.
	checks := func() {
		t.Helper()
		start, _ := st.counts()
		eventually(t, "gap checks", func() bool { c, _ := st.counts(); return c >= start+2 })
	}
	receive := func() wire.ResendRequest {
		t.Helper()
		select {
		case m := <-requests:
			req, err := wire.DecodeResendRequest(m.Data, clk.Now())
			if err != nil {
				t.Fatalf("resend request: %v", err)
			}
			return req
		case <-time.After(20 * time.Second):
			t.Fatal("no resend request")
		}
		return wire.ResendRequest{}
	}
	notes := func() int { _, n := st.counts(); return n }

	checks()
	if notes() != 0 {
		t.Fatal("a gap younger than ResendAfter was asked for")
	}

	clk.Add(after)
	req := receive()
	if req.Site != "ik5" || req.From != 3 || req.To != 3 || !req.At.Equal(clk.Now()) {
		t.Errorf("request %+v, want ik5 3..3 at %v", req, clk.Now())
	}

	// The next request waits the backoff (ResendAfter after the first).
	clk.Add(after - time.Second)
	checks()
	if notes() != 1 {
		t.Fatalf("%d requests before the backoff passed, want 1", notes())
	}
	clk.Add(time.Second)
	if req2 := receive(); req2.From != 3 || req2.To != 3 || req2.ID == req.ID {
		t.Errorf("second request %+v", req2)
	}

	// Filling the gap stops the requests.
	n.publishAcks(t, "ik5", 3)
	eventually(t, "the gap filled", allStored(t, st, "ik5", 4))
	clk.Add(time.Hour)
	checks()
	if got := notes(); got != 2 {
		t.Errorf("%d requests, want 2", got)
	}
	if s := r.Stats(); s.ResendRequests != 2 {
		t.Errorf("stats %+v, want 2 resend requests", s)
	}
	if err := n.nc.Flush(); err != nil {
		t.Fatal(err)
	}
	if len(requests) != 0 {
		t.Errorf("%d requests after the gap was filled", len(requests))
	}
}

func TestIngestersShareTheConsumer(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	cfg := ingest.Config{Batch: 10}
	a := n.run(t, st, cfg)
	b := n.run(t, st, cfg)
	// Both must be waiting on the consumer before the messages arrive.
	eventually(t, "two pull requests waiting", func() bool { return n.consumerInfo(t).NumWaiting == 2 })

	const total = 400
	n.publishAcks(t, "ik5", seqRange(1, total)...)
	eventually(t, "every message stored", allStored(t, st, "ik5", total))
	eventually(t, "the stats", func() bool { return a.Stats().Stored+b.Stats().Stored == total })
	sa, sb := a.Stats(), b.Stats()
	if sa.Stored == 0 || sb.Stored == 0 {
		t.Errorf("one ingester did all the work: %d and %d", sa.Stored, sb.Stored)
	}
	if sa.Stored+sb.Stored != total || sa.Duplicates+sb.Duplicates != 0 {
		t.Errorf("stored %d + %d, duplicates %d + %d; want %d stored once", sa.Stored, sb.Stored, sa.Duplicates, sb.Duplicates, total)
	}
}

func TestNewValidates(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	cases := []struct {
		name string
		cfg  ingest.Config
		want string
	}{
		{"no region", ingest.Config{}, "region"},
		{"bad region", ingest.Config{Region: "no/rth"}, "region"},
		{"negative batch", ingest.Config{Region: region, Batch: -1}, "batch"},
		{"ack pending below batch", ingest.Config{Region: region, Batch: 50, MaxAckPending: 10}, "max ack pending"},
		{"no stream", ingest.Config{Region: "south"}, "stream"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ingest.New(n.js, n.nc, st, c.cfg)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("New: %v, want an error naming %q", err, c.want)
			}
		})
	}
	if _, err := ingest.New(n.js, n.nc, nil, ingest.Config{Region: region}); err == nil {
		t.Error("New accepted a nil store")
	}
}

func TestStopFinishesTheMessageInHand(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	gate := &gateStore{observed: st, seq: 1, entered: make(chan struct{}), release: make(chan struct{})}
	cfg := ingest.Config{Batch: 5, AckWait: time.Hour}
	r := n.run(t, gate, cfg)
	n.publishAcks(t, "ik5", seqRange(1, 5)...)
	<-gate.entered
	r.cancel()
	close(gate.release)
	r.stop(t)

	if s := r.Stats(); s.Stored != 1 || s.Received != 1 {
		t.Errorf("stats %+v, want only the message in hand stored", s)
	}
	if got := st.site(t, "ik5"); got.HighestSeq != 1 {
		t.Errorf("highest seq %d stored, want 1", got.HighestSeq)
	}
	// The rest of the batch was handed back at once: the next ingester
	// gets it long before the ack wait would have given it back.
	n.run(t, st, cfg)
	eventually(t, "the rest stored by the next ingester", allStored(t, st, "ik5", 5))
}

// TestOversizedAndForeignPayloadsChangeNothing sends, after each site's
// first message, a payload over wire.MaxPayloadLen and a payload of ik6
// on ik5's topic (whose seq would open a gap at either site): both are
// quarantined with their reason and acked, and what the store knows of
// the sites is as before.
func TestOversizedAndForeignPayloadsChangeNothing(t *testing.T) {
	n := startNode(t)
	st := openStore(t)
	r := n.run(t, st, ingest.Config{})
	n.publishAcks(t, "ik5", 1)
	n.publishAcks(t, "ik6", 1)
	eventually(t, "both sites stored", func() bool { return r.Stats().Stored == 2 })
	before, err := st.Store.Sites(t.Context())
	if err != nil || len(before) != 2 {
		t.Fatalf("sites %+v, %v", before, err)
	}

	good := string(ack(t, "ik5", 5))
	oversized := []byte(good[:len(good)-1] + `,"pad":"` + strings.Repeat("x", wire.MaxPayloadLen) + `"}`)
	foreign := ack(t, "ik6", 5)
	cases := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"oversized", oversized, fmt.Sprintf("larger than %d", wire.MaxPayloadLen)},
		{"another site's payload", foreign, `"ik6" does not match the topic's site "ik5"`},
	}
	for _, c := range cases {
		n.publish(t, ackTopic(t, "ik5"), c.data)
	}
	eventually(t, "quarantined", func() bool { return r.Stats().Quarantined == uint64(len(cases)) })

	got, err := st.QuarantinedMessages(t.Context(), "", 0)
	if err != nil || len(got) != len(cases) {
		t.Fatalf("quarantine: %d entries, %v", len(got), err)
	}
	slices.Reverse(got) // newest first
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			q := got[i]
			if q.Topic != ackTopic(t, "ik5") || q.Site != "ik5" || q.Seq != 0 || !bytes.Equal(q.Raw, c.data) {
				t.Errorf("quarantined topic %q site %q seq %d, %d bytes; want ik5's topic, seq 0 and the %d bytes sent",
					q.Topic, q.Site, q.Seq, len(q.Raw), len(c.data))
			}
			if !strings.Contains(q.Reason, c.reason) {
				t.Errorf("reason %q, want it to contain %q", q.Reason, c.reason)
			}
		})
	}
	after, err := st.Store.Sites(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(after, before) {
		t.Errorf("sites changed:\n got %+v\nwant %+v", after, before)
	}
	for _, site := range []string{"ik5", "ik6"} {
		if g, err := st.Gaps(t.Context(), site); err != nil || len(g) != 0 {
			t.Errorf("%s gaps %+v, %v; want none", site, g, err)
		}
	}
	if info := n.consumerInfo(t); info.NumAckPending != 0 || info.NumPending != 0 {
		t.Errorf("quarantined messages not acked: %d pending, %d unacked", info.NumPending, info.NumAckPending)
	}
	if s := r.Stats(); s.Stored != 2 || s.Received != 4 {
		t.Errorf("stats %+v, want 2 stored of 4 received", s)
	}
}
