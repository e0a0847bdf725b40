package uplink

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

// siteACL is the ACL of TOPICS.md for region r1, with a region user that
// may read and write the whole tree.
const siteACL = `pattern write dozor/v1/r1/%u/sighting
pattern write dozor/v1/r1/%u/alert
pattern write dozor/v1/r1/%u/alert/decision
pattern write dozor/v1/r1/%u/status
pattern write dozor/v1/r1/%u/camera/+/status
pattern write dozor/v1/r1/%u/audit
pattern write dozor/v1/r1/%u/gallery/ack
pattern read dozor/v1/r1/%u/gallery/revision
pattern read dozor/v1/r1/%u/resend
pattern readwrite dozor/v1/r1/%u/hwtest

user region
topic readwrite dozor/#
`

// regionClient connects to addr as the region, which publishes resend
// requests.
func regionClient(t *testing.T, addr, user, pass string) mqtt.Client {
	t.Helper()
	opts := mqtt.NewClientOptions().AddBroker("tcp://" + addr).
		SetClientID(fmt.Sprintf("test-region-%d", time.Now().UnixNano()%1e9)).
		SetCleanSession(true).SetAutoReconnect(false).SetProtocolVersion(4).
		SetConnectTimeout(5 * time.Second).SetUsername(user).SetPassword(pass)
	c := mqtt.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("region connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// request encodes a resend request for site.
func request(t *testing.T, site string, from, to uint64) []byte {
	t.Helper()
	b, err := wire.Encode(wire.ResendRequest{ID: wire.MustNewID(), Site: site, From: from, To: to, At: time.Now().UTC()})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// publishRequest publishes payload on topic as the region does (QoS 1,
// not retained) and waits for the broker's PUBACK.
func publishRequest(t *testing.T, c mqtt.Client, topic string, payload []byte) {
	t.Helper()
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("publish %s: %v", topic, tok.Error())
	}
}

// copiesOf counts the deliveries of each seq.
func copiesOf(seqs []uint64) map[uint64]int {
	n := map[uint64]int{}
	for _, s := range seqs {
		n[s]++
	}
	return n
}

// TestResendOnRequest runs the region's side of gap repair against a real
// broker with the site ACL of TOPICS.md: requests for ranges published on
// the site's resend topic are served by publishing exactly the range's
// sent messages again, in order; the range's unsent messages are left to
// the drain; requests on another site's topic never arrive, and
// malformed, foreign or oversized ones are ignored and counted. A request
// published while the site is away is kept by the broker in the site's
// session and served after the next connect.
func TestResendOnRequest(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "pw", "s2": "pw2", "region": "rp"}, false)
	b := startBroker(t, brokerConfig{passwordFile: pwFile, aclFile: writeSecret(t, dir, "acl", siteACL)})
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "region", "rp")
	region := regionClient(t, b.addr(), "region", "rp")

	const sent, unsent = 30, 5
	ob := backlogOutbox(t, sent)
	cfg := testConfig("tcp://" + b.addr())
	cfg.Username, cfg.PasswordFile = testSite, writeSecret(t, dir, "site-pw", "pw")
	cfg.PollInterval = time.Hour // the unsent messages below wait for Notify
	u := runUplink(t, cfg, ob, nil)
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= sent && ob.unsent() == 0 }) {
		t.Fatalf("%d of %d received; stats %+v", len(sub.seqs()), sent, u.Stats())
	}
	for range unsent {
		ob.add(testMessage(t)) // 31..35, stored, not yet noticed by the uplink
	}

	own, _ := wire.ResendTopic(testRegion, testSite)
	other, _ := wire.ResendTopic(testRegion, "s2")
	// Refused before a request is served, in this order: the last two
	// requests are served only after the uplink has handled these.
	publishRequest(t, region, other, request(t, "s2", 1, 10))                                                                                                  // another site's topic: never delivered here
	publishRequest(t, region, own, request(t, "s2", 1, 10))                                                                                                    // another site's request on this topic
	publishRequest(t, region, own, []byte(`{"v":1,"site":"s1","from":5,`))                                                                                     // malformed
	publishRequest(t, region, own, request(t, testSite, 1, 1)[:20])                                                                                            // truncated
	publishRequest(t, region, own, []byte(`{"v":1,"id":"0197a3c2-ad00-7f00-8e55-7fbd3a9b5c66","site":"s1","from":1,"to":200000,"at":"2025-06-01T12:05:00Z"}`)) // too large a range
	publishRequest(t, region, own, request(t, testSite, 5, 12))
	publishRequest(t, region, own, request(t, testSite, 28, 35)) // 31..35 are not sent yet
	const ignored = 4

	const again = (12 - 5 + 1) + (30 - 28 + 1)
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= sent+again }) {
		t.Fatalf("%d of %d deliveries; stats %+v", len(sub.seqs()), sent+again, u.Stats())
	}
	st := u.Stats()
	if st.ResendRequests != 2 || st.ResentOnRequest != again || st.ResendIgnored != ignored {
		t.Errorf("stats %+v; want 2 requests accepted, %d messages again, %d requests ignored (the one on s2's topic never arrives)", st, again, ignored)
	}
	seqs := sub.seqs()
	if len(seqs) != sent+again {
		t.Errorf("%d deliveries, want %d", len(seqs), sent+again)
	}
	n := copiesOf(seqs)
	for s := uint64(1); s <= sent+unsent; s++ {
		want := 1
		switch {
		case s >= 5 && s <= 12, s >= 28 && s <= 30:
			want = 2
		case s > sent:
			want = 0
		}
		if n[s] != want {
			t.Errorf("seq %d delivered %d times, want %d", s, n[s], want)
		}
	}
	var repeats []uint64
	for _, s := range seqs[sent:] {
		repeats = append(repeats, s)
	}
	if want := []uint64{5, 6, 7, 8, 9, 10, 11, 12, 28, 29, 30}; fmt.Sprint(repeats) != fmt.Sprint(want) {
		t.Errorf("published again %v, want %v in this order", repeats, want)
	}
	// The second request is done once its last part is acknowledged,
	// which may come after the subscriber has its copies.
	if !waitUntil(10*time.Second, func() bool { return strings.Count(u.log.String(), "range published again") == 2 }) {
		t.Errorf("the served requests are not logged")
	}
	log := u.log.String()
	for _, want := range []string{"resend requests ignored", `does not match the topic's site`, "the region asks for a range again", "not_sent_yet=5"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q", want)
		}
	}

	// The drain sends the unsent ones in their turn, once each.
	u.Notify()
	if !waitUntil(20*time.Second, func() bool { return ob.unsent() == 0 && len(sub.seqs()) >= sent+again+unsent }) {
		t.Fatalf("%d unsent, %d deliveries; stats %+v", ob.unsent(), len(sub.seqs()), u.Stats())
	}
	checkSequence(t, sub.seqs(), sent+unsent)

	// Away: the broker keeps the request in the site's session and hands
	// it over at the next connect, before the subscription is renewed.
	u.stop(t)
	publishRequest(t, region, own, request(t, testSite, 1, 3))
	u2 := runUplink(t, cfg, ob, nil)
	before := len(sub.seqs())
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= before+3 }) {
		t.Fatalf("the request made while away was not served; stats %+v", u2.Stats())
	}
	if got := sub.seqs()[before:]; fmt.Sprint(got) != "[1 2 3]" || u2.Stats().ResentOnRequest != 3 {
		t.Errorf("after the reconnect published again %v (stats %+v), want [1 2 3]", got, u2.Stats())
	}
	t.Logf("%d messages, 2 ranges asked for and %d messages published again in order, %d requests ignored, one served after a reconnect", sent+unsent, again, ignored)
}

