//go:build cgo

package region_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"golang.org/x/crypto/bcrypt"

	"github.com/dozor-edge/dozor/internal/pgtest"
	"github.com/dozor-edge/dozor/region"
	"github.com/dozor-edge/dozor/region/broker"
	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/ingest"
	"github.com/dozor-edge/dozor/region/store"
	"github.com/dozor-edge/dozor/sync/uplink"
	"github.com/dozor-edge/dozor/sync/wire"
)

// TestClusterWithReplicas runs a region at scale on loopback: three NATS
// nodes clustered by routes, the event stream replicated on all three,
// and two regiond replicas connected to the cluster (broker.external)
// sharing one durable consumer and one PostgreSQL store. Sites publish
// sightings through sync/uplink, each starting at a different node. Mid
// run the node leading the stream is shut down and one replica stopped;
// at the end every (site, seq) is stored exactly once, none is missing
// and nothing is quarantined.
func TestClusterWithReplicas(t *testing.T) {
	const (
		perSite = 200
		killAt  = 60  // the kills happen once every site's event of this seq is in the store
		pauseAt = 140 // the events after this one wait for the cluster to settle
	)
	sites := []string{"ik1", "ik2", "ik3", "ik4.b"}
	began := time.Now()
	dsn := pgtest.Start(t)
	dir := t.TempDir()
	log := testLogger(t)

	// The cluster, with the sites' accounts on every node.
	passwords := map[string]string{}
	var accounts []broker.SiteAccount
	for _, s := range sites {
		passwords[s] = "pw-" + s
		h, err := bcrypt.GenerateFromPassword([]byte(passwords[s]), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		accounts = append(accounts, broker.SiteAccount{Site: s, PasswordHash: string(h)})
	}
	const servicePassword = "service-secret"
	var routes []string
	for range 3 {
		routes = append(routes, "127.0.0.1:"+strconv.Itoa(freePort(t)))
	}
	nodes := make([]*broker.Broker, 3)
	for i := range nodes {
		b, err := broker.Start(broker.Config{
			Dir: filepath.Join(dir, fmt.Sprintf("n%d", i+1)), Region: "north", ServerName: fmt.Sprintf("n%d", i+1),
			MQTTListen: "127.0.0.1:0", NATSListen: "127.0.0.1:0", Sites: accounts, ServicePassword: servicePassword,
			Cluster: &broker.ClusterConfig{Name: "north", Listen: routes[i], Routes: routes, Password: "route-secret"},
			Logger:  brokerLogger(t, i+1),
		})
		if err != nil {
			t.Fatal(err)
		}
		nodes[i] = b
	}
	alive := []bool{true, true, true}
	t.Cleanup(func() {
		for i, b := range nodes {
			if alive[i] {
				b.Shutdown()
			}
		}
	})

	// Two regiond replicas against the cluster and one PostgreSQL database.
	var urls []string
	for _, b := range nodes {
		urls = append(urls, b.ClientURL())
	}
	dsnFile := writeFile(t, dir, "dsn", dsn)
	pwFile := writeFile(t, dir, "service-password", servicePassword)
	var st store.Store // replica B's, which lives to the end
	replicas := make([]*replica, 2)
	for i := range replicas {
		cfg := config.Defaults()
		cfg.Region.ID = "north"
		cfg.Data.Dir = filepath.Join(dir, fmt.Sprintf("regiond-%d", i+1))
		cfg.Store.Driver, cfg.Store.DSNFile = config.DriverPostgres, dsnFile
		// The replicas share one database, so they share its key and the
		// key the sites' revisions are signed with: the first makes them.
		cfg.Store.KeyFile = filepath.Join(dir, "store.key")
		cfg.Gallery.SigningKeyFile = filepath.Join(dir, "gallery-signing.key")
		cfg.Broker.External, cfg.Broker.ServiceUser, cfg.Broker.ServicePasswordFile = urls, broker.ServiceUser, pwFile
		cfg.Broker.Replicas = 3
		cfg.Ingest.Workers = 2
		cfg.Ingest.ResendAfter = 2 * time.Second
		cfg.HTTP.Listen = "127.0.0.1:0"
		deps := cgodeps.Deps(cfg, log.With("replica", i+1))
		deps.Version = "test"
		// A message delivered to a replica whose connection went with its
		// node is delivered again after AckWait: shortened to keep the
		// test short.
		deps.Ingest = func(c *ingest.Config) { c.AckWait = 5 * time.Second }
		if i == 1 {
			open := deps.OpenStore
			deps.OpenStore = func() (store.Store, error) {
				s, err := open()
				st = s
				return s, err
			}
		}
		// One after the other: the first sets up the stream and migrates
		// the database.
		replicas[i] = startReplica(t, cfg, deps)
	}

	// The sites: uplinks draining in-memory outboxes, each site trying
	// the nodes in its own order.
	outboxes := map[string]*memOutbox{}
	var links []*uplink.Uplink
	upCtx, stopUplinks := context.WithCancel(context.Background())
	var upWG sync.WaitGroup
	defer func() { stopUplinks(); upWG.Wait() }()
	for i, s := range sites {
		var mqttURLs []string
		for j := range nodes {
			mqttURLs = append(mqttURLs, nodes[(i+j)%len(nodes)].MQTTURL())
		}
		ucfg := uplink.DefaultConfig()
		ucfg.Brokers, ucfg.Region, ucfg.Site = mqttURLs, "north", s
		ucfg.Username, ucfg.PasswordFile = s, writeFile(t, dir, "pw-"+s, passwords[s])
		ucfg.AckTimeout, ucfg.MinBackoff, ucfg.MaxBackoff = 5*time.Second, 100*time.Millisecond, 2*time.Second
		ucfg.PollInterval = time.Second
		outboxes[s] = &memOutbox{}
		u, err := uplink.New(ucfg, outboxes[s], log, uplink.Options{})
		if err != nil {
			t.Fatal(err)
		}
		links = append(links, u)
		upWG.Go(func() { _ = u.Run(upCtx) })
	}
	// The sites' events: one sighting per site every 20 ms, up to pauseAt,
	// then, once the test says the cluster settled, the rest.
	settled := make(chan struct{})
	var prodWG sync.WaitGroup
	defer prodWG.Wait()
	prodWG.Go(func() {
		for seq := uint64(1); seq <= perSite; seq++ {
			if seq == pauseAt+1 {
				select {
				case <-settled:
				case <-upCtx.Done():
					return
				}
			}
			for i, s := range sites {
				outboxes[s].add(t, sighting(t, s, seq))
				links[i].Notify()
			}
			time.Sleep(20 * time.Millisecond)
		}
	})

	// Mid run, while the sites publish: the node leading the stream goes,
	// and one replica.
	waitSites(t, st, sites, 60*time.Second, func(s store.Site) bool { return s.HighestSeq >= killAt })
	leader := streamLeader(t, nodes[0])
	killed := -1
	for i := range nodes {
		if fmt.Sprintf("n%d", i+1) == leader {
			killed = i
		}
	}
	if killed < 0 {
		t.Fatalf("stream leader %q is none of the nodes", leader)
	}
	killedAt := time.Now()
	nodes[killed].Shutdown()
	alive[killed] = false
	t.Logf("shut down NATS node n%d, the stream's leader", killed+1)
	replicas[0].stop(t)
	t.Logf("stopped regiond replica 1")

	// Messages published while the stream elects a leader can miss it
	// although the site got its PUBACK (see region/broker); the region
	// finds such a gap when a later seq arrives and asks for it again. A
	// loss of a site's newest message has no later seq to show it, so the
	// last events wait until the stream has a leader again.
	newLeader := waitStreamLeader(t, nodes[(killed+1)%3], leader)
	t.Logf("stream led by %s %v after the shutdown", newLeader, time.Since(killedAt).Round(time.Millisecond))
	close(settled)

	got := waitSites(t, st, sites, 60*time.Second, func(s store.Site) bool {
		return s.HighestSeq == perSite && s.ContiguousSeq == perSite && s.OpenGaps == 0
	})
	stored := time.Now()

	ctx := context.Background()
	for _, s := range sites {
		if got[s].Missing != 0 {
			t.Errorf("site %s: %d missing", s, got[s].Missing)
		}
		list, next, err := st.Sightings(ctx, store.SightingQuery{Site: s, Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if next != "" || len(list) != perSite {
			t.Errorf("site %s: %d sightings stored (more: %t), want %d", s, len(list), next != "", perSite)
		}
		seen := map[uint64]int{}
		for _, x := range list {
			seen[x.Seq]++
		}
		for seq := uint64(1); seq <= perSite; seq++ {
			if seen[seq] != 1 {
				t.Errorf("site %s seq %d stored %d times", s, seq, seen[seq])
			}
		}
	}
	if q, err := st.QuarantinedMessages(ctx, "", 10); err != nil || len(q) != 0 {
		t.Errorf("quarantine: %d messages (%v): %+v", len(q), err, q)
	}

	h := health(t, "http://"+replicas[1].d.HTTPAddr()+"/healthz")
	var published, resent, onRequest, reconnects uint64
	for _, u := range links {
		s := u.Stats()
		published, resent, onRequest = published+s.Published, resent+s.Resent, onRequest+s.ResentOnRequest
		if s.Connects > 1 {
			reconnects += s.Connects - 1
		}
	}
	t.Logf("%d sites x %d sightings = %d events stored exactly once, %v after the test began (PostgreSQL and the cluster started), %v after the shutdown; whole test %v",
		len(sites), perSite, len(sites)*perSite, stored.Sub(began).Round(time.Millisecond),
		stored.Sub(killedAt).Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	t.Logf("uplinks: %d publishes, %d again after %d reconnects, %d on resend requests",
		published, resent, reconnects, onRequest)
	t.Logf("replica 2: received %d, stored %d, duplicates %d, resend requests %d; replica 1 stored the other %d",
		h.Ingest.Received, h.Ingest.Stored, h.Ingest.Duplicates, h.Ingest.ResendRequests, uint64(len(sites)*perSite)-h.Ingest.Stored)

	stopUplinks()
	upWG.Wait()
	replicas[1].stop(t)
}

// replica is a running regiond.
type replica struct {
	d      *region.Daemon
	cancel context.CancelFunc
	done   chan error
}

func startReplica(t *testing.T, cfg config.Config, deps region.Deps) *replica {
	t.Helper()
	d, err := region.New(cfg, deps)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &replica{d: d, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- d.Run(ctx) }()
	t.Cleanup(func() { r.stop(t) })
	select {
	case <-d.Ready():
		return r
	case err := <-r.done:
		r.done <- err
		t.Fatalf("regiond: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("regiond not ready within 60s")
	}
	return nil
}

// stop ends the replica's Run; a second call does nothing.
func (r *replica) stop(t *testing.T) {
	t.Helper()
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			t.Errorf("regiond stopped with: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Error("regiond did not stop within 30s")
	}
}

// memOutbox is a site's outbox in memory, with the store's contract:
// seqs from 1 in order, Pending the unsent ones, Range sent or not.
type memOutbox struct {
	mu   sync.Mutex
	msgs []uplink.Message // msgs[i].Seq == i+1
}

func (o *memOutbox) add(t *testing.T, s wire.Sighting) {
	t.Helper()
	topic, err := wire.SightingTopic("north", s.Site)
	if err != nil {
		t.Fatal(err)
	}
	b, err := wire.Encode(s)
	if err != nil {
		t.Fatal(err)
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if s.Seq != uint64(len(o.msgs))+1 {
		t.Fatalf("outbox %s: seq %d after %d", s.Site, s.Seq, len(o.msgs))
	}
	o.msgs = append(o.msgs, uplink.Message{Seq: s.Seq, Topic: topic, Payload: b, QoS: 1})
}

func (o *memOutbox) Pending(_ context.Context, afterSeq uint64, limit int) ([]uplink.Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []uplink.Message
	for _, m := range o.msgs[min(afterSeq, uint64(len(o.msgs))):] {
		if len(out) == limit {
			break
		}
		if !m.Sent {
			out = append(out, m)
		}
	}
	return out, nil
}

func (o *memOutbox) MarkSent(_ context.Context, seqs []uint64) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, s := range seqs {
		if s == 0 || s > uint64(len(o.msgs)) {
			return fmt.Errorf("mark sent: no seq %d", s)
		}
		o.msgs[s-1].Sent = true
	}
	return nil
}

func (o *memOutbox) Range(_ context.Context, from, to uint64, limit int) ([]uplink.Message, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []uplink.Message
	for seq := max(from, 1); seq <= to && seq <= uint64(len(o.msgs)) && len(out) < limit; seq++ {
		out = append(out, o.msgs[seq-1])
	}
	return out, nil
}

func sighting(t *testing.T, site string, seq uint64) wire.Sighting {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	return wire.Sighting{
		ID: wire.MustNewID(), Seq: seq, Site: site, Camera: "gate-1", Track: seq, Person: "P-" + strconv.FormatUint(seq%7, 10),
		FirstSeen: now.Add(-3 * time.Second), BestAt: now.Add(-2 * time.Second), LastSeen: now,
		Frames: 4, Score: 0.9, Margin: 0.3, Model: "m-1", Quality: 0.7,
	}
}

// waitSites polls the store until ok holds for every site, or fails the
// test after limit, and returns the sites as last read.
func waitSites(t *testing.T, st store.Store, sites []string, limit time.Duration, ok func(store.Site) bool) map[string]store.Site {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		list, err := st.Sites(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]store.Site{}
		for _, s := range list {
			got[s.ID] = s
		}
		done := true
		for _, s := range sites {
			if x, found := got[s]; !found || !ok(x) {
				done = false
			}
		}
		if done {
			return got
		}
		if time.Now().After(deadline) {
			for _, s := range sites {
				x := got[s]
				t.Logf("site %s: highest %d, contiguous %d, open gaps %d, missing %d", s, x.HighestSeq, x.ContiguousSeq, x.OpenGaps, x.Missing)
			}
			t.Fatalf("the sites did not reach the expected state within %v", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// streamLeader is the server name of the node leading the region's stream.
func streamLeader(t *testing.T, via *broker.Broker) string {
	t.Helper()
	leader, err := tryStreamLeader(via)
	if err != nil || leader == "" {
		t.Fatalf("stream leader: %q, %v", leader, err)
	}
	return leader
}

// waitStreamLeader waits until the stream answers with a leader other than
// old, asking through via.
func waitStreamLeader(t *testing.T, via *broker.Broker, old string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		leader, err := tryStreamLeader(via)
		if err == nil && leader != "" && leader != old {
			return leader
		}
		if time.Now().After(deadline) {
			t.Fatalf("no new stream leader within 60s: %q, %v", leader, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tryStreamLeader(via *broker.Broker) (string, error) {
	nc, err := via.Connect("test")
	if err != nil {
		return "", err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, broker.StreamName("north"))
	if err != nil {
		return "", err
	}
	info := s.CachedInfo()
	if info.Cluster == nil {
		return "", fmt.Errorf("stream %s: no cluster info", info.Config.Name)
	}
	return info.Cluster.Leader, nil
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// testLogger writes warnings and errors to the test log.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// brokerLogger discards the nodes' logs (routes to a node that is down
// are reported every second) unless REGION_DEBUG is set.
func brokerLogger(t *testing.T, node int) *slog.Logger {
	if os.Getenv("REGION_DEBUG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return testLogger(t).With("node", node)
}

type logWriter struct{ t *testing.T }

func (w logWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }
