package uplink

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"go.uber.org/goleak"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

const (
	testRegion = "r1"
	testSite   = "s1"
)

// memOutbox is an in-memory Outbox with the store's contract: seqs
// assigned on append, Pending ascending above afterSeq, MarkSent
// idempotent, Range ascending within the range, sent or not.
type memOutbox struct {
	mu   sync.Mutex
	msgs []Message // ascending seq
	sent map[uint64]bool
	next uint64

	pendingCalls atomic.Int64
	markCalls    atomic.Int64
	rangeCalls   atomic.Int64
	// beforeMark runs before every MarkSent; a non-nil error fails it.
	beforeMark func(seqs []uint64) error
	// failPending makes this many Pending calls fail.
	failPending atomic.Int64
}

func newMemOutbox() *memOutbox { return &memOutbox{sent: map[uint64]bool{}} }

// backlogOutbox is an outbox already holding n unsent test messages.
func backlogOutbox(t *testing.T, n int) *memOutbox {
	o := newMemOutbox()
	for range n {
		o.add(testMessage(t))
	}
	return o
}

// add stores a message built for its sequence number, as the store does
// inside one transaction.
func (o *memOutbox) add(build func(seq uint64) Message) uint64 {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.next++
	m := build(o.next)
	m.Seq = o.next
	o.msgs = append(o.msgs, m)
	return o.next
}

func (o *memOutbox) Pending(ctx context.Context, afterSeq uint64, limit int) ([]Message, error) {
	o.pendingCalls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if o.failPending.Load() > 0 {
		o.failPending.Add(-1)
		return nil, fmt.Errorf("disk I/O error (injected)")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.msgs), func(i int) bool { return o.msgs[i].Seq > afterSeq })
	var out []Message
	for ; i < len(o.msgs) && len(out) < limit; i++ {
		if !o.sent[o.msgs[i].Seq] {
			out = append(out, o.msgs[i])
		}
	}
	return out, nil
}

func (o *memOutbox) MarkSent(ctx context.Context, seqs []uint64) error {
	o.markCalls.Add(1)
	if err := ctx.Err(); err != nil {
		return err
	}
	if o.beforeMark != nil {
		if err := o.beforeMark(seqs); err != nil {
			return err
		}
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		if s == 0 || s > o.next {
			return fmt.Errorf("seq %d was never assigned", s)
		}
		o.sent[s] = true
	}
	return nil
}

func (o *memOutbox) Range(ctx context.Context, from, to uint64, limit int) ([]Message, error) {
	o.rangeCalls.Add(1)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	i := sort.Search(len(o.msgs), func(i int) bool { return o.msgs[i].Seq >= from })
	var out []Message
	for ; i < len(o.msgs) && o.msgs[i].Seq <= to && len(out) < limit; i++ {
		m := o.msgs[i]
		m.Sent = o.sent[m.Seq]
		out = append(out, m)
	}
	return out, nil
}

func (o *memOutbox) OutboxDepth(ctx context.Context) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.msgs) - len(o.sent), nil
}

func (o *memOutbox) unsent() int {
	n, _ := o.OutboxDepth(context.Background())
	return n
}

// testMessage is a realistic outbox message for seq: mostly sightings with
// a small face crop, every 7th an alert, every 10th an audit record, so
// the stream crosses topics.
func testMessage(t *testing.T) func(uint64) Message {
	return func(seq uint64) Message {
		now := time.Now().UTC()
		crop := make([]byte, 1500)
		copy(crop, []byte{0xFF, 0xD8, 0xFF, 0xE0})
		_, _ = rand.Read(crop[4:])
		var p wire.Payload
		switch {
		case seq%10 == 0:
			p = wire.AuditRecord{ID: wire.MustNewID(), Seq: seq, Site: testSite, At: now, Actor: "sup-1", Action: "view",
				Object: fmt.Sprintf("person/P-%d", seq), Prev: strings.Repeat("a", 64), Hash: strings.Repeat("b", 64)}
		case seq%7 == 0:
			p = wire.Alert{ID: wire.MustNewID(), Seq: seq, Site: testSite, Rule: "wl", Kind: wire.AlertWatchlist,
				Severity: wire.SeverityCritical, Sighting: wire.MustNewID(), Person: "P-7", Camera: "gate-1", At: now,
				Evidence: wire.Evidence{Score: 0.8, Margin: 0.2, Frames: 5, Crop: crop}}
		default:
			p = wire.Sighting{ID: wire.MustNewID(), Seq: seq, Site: testSite, Camera: "gate-1", Track: seq,
				Person: "P-1", FirstSeen: now.Add(-time.Second), BestAt: now, LastSeen: now, Frames: 3,
				Score: 0.7, Margin: 0.1, Model: "fused-1", Quality: 0.9, Crop: crop}
		}
		b, err := wire.Encode(p)
		if err != nil {
			t.Errorf("test payload %d: %v", seq, err)
		}
		topic, _ := wire.Topic{Kind: p.TopicKind(), Region: testRegion, Site: testSite}.Build()
		return Message{Topic: topic, Payload: b, QoS: 1}
	}
}

