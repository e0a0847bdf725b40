package uplink

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/dozor-edge/dozor/internal/testenv"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestDeliversInOrder: a backlog and live traffic, 200 messages, arrive
// once each and in order; the online status is retained; nothing is
// marked sent before its PUBACK; an idle uplink reads the outbox only
// when told to.
func TestDeliversInOrder(t *testing.T) {
	checkLeaks(t)
	const backlog, live = 100, 100
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := backlogOutbox(t, backlog)
	start := time.Now()
	u := runUplink(t, testConfig("tcp://"+p.addr()), ob, p)
	produce(t, u, ob, live, nil)
	if !waitUntil(20*time.Second, func() bool { return len(sub.seqs()) >= backlog+live && ob.unsent() == 0 }) {
		t.Fatalf("after 20s: %d of %d received, %d unsent; stats %+v", len(sub.seqs()), backlog+live, ob.unsent(), u.Stats())
	}
	took := time.Since(start)
	seqs := sub.seqs()
	checkSequence(t, seqs, backlog+live)
	if len(seqs) != backlog+live {
		t.Errorf("%d deliveries for %d messages on a clean run", len(seqs), backlog+live)
	}
	if n := u.early.Load(); n != 0 {
		t.Errorf("%d messages marked sent before the broker acknowledged them", n)
	}
	st := u.Stats()
	if st.Sent != backlog+live || st.Published != backlog+live || st.Resent != 0 || st.LastSentSeq != backlog+live || !st.Connected || st.OutboxDepth != 0 {
		t.Errorf("stats after the run: %+v", st)
	}
	statuses := sub.statuses()
	if len(statuses) == 0 || statuses[0].state != "online" {
		t.Fatalf("no online status before the messages: %+v", statuses)
	}

	// A dashboard that connects later sees the retained status at once.
	late := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/status", "", "")
	if !waitUntil(5*time.Second, func() bool { return len(late.statuses()) > 0 }) {
		t.Fatal("no retained site status for a late subscriber")
	}
	if r := late.statuses()[0]; !r.retained || r.state != "online" {
		t.Errorf("late subscriber got %+v, want a retained online status", r)
	}

	// Idle: Notify is the trigger, the poll a slow safety net. Camera
	// states changing while the outbox is empty take the uplink's loop
	// round without a read of the outbox (but for the poll's, should it
	// come due meanwhile).
	calls := ob.pendingCalls.Load()
	gate1 := cameraTopic(t, "gate-1")
	for i, st := range []struct {
		state, reason string
		fps           float64
	}{{wire.CameraDown, "unreachable", 0}, {wire.CameraUp, "", 5}} {
		if err := u.SetRetained(gate1, cameraPayload(t, "gate-1", st.state, st.reason, st.fps)); err != nil {
			t.Fatal(err)
		}
		if !waitUntil(5*time.Second, func() bool { return len(sub.cameras()) > i }) {
			t.Fatalf("camera state %d not received; stats %+v", i+1, u.Stats())
		}
	}
	if idle := ob.pendingCalls.Load() - calls; idle > 1 {
		t.Errorf("%d outbox reads while idle; want none but a poll (no polling storm)", idle)
	}
	t.Logf("%d messages (%d backlog, %d live) delivered in order in %v; %d deliveries, 0 duplicates; %d outbox reads, %d MarkSent calls; %d PUBLISH seen by the proxy",
		backlog+live, backlog, live, took.Round(time.Millisecond), len(seqs), ob.pendingCalls.Load(), ob.markCalls.Load(), p.pubs)
}

