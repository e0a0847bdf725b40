package loadgen

import (
	"bytes"
	"fmt"
	"image/jpeg"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"go.uber.org/goleak"
	"golang.org/x/crypto/bcrypt"

	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/sync/wire"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestScheduleDue(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Schedule
		at   time.Duration
		want int64
	}{
		{"start", Schedule{Rate: 100}, 0, 0},
		{"steady 1s", Schedule{Rate: 100}, time.Second, 100},
		{"steady fraction", Schedule{Rate: 3}, 500 * time.Millisecond, 1},
		{"steady 10s", Schedule{Rate: 400}, 10 * time.Second, 4000},
		{"burst peak half", Schedule{Rate: 100, Burst: true}, BurstPeriod / 2, 500},
		{"burst lull", Schedule{Rate: 100, Burst: true}, BurstPeriod/2 + time.Second, 510},
		{"burst cycle", Schedule{Rate: 100, Burst: true}, BurstPeriod, 550},
		{"burst two cycles and a bit", Schedule{Rate: 100, Burst: true}, 2*BurstPeriod + time.Second, 1200},
		{"no rate", Schedule{}, time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.s.Due(tc.at); got != tc.want {
				t.Errorf("Due(%v) = %d, want %d", tc.at, got, tc.want)
			}
		})
	}
}

// TestPacing runs the pacer on synctest's clock: the messages handed out
// follow the schedule, in turn across the sites, and stop at the duration.
func TestPacing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		sites := make([]*siteRun, 3)
		for i := range sites {
			sites[i] = &siteRun{kick: make(chan struct{}, 1)}
		}
		s := Schedule{Rate: 90, Burst: true}
		start := time.Now() // time stands still in the bubble until every goroutine waits
		done := make(chan struct{})
		go func() { pace(t.Context(), s, 7*time.Second, sites); close(done) }()
		total := func() (n int64) {
			for _, st := range sites {
				d, _ := st.state()
				n += d
			}
			return n
		}
		for _, at := range []time.Duration{time.Second, 5 * time.Second, 6 * time.Second} {
			time.Sleep(time.Until(start.Add(at)))
			synctest.Wait()
			if got, want := total(), s.Due(at); got != want {
				t.Errorf("after %v: %d handed out, want %d", at, got, want)
			}
		}
		<-done
		if got, want := total(), s.Due(7*time.Second); got != want {
			t.Errorf("at the end: %d handed out, want %d", got, want)
		}
		for i, st := range sites {
			if d, _ := st.state(); d < total()/3 || d > total()/3+1 {
				t.Errorf("site %d got %d of %d: not in turn", i, d, total())
			}
		}
	})
}

// TestMessages checks a long run of one site's messages: every payload
// decodes for its topic, seqs run from 1 without gaps, the audit chain
// links, crops are JPEG, every kind appears.
func TestMessages(t *testing.T) {
	g := newSiteGen("north", "ik5.a", 7)
	now := time.Now()
	var seq uint64
	prev := strings.Repeat("0", 64)
	var auditSeq uint64
	kinds := map[wire.Kind]int{}
	crops := 0
	for i := range 5000 {
		m, err := g.next(now)
		if err != nil {
			t.Fatal(err)
		}
		if len(m.payload) > wire.MaxPayloadLen {
			t.Fatalf("message %d: %d bytes", i, len(m.payload))
		}
		dm, err := wire.Decode(m.topic, m.payload, now)
		if err != nil {
			t.Fatalf("message %d (%s): %v\n%s", i, m.topic, err, m.payload)
		}
		kinds[dm.Topic.Kind]++
		if dm.Topic.Kind != m.kind || dm.Topic.Site != "ik5.a" || m.retain != m.kind.Retained() {
			t.Fatalf("message %d: topic %+v, kind %v, retain %v", i, dm.Topic, m.kind, m.retain)
		}
		if s := dm.Seq(); s != 0 {
			if s != seq+1 || m.seq != s {
				t.Fatalf("message %d: seq %d after %d", i, s, seq)
			}
			seq = s
		}
		switch p := dm.Payload.(type) {
		case wire.AuditRecord:
			if p.AuditSeq != auditSeq+1 || p.Prev != prev {
				t.Fatalf("audit_seq %d prev %s after %d with hash %s", p.AuditSeq, p.Prev, auditSeq, prev)
			}
			auditSeq, prev = p.AuditSeq, p.Hash
		case wire.Sighting:
			if p.Crop != nil {
				crops++
				if _, err := jpeg.Decode(bytes.NewReader(p.Crop)); err != nil {
					t.Fatalf("sighting %d crop: %v", p.Seq, err)
				}
			}
		case wire.Alert:
			if _, err := jpeg.Decode(bytes.NewReader(p.Evidence.Crop)); err != nil {
				t.Fatalf("alert %d crop: %v", p.Seq, err)
			}
		}
	}
	for _, k := range kindSlots {
		if kinds[k] == 0 {
			t.Errorf("no %s in 5000 messages: %v", k, kinds)
		}
	}
	if kinds[wire.KindSighting] < 4000 || crops < kinds[wire.KindSighting]/cropEvery-1 {
		t.Errorf("%d sightings, %d with a crop", kinds[wire.KindSighting], crops)
	}
	if a, b := crop("x", 1), crop("x", 2); bytes.Equal(a, b) {
		t.Error("two crops are the same bytes")
	}
}