// TestResendChunks: a range longer than the window is served a window at
// a time, each part after the broker acknowledged the one before, and the
// messages of a range the outbox no longer keeps are simply missing.
func TestResendChunks(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	region := regionClient(t, b.addr(), "", "")
	const n = 120
	ob := backlogOutbox(t, n)
	cfg := testConfig("tcp://" + b.addr())
	cfg.Window = 8
	u := runUplink(t, cfg, ob, nil)
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= n && ob.unsent() == 0 }) {
		t.Fatalf("%d of %d received; stats %+v", len(sub.seqs()), n, u.Stats())
	}
	// Pruned rows: 1..9 are gone from the outbox.
	ob.mu.Lock()
	ob.msgs = ob.msgs[9:]
	ob.mu.Unlock()
	calls := ob.rangeCalls.Load()
	own, _ := wire.ResendTopic(testRegion, testSite)
	publishRequest(t, region, own, request(t, testSite, 1, 100))
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= n+91 }) {
		t.Fatalf("%d deliveries, want %d; stats %+v", len(sub.seqs()), n+91, u.Stats())
	}
	got := sub.seqs()[n:]
	for i, s := range got {
		if s != uint64(10+i) {
			t.Fatalf("published again %v, want 10..100 in order", got)
		}
	}
	// 91 messages, at most 8 a read: 11 full reads and a short one that
	// ends the range.
	if reads := ob.rangeCalls.Load() - calls; reads != 12 || u.Stats().ResentOnRequest != 91 {
		t.Errorf("%d outbox reads, %d published again; want 12 reads of at most 8 and 91 messages", reads, u.Stats().ResentOnRequest)
	}
}