// TestBrokerRestart: the broker dies mid-stream and comes back on the same
// port while the site keeps producing. Every message arrives at least
// once; keeping first copies gives all of them in order; nothing was
// marked sent without a PUBACK.
func TestBrokerRestart(t *testing.T) {
	checkLeaks(t)
	const live, duringOutage = 250, 50
	const total = live + duringOutage
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := newMemOutbox()
	u := runUplink(t, testConfig("tcp://"+p.addr()), ob, p)

	// Live traffic before, during and after the outage: the producer
	// waits while the broker is away, and more messages are stored
	// meanwhile, as the site's cameras keep seeing people.
	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Add(1)
	go func() {
		defer wg.Done()
		produce(t, u, ob, live, stop)
	}()
	defer wg.Wait()
	defer close(stop)

	if !waitUntil(10*time.Second, func() bool { return len(sub.seqs()) >= 60 }) {
		t.Fatalf("only %d messages before the outage", len(sub.seqs()))
	}
	// The gate keeps the uplink out until the restarted broker has the
	// region's subscription again: without persistence the broker forgets
	// it, and messages published before it is back would reach nobody.
	p.setOpen(false)
	b.stop(syscall.SIGKILL)
	down := time.Now()
	beforeOutage := len(firstCopies(sub.seqs()))
	if !waitUntil(5*time.Second, func() bool { return !u.Stats().Connected }) {
		t.Fatal("the uplink still says connected 5s after the broker died")
	}
	for range duringOutage {
		ob.add(testMessage(t))
	}
	u.Notify()
	// The broker stays away until the uplink has been refused twice.
	acceptedBefore := p.accepted.Load()
	if !waitUntil(30*time.Second, func() bool { return p.accepted.Load()-acceptedBefore >= 2 }) {
		t.Fatalf("%d connection attempts in 30s of outage; stats %+v", p.accepted.Load()-acceptedBefore, u.Stats())
	}
	attemptsDuringOutage := p.accepted.Load() - acceptedBefore
	b.restart()
	sub.reconnect(b.addr())
	p.setOpen(true)
	up := time.Now()

	if !waitUntil(60*time.Second, func() bool { return len(firstCopies(sub.seqs())) >= total && ob.unsent() == 0 }) {
		t.Fatalf("after 60s: %d of %d distinct seqs received, %d unsent; stats %+v", len(firstCopies(sub.seqs())), total, ob.unsent(), u.Stats())
	}
	recovered := time.Since(up)
	seqs := sub.seqs()
	checkSequence(t, seqs, total)
	if n := u.early.Load(); n != 0 {
		t.Errorf("%d messages marked sent before the broker acknowledged them", n)
	}
	st := u.Stats()
	if st.Connects != 2 || st.Sent < total || st.LastSentSeq != total || st.LastError == "" {
		t.Errorf("stats after recovery: %+v", st)
	}
	online := 0
	for _, s := range sub.statuses() {
		if s.state == "online" {
			online++
		}
	}
	if online < 2 {
		t.Errorf("saw %d online statuses; want one per connection", online)
	}
	t.Logf("%d messages, %d distinct before the outage; broker down %v, %d connection attempts refused meanwhile; backlog and live traffic delivered %v after the broker came back; %d deliveries = %d duplicates; %d resent by the uplink; every seq arrived, first copies in order; 0 marked sent before PUBACK; last error: %s",
		total, beforeOutage, up.Sub(down).Round(time.Millisecond), attemptsDuringOutage, recovered.Round(time.Millisecond),
		len(seqs), len(seqs)-total, st.Resent, st.LastError)
}

// TestLastWill: when the connection dies without a goodbye the broker
// publishes the retained offline will; the uplink comes back online by
// itself, and an orderly stop leaves a retained "shutdown".
func TestLastWill(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), false)
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/status", "", "")
	ob := newMemOutbox()
	cfg := testConfig("tcp://" + p.addr())
	// The gate stays shut for several seconds on a busy machine; a
	// backoff grown past the wait below would keep the uplink out.
	cfg.MaxBackoff = 2 * time.Second
	u := runUplink(t, cfg, ob, p)

	lastState := func() received {
		st := sub.statuses()
		if len(st) == 0 {
			return received{}
		}
		return st[len(st)-1]
	}
	if !waitUntil(10*time.Second, func() bool { return lastState().state == "online" }) {
		t.Fatalf("no online status; stats %+v", u.Stats())
	}
	p.setOpen(false)
	if n := p.cut(); n != 1 {
		t.Fatalf("cut %d connections, want the uplink's one", n)
	}
	cut := time.Now()
	if !waitUntil(10*time.Second, func() bool { return lastState().state == "offline" }) {
		t.Fatalf("no will after the connection was cut; statuses %+v", sub.statuses())
	}
	willAfter := time.Since(cut)
	if r := lastState(); r.reason != "connection lost" {
		t.Errorf("will reason %q, want %q", r.reason, "connection lost")
	}
	late := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/status", "", "")
	if !waitUntil(5*time.Second, func() bool { return len(late.statuses()) > 0 }) {
		t.Fatal("no retained status after the will")
	}
	if r := late.statuses()[0]; !r.retained || r.state != "offline" {
		t.Errorf("late subscriber got %+v, want the retained offline will", r)
	}
	if !waitUntil(5*time.Second, func() bool { return !u.Stats().Connected }) {
		t.Error("uplink still says connected after its connection was cut")
	}

	p.setOpen(true)
	reopened := time.Now()
	if !waitUntil(15*time.Second, func() bool { return lastState().state == "online" }) {
		t.Fatalf("not online again after the gate reopened; stats %+v", u.Stats())
	}
	back := time.Since(reopened)

	u.stop(t)
	if !waitUntil(5*time.Second, func() bool { return lastState().state == "offline" && lastState().reason == "shutdown" }) {
		t.Fatalf("no offline status on shutdown; statuses %+v", sub.statuses())
	}
	final := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/status", "", "")
	if !waitUntil(5*time.Second, func() bool { return len(final.statuses()) > 0 }) || final.statuses()[0].reason != "shutdown" || !final.statuses()[0].retained {
		t.Errorf("retained status after shutdown: %+v", final.statuses())
	}
	if st := u.Stats(); st.State != StateStopped || st.Connected {
		t.Errorf("stats after Run returned: %+v", st)
	}
	t.Logf("will (retained, reason %q) seen %v after the cut; back online %v after the gate reopened; orderly stop left a retained offline/shutdown",
		"connection lost", willAfter.Round(time.Millisecond), back.Round(time.Millisecond))
}