// TestRunAgainstBroker publishes a few hundred messages from three sites
// through the region's real NATS node: the stream holds exactly what the
// report says was sent, each site's seqs from 1 without a gap.
func TestRunAgainstBroker(t *testing.T) {
	b, sites := startBroker(t, "north", 3)
	ctx := t.Context()
	nc, err := b.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	st, err := broker.EnsureStream(ctx, js, "north", 1)
	if err != nil {
		t.Fatal(err)
	}

	var sent []Sent
	sentCh := make(chan Sent, 1024)
	cfg := Config{
		Brokers: []string{b.MQTTURL()}, Region: "north", Sites: sites,
		Schedule: Schedule{Rate: 400}, Duration: 750 * time.Millisecond,
		OnSent: func(s Sent) { sentCh <- s },
	}
	go func() {
		for s := range sentCh {
			sent = append(sent, s)
		}
	}()
	r, err := Run(ctx, cfg)
	close(sentCh)
	if err != nil {
		t.Fatal(err)
	}
	if want := uint64(cfg.Schedule.Due(cfg.Duration)); r.Total.Sent != want || r.Total.Acked != want || r.Unacked() != 0 {
		t.Fatalf("sent %d, acked %d, want %d of each", r.Total.Sent, r.Total.Acked, want)
	}

	// Read the stream until it holds them all.
	cons, err := st.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	perKind := map[string]uint64{}
	next := map[string]uint64{}
	for n := uint64(0); n < r.Total.Sent; n++ {
		msg, err := cons.Next(jetstream.FetchMaxWait(10 * time.Second))
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", n, r.Total.Sent, err)
		}
		topic, err := broker.Topic(msg.Subject())
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.Decode(topic, msg.Data(), time.Now())
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		perKind[m.Topic.Kind.String()]++
		if s := m.Seq(); s != 0 {
			if s != next[m.Topic.Site]+1 {
				t.Fatalf("site %s: seq %d after %d", m.Topic.Site, s, next[m.Topic.Site])
			}
			next[m.Topic.Site] = s
		}
	}
	for _, k := range r.Kinds {
		if perKind[k.Kind] != k.Sent {
			t.Errorf("%s: the stream holds %d, the report says %d sent", k.Kind, perKind[k.Kind], k.Sent)
		}
	}
	for site, s := range r.Seqs {
		if next[site] != s {
			t.Errorf("site %s: stream up to seq %d, report %d", site, next[site], s)
		}
	}
	if uint64(len(sent)) != r.Total.Sent {
		t.Errorf("OnSent called %d times for %d messages", len(sent), r.Total.Sent)
	}
}

// startBroker starts a region's NATS node with n sites whose passwords
// are hashed at bcrypt's lowest cost, to keep the test quick.
func startBroker(t *testing.T, region string, n int) (*broker.Broker, []Site) {
	t.Helper()
	var sites []Site
	var accounts []broker.SiteAccount
	for i := 1; i <= n; i++ {
		s := Site{ID: SiteID("ik", i), Password: fmt.Sprintf("secret-%d", i)}
		h, err := bcrypt.GenerateFromPassword([]byte(s.Password), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		sites = append(sites, s)
		accounts = append(accounts, broker.SiteAccount{Site: s.ID, PasswordHash: string(h)})
	}
	b, err := broker.Start(broker.Config{
		Dir: t.TempDir(), Region: region, MQTTListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", Sites: accounts,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(b.Shutdown)
	return b, sites
}

func TestPrepareSites(t *testing.T) {
	dir := t.TempDir()
	sitesFile, pwFile := dir+"/sites", dir+"/sites.passwords"
	first, added, err := PrepareSites(sitesFile, pwFile, "lg", 2)
	if err != nil || added != 2 || len(first) != 2 || first[1].ID != "lg0002" {
		t.Fatalf("first: %v added %d, %v", first, added, err)
	}
	again, added, err := PrepareSites(sitesFile, pwFile, "lg", 3)
	if err != nil || added != 1 || len(again) != 3 || again[0] != first[0] || again[1] != first[1] {
		t.Fatalf("again: %v added %d, %v", again, added, err)
	}
	for _, s := range again {
		if s.Password == "" {
			t.Errorf("site %s: no password", s.ID)
		}
	}
	if _, _, err := PrepareSites(sitesFile, dir+"/other", "lg", 1); err == nil || !strings.Contains(err.Error(), "lg0001 is in") {
		t.Errorf("a site without its password: %v", err)
	}
	if _, _, err := PrepareSites(sitesFile, pwFile, "l/g", 1); err == nil || !strings.Contains(err.Error(), "site prefix") {
		t.Errorf("bad prefix: %v", err)
	}
}