// received is one message as a test subscriber saw it.
type received struct {
	topic    string
	seq      uint64 // 0 for status messages
	state    string // site status state, if any
	reason   string
	retained bool
	at       time.Time
	camera   *wire.CameraStatus // set for camera status messages
}

// subscriber is a region-side paho client that decodes what it receives
// with wire.Decode, as the aggregator will, skipping what is not for the
// region (the hardware test's pings, and the region's own resend requests
// to the site, which a filter over a site's subtree also matches).
type subscriber struct {
	t        *testing.T
	filter   string
	user     string
	pass     string
	mu       sync.Mutex
	got      []received
	bad      []string
	client   mqtt.Client
	clientNo int
}

func newSubscriber(t *testing.T, addr, filter, user, pass string) *subscriber {
	t.Helper()
	s := &subscriber{t: t, filter: filter, user: user, pass: pass}
	s.connect(addr)
	t.Cleanup(s.close)
	return s
}

func (s *subscriber) connect(addr string) {
	s.t.Helper()
	s.clientNo++
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("test-sub-%d-%d", time.Now().UnixNano()%1e9, s.clientNo)).
		SetCleanSession(true).SetAutoReconnect(false).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second)
	if s.user != "" {
		opts.SetUsername(s.user).SetPassword(s.pass)
	}
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("subscriber connect to %s: %v", addr, tok.Error())
	}
	tok := c.Subscribe(s.filter, 1, s.handle)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		s.t.Fatalf("subscribe %s: %v", s.filter, tok.Error())
	}
	s.mu.Lock()
	s.client = c
	s.mu.Unlock()
}

func (s *subscriber) handle(_ mqtt.Client, m mqtt.Message) {
	r := received{topic: m.Topic(), retained: m.Retained(), at: time.Now()}
	if t, err := wire.ParseTopic(m.Topic()); err == nil && t.Kind == wire.KindResend {
		return
	}
	msg, err := wire.Decode(m.Topic(), m.Payload(), time.Now())
	if errors.Is(err, wire.ErrNotForRegion) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		s.bad = append(s.bad, err.Error())
		return
	}
	r.seq = msg.Seq()
	if st, ok := msg.Payload.(wire.SiteStatus); ok {
		r.state, r.reason = st.State, st.Reason
	}
	if cs, ok := msg.Payload.(wire.CameraStatus); ok {
		r.camera = &cs
	}
	s.got = append(s.got, r)
}

// reconnect replaces the connection (after a broker restart, which lost
// every session) and subscribes again before returning.
func (s *subscriber) reconnect(addr string) {
	s.t.Helper()
	s.mu.Lock()
	old := s.client
	s.mu.Unlock()
	old.Disconnect(0)
	s.connect(addr)
}

func (s *subscriber) close() {
	s.mu.Lock()
	c := s.client
	s.mu.Unlock()
	if c != nil {
		c.Disconnect(100)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.bad) > 0 {
		s.t.Errorf("subscriber could not decode %d messages, first: %s", len(s.bad), s.bad[0])
	}
}

func (s *subscriber) snapshot() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.got...)
}

// seqs returns the outbox seqs received, in arrival order, duplicates
// included.
func (s *subscriber) seqs() []uint64 {
	var out []uint64
	for _, r := range s.snapshot() {
		if r.seq != 0 {
			out = append(out, r.seq)
		}
	}
	return out
}

// statuses returns the site status messages received.
func (s *subscriber) statuses() []received {
	var out []received
	for _, r := range s.snapshot() {
		if r.state != "" {
			out = append(out, r)
		}
	}
	return out
}

// cameras returns the camera status messages received, in arrival order.
func (s *subscriber) cameras() []received {
	var out []received
	for _, r := range s.snapshot() {
		if r.camera != nil {
			out = append(out, r)
		}
	}
	return out
}