// TestAuthAndTLS runs against a broker that requires a client certificate
// (TLS) and a password.
func TestAuthAndTLS(t *testing.T) {
	checkLeaks(t)
	k := testenv.NewPKI(t, testSite)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "right-horse-battery", "region": "region-pass"}, false)
	b := startBroker(t, brokerConfig{passwordFile: pwFile, caFile: k.CAFile, certFile: k.ServerCert, keyFile: k.ServerKey, plainPort: true})
	secret := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tlsConfig := func(addr, password string) Config {
		c := testConfig("ssl://" + addr)
		c.CAFile, c.CertFile, c.KeyFile = k.CAFile, k.ClientCert, k.ClientKey
		c.Username, c.PasswordFile = testSite, secret("pw-"+password, password)
		return c
	}

	t.Run("client certificate and password", func(t *testing.T) {
		const n = 20
		sub := newSubscriber(t, b.plainAddr(), "dozor/v1/r1/s1/#", "region", "region-pass")
		ob := backlogOutbox(t, n)
		u := runUplink(t, tlsConfig(b.addr(), "right-horse-battery"), ob, nil)
		if !waitUntil(15*time.Second, func() bool { return len(sub.seqs()) >= n && ob.unsent() == 0 }) {
			t.Fatalf("%d of %d over TLS; stats %+v", len(sub.seqs()), n, u.Stats())
		}
		checkSequence(t, sub.seqs(), n)
		if strings.Contains(u.log.String(), "right-horse-battery") {
			t.Error("the password appears in the log")
		}
		t.Logf("%d messages over TLS (client certificate required) with username/password, in order; broker %s", n, u.Stats().Broker)
	})

	t.Run("wrong password", func(t *testing.T) {
		p := startProxy(t, b.addr(), false) // counts the attempts
		cfg := tlsConfig(p.addr(), "wrong-pass")
		today := time.Now()
		// The uplink runs in a bubble, the proxy and the broker outside:
		// the handshakes and refusals are real, the waits between
		// attempts pass on the bubble's fake clock, as configured.
		synctest.Test(t, func(t *testing.T) {
			u := runUplinkAt(t, cfg, newMemOutbox(), nil, bubbleClock(today))
			const window = 4 * time.Second
			time.Sleep(window)
			attempts := p.accepted.Load()
			st := u.Stats()
			if st.Connected || st.State == StateConnected || st.Connects != 0 {
				t.Fatalf("connected with a wrong password: %+v", st)
			}
			if !strings.Contains(st.LastError, "broker refused") || !strings.Contains(st.LastError, `user "s1"`) {
				t.Errorf("last error %q does not say the broker refused the credentials", st.LastError)
			}
			// Backoff 1 s, 2 s, 4 s, each up to half shorter: the second
			// attempt comes within 1 s of the first, the third within 3 s,
			// the fourth after 3.5 to 7 s and the fifth after 7.5 s.
			if attempts < 3 || attempts > 4 || st.ConnectAttempts != uint64(attempts) {
				t.Errorf("%d connection attempts in %v (uplink counted %d); want 3 or 4 (backoff, no hot loop)", attempts, window, st.ConnectAttempts)
			}
			if strings.Contains(u.log.String(), "wrong-pass") {
				t.Error("the password appears in the log")
			}
			t.Logf("wrong password: %d connection attempts in %v (uplink counted %d); state %s; last error: %s", attempts, window, st.ConnectAttempts, st.State, st.LastError)
		})
	})

	t.Run("no client certificate", func(t *testing.T) {
		cfg := tlsConfig(b.addr(), "right-horse-battery")
		cfg.CertFile, cfg.KeyFile = "", ""
		u := runUplink(t, cfg, newMemOutbox(), nil)
		if !waitUntil(10*time.Second, func() bool { return u.Stats().LastError != "" }) {
			t.Fatalf("no error without a client certificate; stats %+v", u.Stats())
		}
		st := u.Stats()
		if st.Connected || !strings.Contains(st.LastError, "the broker asks for a client certificate and none is configured (cert_file, key_file)") {
			t.Errorf("stats %+v; want an error about the certificate", st)
		}
		t.Logf("without a client certificate: %s", st.LastError)
	})

	t.Run("unknown CA", func(t *testing.T) {
		cfg := tlsConfig(b.addr(), "right-horse-battery")
		cfg.CAFile = k.OtherCA
		u := runUplink(t, cfg, newMemOutbox(), nil)
		if !waitUntil(10*time.Second, func() bool { return u.Stats().LastError != "" }) {
			t.Fatalf("no error with the wrong CA; stats %+v", u.Stats())
		}
		st := u.Stats()
		if st.Connected || !strings.Contains(st.LastError, "certificate signed by unknown authority") {
			t.Errorf("stats %+v; want an unknown-authority error", st)
		}
		t.Logf("broker certificate from an unknown CA: %s", st.LastError)
	})
}