// TestResendQueue checks the queue of requests without a broker: ranges
// another request already covers are merged, a range covering waiting
// requests replaces them, the queue holds a few, a long range is capped at
// MaxResendPerRequest, and refusals are logged once a minute with their
// count.
func TestResendQueue(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lb := &testenv.Buffer{}
	u, err := New(testConfig("tcp://127.0.0.1:1"), newMemOutbox(), slog.New(slog.NewTextHandler(lb, nil)),
		Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	topic, _ := wire.ResendTopic(testRegion, testSite)
	ask := func(from, to uint64) {
		t.Helper()
		b, err := wire.Encode(wire.ResendRequest{ID: wire.MustNewID(), Site: testSite, From: from, To: to, At: now})
		if err != nil {
			t.Fatal(err)
		}
		u.resendRequest(topic, b)
	}
	queue := func() string {
		u.mu.Lock()
		defer u.mu.Unlock()
		var out []string
		for _, j := range u.resendQ {
			out = append(out, fmt.Sprintf("%d-%d", j.from, j.to))
		}
		return strings.Join(out, " ")
	}
	steps := []struct {
		name     string
		from, to uint64
		want     string
	}{
		{"first", 1, 100, "1-100"},
		{"the same again", 1, 100, "1-100"},
		{"inside the running one", 10, 20, "1-100"},
		{"overlapping", 50, 150, "1-100 50-150"},
		{"inside a waiting one", 60, 140, "1-100 50-150"},
		{"another", 200, 300, "1-100 50-150 200-300"},
		{"another", 400, 500, "1-100 50-150 200-300 400-500"},
		{"covering the waiting ones", 40, 600, "1-100 40-600"},
		{"fill", 700, 710, "1-100 40-600 700-710"},
		{"fill", 720, 730, "1-100 40-600 700-710 720-730"},
		{"fill", 740, 750, "1-100 40-600 700-710 720-730 740-750"},
		{"full", 760, 770, "1-100 40-600 700-710 720-730 740-750"},
	}
	for _, s := range steps {
		ask(s.from, s.to)
		if got := queue(); got != s.want {
			t.Fatalf("after %s (%d-%d): queue %q, want %q", s.name, s.from, s.to, got, s.want)
		}
	}
	if st := u.Stats(); st.ResendRequests != 11 || st.ResendIgnored != 1 {
		t.Errorf("stats %+v; want 11 accepted, 1 ignored (the queue full)", st)
	}

	u.mu.Lock()
	u.resendQ = nil
	u.mu.Unlock()
	ask(1, wire.MaxResendRange)
	if got, want := queue(), fmt.Sprintf("1-%d", MaxResendPerRequest); got != want {
		t.Errorf("a long range: queue %q, want %q", got, want)
	}
	if !strings.Contains(lb.String(), fmt.Sprintf("asked_to=%d", wire.MaxResendRange)) {
		t.Errorf("the cap is not logged:\n%s", lb.String())
	}

	// Refusals: the first at once (it was the full queue above), then at
	// most one line a minute with the count since.
	bad := func() { u.resendRequest(topic, []byte(`{"v":1}`)) }
	lines := func() int { return strings.Count(lb.String(), "resend requests ignored") }
	bad()
	bad()
	if lines() != 1 {
		t.Fatalf("%d log lines for refusals within a minute, want the first alone:\n%s", lines(), lb.String())
	}
	now = now.Add(resendLogEvery)
	bad()
	if lines() != 2 || !strings.Contains(lb.String(), "count=3") {
		t.Errorf("a minute later: %d lines, want 2, the last counting 3:\n%s", lines(), lb.String())
	}
	u.resendRequest("dozor/v1/r1/s1/sighting", []byte(`{}`))
	if st := u.Stats(); st.ResendIgnored != 5 {
		t.Errorf("ignored %d, want 5", st.ResendIgnored)
	}
}