// waitUntil polls cond every 10 ms until it holds or timeout passes. It
// polls because what the tests wait for (the uplink's Stats, what a
// subscriber received, the outbox) changes without telling anyone.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// produce adds n messages to the outbox as the site does, telling the
// uplink of each, and adds each once the uplink has taken (published) the
// one before: live traffic interleaved with the uplink's work, whatever
// the machine's speed. It returns early once stop is closed (nil: never),
// and fails the test if a message is not taken within a minute.
func produce(t *testing.T, u *runningUplink, ob *memOutbox, n int, stop <-chan struct{}) {
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	for range n {
		seq := ob.add(testMessage(t))
		u.Notify()
		if !waitUntil(time.Minute, func() bool { return stopped() || u.Stats().NewestSeq >= seq }) {
			t.Errorf("message %d not taken within a minute; stats %+v", seq, u.Stats())
			return
		}
		if stopped() {
			return
		}
	}
}

// bubbleClock is a clock for Options.Now in a synctest bubble: the
// bubble's fake clock, which starts in 2000, moved forward to today, since
// wire payloads refuse times before 2020.
func bubbleClock(today time.Time) func() time.Time {
	offset := today.Sub(time.Now())
	return func() time.Time { return time.Now().Add(offset) }
}

// firstCopies keeps the first copy of each seq, in arrival order: what a
// receiver that drops repeats stores.
func firstCopies(seqs []uint64) []uint64 {
	seen := map[uint64]bool{}
	var out []uint64
	for _, s := range seqs {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// checkSequence fails unless first copies are exactly 1..n in order.
func checkSequence(t *testing.T, seqs []uint64, n int) {
	t.Helper()
	first := firstCopies(seqs)
	if len(first) != n {
		t.Errorf("received %d distinct seqs, want %d", len(first), n)
	}
	for i, s := range first {
		if s != uint64(i+1) {
			t.Errorf("distinct seq #%d is %d, want %d (order broken or a message lost)", i+1, s, i+1)
			return
		}
	}
}

// runningUplink is an Uplink running in the background for one test.
type runningUplink struct {
	*Uplink
	cancel context.CancelFunc
	done   chan error
	log    *testenv.Buffer
	early  atomic.Int64 // seqs marked sent without a PUBACK seen by the proxy
}

// runUplink starts an uplink; when p sniffs MQTT, every MarkSent is
// checked against the PUBACKs the proxy has seen.
func runUplink(t *testing.T, cfg Config, ob *memOutbox, p *proxy) *runningUplink {
	t.Helper()
	return runUplinkAt(t, cfg, ob, p, nil)
}

// runUplinkAt is runUplink with the uplink's clock (nil: time.Now).
func runUplinkAt(t *testing.T, cfg Config, ob *memOutbox, p *proxy, now func() time.Time) *runningUplink {
	t.Helper()
	lb := &testenv.Buffer{}
	log := slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	u, err := New(cfg, ob, log, Options{Now: now, Status: func() wire.SiteStatus {
		return wire.SiteStatus{Version: "test", CamerasUp: 3, CamerasTotal: 4}
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := &runningUplink{Uplink: u, done: make(chan error, 1), log: lb}
	if p != nil && p.sniff {
		ob.beforeMark = func(seqs []uint64) error {
			for _, s := range seqs {
				if !p.isAcked(s) {
					r.early.Add(1)
				}
			}
			return nil
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(func() {
		r.stop(t)
		if t.Failed() {
			t.Logf("uplink log:\n%s", lb.String())
		}
	})
	return r
}

// stop cancels Run and waits for it; Run must return promptly.
func (r *runningUplink) stop(t *testing.T) {
	t.Helper()
	r.cancel()
	select {
	case err, ok := <-r.done:
		if ok && err != nil {
			t.Errorf("Run returned %v", err)
		}
		if ok {
			close(r.done)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return within 10s of cancellation")
	}
}

func testConfig(brokerURL string) Config {
	c := DefaultConfig()
	c.Brokers = []string{brokerURL}
	c.Region, c.Site = testRegion, testSite
	return c
}

// checkLeaks registers, as the test's first cleanup and so its last, a
// check that no goroutine the test started (paho's, the uplink's, the
// test's own) outlives it. The tests of this package do not run in
// parallel, so whatever is new at the end is this test's.
func checkLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, before) })
}