// TestSelfHashedPasswordFile checks the password file format the tests
// write themselves where mosquitto_passwd is missing.
func TestSelfHashedPasswordFile(t *testing.T) {
	checkLeaks(t)
	dir := t.TempDir()
	pwFile := filepath.Join(dir, "passwd")
	writePasswordFile(t, pwFile, map[string]string{testSite: "pa55", "region": "rp"}, true)
	b := startBroker(t, brokerConfig{passwordFile: pwFile})
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "region", "rp")
	ob := backlogOutbox(t, 5)
	cfg := testConfig("tcp://" + b.addr())
	cfg.Username, cfg.PasswordFile = testSite, filepath.Join(dir, "site-pw")
	if err := os.WriteFile(cfg.PasswordFile, []byte("pa55"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := runUplink(t, cfg, ob, nil)
	if !waitUntil(10*time.Second, func() bool { return len(sub.seqs()) >= 5 && ob.unsent() == 0 }) {
		t.Fatalf("%d of 5 received; stats %+v", len(sub.seqs()), u.Stats())
	}
	checkSequence(t, sub.seqs(), 5)
}

// TestOutboxTrouble: store errors pause the drain without dropping the
// connection, and a message that can never be published is skipped (and
// counted) instead of blocking the queue.
func TestOutboxTrouble(t *testing.T) {
	checkLeaks(t)
	b := startBroker(t, brokerConfig{})
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := newMemOutbox()
	const n = 40
	for i := range n {
		if i == 10 {
			ob.add(func(uint64) Message {
				return Message{Topic: "dozor/v1/r1/other-site/sighting", Payload: []byte("{}"), QoS: 1}
			})
			continue
		}
		ob.add(testMessage(t))
	}
	ob.failPending.Store(2)
	var failMarks sync.Once
	failed := 0
	ob.beforeMark = func([]uint64) error {
		var err error
		failMarks.Do(func() { failed++; err = os.ErrDeadlineExceeded })
		return err
	}
	u := runUplink(t, testConfig("tcp://"+b.addr()), ob, nil)
	if !waitUntil(20*time.Second, func() bool { return ob.unsent() == 0 && len(sub.seqs()) >= n-1 }) {
		t.Fatalf("%d unsent, %d received; stats %+v", ob.unsent(), len(sub.seqs()), u.Stats())
	}
	st := u.Stats()
	if st.Connects != 1 || st.Skipped != 1 || st.Sent != n-1 || !strings.Contains(st.LastError, "outbox:") {
		t.Errorf("stats %+v; want one connection, one skipped message, %d sent, an outbox error", st, n-1)
	}
	got := sub.seqs()
	for i, s := range firstCopies(got) {
		want := uint64(i + 1)
		if want >= 11 {
			want++ // seq 11 was skipped
		}
		if s != want {
			t.Fatalf("distinct seq #%d is %d, want %d", i+1, s, want)
		}
	}
	if !strings.Contains(u.log.String(), "cannot be published") {
		t.Error("the skipped message was not logged")
	}
	t.Logf("2 failed reads and %d failed MarkSent recovered on one connection; 1 foreign-topic message skipped; %d delivered, %d duplicates", failed, len(got), len(got)-len(firstCopies(got)))
}

// TestLostAcks: the broker delivers but its PUBACKs never reach the
// uplink. The uplink gives up on the connection after AckTimeout, opens a
// new one and publishes the unacknowledged messages again: the region gets
// duplicates, and keeping first copies still gives every seq in order.
func TestLostAcks(t *testing.T) {
	checkLeaks(t)
	const first, second = 20, 30
	b := startBroker(t, brokerConfig{})
	p := startProxy(t, b.addr(), true)
	sub := newSubscriber(t, b.addr(), "dozor/v1/r1/s1/#", "", "")
	ob := newMemOutbox()
	cfg := testConfig("tcp://" + p.addr())
	cfg.AckTimeout = 2 * time.Second
	u := runUplink(t, cfg, ob, p)
	for range first {
		ob.add(testMessage(t))
	}
	u.Notify()
	if !waitUntil(10*time.Second, func() bool { return ob.unsent() == 0 }) {
		t.Fatalf("first batch not sent; stats %+v", u.Stats())
	}
	p.dropAcks.Store(true)
	for range second {
		ob.add(testMessage(t))
	}
	u.Notify()
	if !waitUntil(10*time.Second, func() bool { return len(sub.seqs()) >= first+second }) {
		t.Fatalf("second batch not delivered: %d", len(sub.seqs()))
	}
	if !waitUntil(10*time.Second, func() bool { return !u.Stats().Connected }) {
		t.Fatalf("the uplink kept a connection without acknowledgements; stats %+v", u.Stats())
	}
	gaveUp := u.Stats().LastError
	p.dropAcks.Store(false)
	if !waitUntil(15*time.Second, func() bool { return ob.unsent() == 0 }) {
		t.Fatalf("not sent after the acknowledgements came back; stats %+v", u.Stats())
	}
	seqs := sub.seqs()
	checkSequence(t, seqs, first+second)
	dups := len(seqs) - (first + second)
	if dups == 0 {
		t.Error("no duplicates: the unacknowledged messages were not published again")
	}
	if n := u.early.Load(); n != 0 {
		t.Errorf("%d messages marked sent without a PUBACK", n)
	}
	st := u.Stats()
	if st.Connects != 2 || st.Resent == 0 {
		t.Errorf("stats %+v", st)
	}
	if !strings.Contains(gaveUp, "no PUBACK for seq 21 within 2s") {
		t.Errorf("last error %q; want the overdue PUBACK of seq 21", gaveUp)
	}
	t.Logf("%d messages, PUBACKs of the last %d swallowed: the uplink gave up (%s), reconnected and resent %d; %d deliveries, %d duplicates, first copies in order; 0 marked sent without PUBACK",
		first+second, second, gaveUp, st.Resent, len(seqs), dups)
}

// TestNoStallBetweenBatches: with the poll turned down to once an hour,
// every small batch must be drained on its Notify alone. A PUBACK that
// lands while the loop is deciding what to wait for must still wake it;
// otherwise the batch sits until the poll.
func TestNoStallBetweenBatches(t *testing.T) {
	checkLeaks(t)
	const batches = 250
	b := startBroker(t, brokerConfig{})
	ob := newMemOutbox()
	cfg := testConfig("tcp://" + b.addr())
	cfg.PollInterval = time.Hour
	u := runUplink(t, cfg, ob, nil)
	if !waitUntil(10*time.Second, func() bool { return u.Stats().Connected }) {
		t.Fatalf("not connected; stats %+v", u.Stats())
	}
	total := 0
	start := time.Now()
	for i := range batches {
		k := 1 + i%7
		for range k {
			ob.add(testMessage(t))
		}
		total += k
		u.Notify()
		if !waitUntil(5*time.Second, func() bool { return ob.unsent() == 0 }) {
			t.Fatalf("batch %d (%d messages) not drained 5s after Notify; stats %+v", i+1, k, u.Stats())
		}
	}
	if st := u.Stats(); st.Sent != uint64(total) || st.InFlight != 0 {
		t.Errorf("stats %+v; want %d sent, none in flight", st, total)
	}
	t.Logf("%d batches, %d messages, each drained on its Notify, in %v", batches, total, time.Since(start).Round(time.Millisecond))
}
